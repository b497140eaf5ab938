"""Transport security: is the site served over HTTPS, and do sensitive forms post over HTTPS?"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.rules import ConfigModel
from app.site import Site

from .base import Check, Outcome


class Config(ConfigModel):
    sensitive_input_names: list[str]


OUTCOMES = ("https-valid", "no-https", "http-redirects-to-https", "http-not-upgraded", "sensitive-form-over-http")


def run(site: Site, config: Config):
    start = site.start_page
    if start is None:
        return []
    outcomes = []
    if start.https:
        outcomes.append(Outcome("https-valid").add(start.url, "Served over HTTPS with a valid certificate"))
        if site.http_upgrades_to_https is True:
            outcomes.append(Outcome("http-redirects-to-https").add(f"http://{site.host}/", "Redirects to HTTPS"))
        elif site.http_upgrades_to_https is False:
            outcomes.append(Outcome("http-not-upgraded").add(f"http://{site.host}/", "Plain HTTP is not redirected to HTTPS"))
    else:
        outcomes.append(Outcome("no-https").add(start.url, "Served over plain HTTP"))
    sensitive = tuple(n.lower() for n in config.sensitive_input_names)
    for page in site.pages:
        for form in page.forms:
            names = [f"{i.name} {i.type} {i.autocomplete}".lower() for i in form.inputs]
            if any(s in n for n in names for s in sensitive) and urlsplit(form.action).scheme.lower() == "http":
                outcomes.append(
                    Outcome("sensitive-form-over-http").add(page.url, f"Form posts to {form.action} over plain HTTP")
                )
                break
    return outcomes


CHECK = Check(id="transport", outcomes=OUTCOMES, config_model=Config, run=run)
