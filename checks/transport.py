"""Transport security: is the site served over HTTPS, and do forms that ask for sensitive data post over HTTPS?

A form's fields are classified from their name, id, type, autocomplete token, placeholder and label (split into words,
so "ccNumber", "cc-number" and "cc_number" all read "cc number", and "discard" is not a "card"). A form that
sends card numbers over plain HTTP is critical; one that sends passwords, addresses or health data is high.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from app.page import Form
from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from .base import Check, Outcome


class Config(ConfigModel):
    card_fields: list[str]
    # Field words that mean a card only when two of them are in one form.
    card_fields_paired: list[str] = []
    password_fields: list[str]
    address_fields: list[str]
    health_fields: list[str]


OUTCOMES = (
    "https-valid",
    "https-unverified",
    "tls-invalid",
    "no-https",
    "http-redirects-to-https",
    "http-not-upgraded",
    "card-form-over-http",
    "sensitive-form-over-http",
)


_EMAIL_ADDRESS = re.compile(r"\b(?:e ?mail|ip|web|wallet) address\b")


def _words(value: str) -> str:
    value = re.sub(r"([a-z])([A-Z])", r"\1 \2", value)
    return " ".join(re.split(r"[^0-9A-Za-z]+", value)).lower().strip()


def _matcher(phrases: list[str]) -> PhraseSet:
    return PhraseSet(tuple(_words(p) for p in phrases))


def classify_form(form: Form, config: Config) -> list[str]:
    """The kinds of sensitive data a form asks for: "card", "password", "address", "health"."""
    kinds = []
    fields = [
        # "Your email address" is not a postal address.
        _EMAIL_ADDRESS.sub(" ", " ".join(filter(None, (_words(v) for v in (i.name, i.id, i.type, i.autocomplete, i.placeholder, i.label)))))
        for i in form.inputs
        if i.type not in ("hidden", "submit", "button", "image", "reset")
    ]
    for kind, phrases in (("card", config.card_fields), ("password", config.password_fields),
                          ("address", config.address_fields), ("health", config.health_fields)):
        matcher = _matcher(phrases)
        if any(matcher.search(f) for f in fields):
            kinds.append(kind)
    if "card" not in kinds:
        # "pan" or "exp month" alone may be something else (an Indian PAN, a licence expiry); two together are
        # a card.
        weak = _matcher(config.card_fields_paired)
        if sum(1 for f in fields if weak.search(f)) >= 2:
            kinds.insert(0, "card")
    if any(i.type == "password" for i in form.inputs) and "password" not in kinds:
        kinds.append("password")
    return kinds


def run(site: Site, config: Config):
    start_record = site.records[0] if site.records else None
    start = site.start_page
    outcomes = []
    if start is None:
        if start_record is not None and start_record.error == "tls_invalid":
            outcomes.append(Outcome("tls-invalid").add(start_record.url, start_record.error_message or "The site's security certificate is not valid."))
        return outcomes
    if start.https:
        if start_record is not None and start_record.tls_valid is False:
            # Read without the certificate check (GET only, nothing sent), so the rest of the site is judged.
            problem = start_record.tls_problem or "The site's security certificate is not valid."
            outcomes.append(Outcome("tls-invalid").add(start.url, f"{problem} The pages were read without sending the site anything."))
        elif start_record is not None and start_record.tls_valid is True:
            # An archived page was fetched, and its certificate verified, when the archive was recorded.
            outcomes.append(Outcome("https-valid").add(start.url, "Served over HTTPS; the site's security certificate was checked and valid when the page was fetched."))
        elif start_record is None or start_record.tls_valid is None:
            # A stored page whose certificate nobody verified has not earned the points of a checked one.
            outcomes.append(Outcome("https-unverified").add(start.url, "The address is HTTPS; its security certificate was not checked for this report (made from stored pages)."))
        if site.http_upgrades_to_https is True:
            outcomes.append(Outcome("http-redirects-to-https").add(f"http://{site.host}/", "The plain-HTTP address redirects to HTTPS."))
        elif site.http_upgrades_to_https is False:
            outcomes.append(Outcome("http-not-upgraded").add(f"http://{site.host}/", "The plain-HTTP address is not redirected to HTTPS."))
    else:
        outcomes.append(Outcome("no-https").add(start.url, "Served over plain HTTP."))

    card: Outcome | None = None
    sensitive: Outcome | None = None
    for page in site.pages:
        for form in page.forms:
            try:
                scheme = urlsplit(form.action).scheme.lower()
            except ValueError:
                continue
            if scheme != "http":
                continue
            kinds = classify_form(form, config)
            if not kinds:
                continue
            snippet = f"A form asking for {', '.join(kinds)} data posts to {form.action} over plain HTTP."
            if "card" in kinds:
                card = card or Outcome("card-form-over-http")
                card.add(page.url, snippet)
            else:
                sensitive = sensitive or Outcome("sensitive-form-over-http")
                sensitive.add(page.url, snippet)
    outcomes += [o for o in (card, sensitive) if o]
    return outcomes


CHECK = Check(id="transport", outcomes=OUTCOMES, config_model=Config, run=run)
