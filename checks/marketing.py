"""Marketing: sales language that legitimate pharmacies do not use for prescription medicines."""

from __future__ import annotations

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from ._util import find_in_site
from .base import Check


class Config(ConfigModel):
    bonus_pills: list[str]
    discreet_packaging: list[str]
    no_questions_asked: list[str]
    overnight_delivery: list[str]
    huge_discounts: list[str]
    worldwide_shipping: list[str]


OUTCOMES = (
    "bonus-pills",
    "discreet-packaging",
    "no-questions-asked",
    "overnight-delivery",
    "huge-discounts",
    "worldwide-shipping",
)


def run(site: Site, config: Config):
    outcomes = []
    for outcome in OUTCOMES:
        phrases = PhraseSet(tuple(getattr(config, outcome.replace("-", "_"))))
        found = find_in_site(site, phrases, outcome, limit=2)
        if found:
            outcomes.append(found)
    return outcomes


CHECK = Check(id="marketing", outcomes=OUTCOMES, config_model=Config, run=run)
