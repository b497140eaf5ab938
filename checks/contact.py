"""Contact and identity: can the consumer find out who runs the pharmacy and where?

First version: a street address, a phone number and an email address anywhere on the pages read, or in the
site's schema.org data.
"""

from __future__ import annotations

import re

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import snippet_around

from .base import Check, Outcome


class Config(ConfigModel):
    street_words: list[str]


OUTCOMES = ("address-found", "phone-found", "email-found", "no-contact-found")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?:\+|\b)\d[\d\s().-]{7,16}\d\b")


def run(site: Site, config: Config):
    if not site.pages:
        return []
    street = re.compile(
        r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){0,4}(?:" + "|".join(map(re.escape, config.street_words)) + r")\b",
        re.IGNORECASE,
    )
    outcomes: dict[str, Outcome] = {}
    for page in site.pages:
        for org in page.organizations:
            if org.street:
                outcomes.setdefault("address-found", Outcome("address-found")).add(page.url, org.address_text)
            if org.telephone:
                outcomes.setdefault("phone-found", Outcome("phone-found")).add(page.url, org.telephone)
        text = page.text
        for regex, outcome in ((street, "address-found"), (_PHONE, "phone-found"), (_EMAIL, "email-found")):
            m = regex.search(text)
            if m:
                outcomes.setdefault(outcome, Outcome(outcome)).add(page.url, snippet_around(text, m.start(), m.end()))
    if not outcomes:
        return [Outcome("no-contact-found", facts={"pages_read": site.pages_read}).add(site.final_url, "Pages read: " + ", ".join(site.pages_read))]
    return list(outcomes.values())


CHECK = Check(id="contact", outcomes=OUTCOMES, config_model=Config, run=run)
