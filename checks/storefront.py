"""Storefront: does the site sell or dispense medicines at all?

A checker that calls a bakery "rogue" helps nobody; when nothing on the pages read is about medicines or a
pharmacy, the verdict is `not_a_pharmacy` (rules.yaml forces it).
"""

from __future__ import annotations

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from .base import Check, Outcome


class Config(ConfigModel):
    pharmacy_terms: list[str]
    # How many distinct terms must appear before the site counts as selling or dispensing medicines.
    min_distinct_terms: int = 2


OUTCOMES = ("sells-medicines", "not-a-pharmacy")


def run(site: Site, config: Config):
    if not site.pages:
        return []
    terms = PhraseSet(tuple(config.pharmacy_terms))
    found: set[str] = set()
    first = None
    for page in site.pages:
        for text in (page.title, page.text, " ".join(l.text for l in page.links)):
            for match in terms.finditer(text, limit=100):
                found.add(" ".join(match.phrase.lower().split()))
                first = first or (page.url, match.snippet)
    if len(found) >= config.min_distinct_terms:
        return [Outcome("sells-medicines", facts={"terms": sorted(found)[:20]}).add(*first)]
    outcome = Outcome("not-a-pharmacy")
    for page in site.pages[:3]:
        outcome.add(page.url, page.title or page.text[:120])
    return [outcome]


CHECK = Check(id="storefront", outcomes=OUTCOMES, config_model=Config, run=run)
