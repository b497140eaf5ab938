"""Payment: which channels the site takes money through.

Card networks only accept pharmacies that pass certification, so rogue sellers push buyers to channels with no
chargeback and no buyer protection. First version: phrases for red-flag channels and for card payment.
"""

from __future__ import annotations

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from ._util import find_in_site
from .base import Check, Outcome


class Config(ConfigModel):
    red_flag_phrases: list[str]
    card_phrases: list[str]


OUTCOMES = ("red-flag-only", "red-flag-with-cards", "cards", "none-found")


def run(site: Site, config: Config):
    if not site.pages:
        return []
    red = find_in_site(site, PhraseSet(tuple(config.red_flag_phrases)), "red-flag-only", limit=3)
    cards = find_in_site(site, PhraseSet(tuple(config.card_phrases)), "cards", limit=2)
    if red and cards:
        return [Outcome("red-flag-with-cards", evidence=red.evidence + cards.evidence[:2])]
    if red:
        return [red]
    if cards:
        return [cards]
    return [Outcome("none-found").add(site.final_url, "Pages read: " + ", ".join(site.pages_read))]


CHECK = Check(id="payment", outcomes=OUTCOMES, config_model=Config, run=run)
