"""Storefront: does the site sell or dispense medicines at all?

A checker that calls a bakery "rogue" helps nobody; when nothing on the pages read or in the address is about
medicines or a pharmacy, the verdict is `not_a_pharmacy` (rules.yaml forces it). Named medicines count as well as
pharmacy words, so a shop whose terms page is in a language the word list does not cover, but whose address or
pages name the drugs it sells, is still judged as a pharmacy.
"""

from __future__ import annotations

import re

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from . import _context as ctx
from .base import Check, Outcome
from .domain import domain_words
from .prescription import Drug


class Config(ConfigModel):
    pharmacy_terms: list[str]
    # Words inside a domain name that say it is a pharmacy ("pharmacy", "apotheke", "meds").
    domain_terms: list[str] = []
    drugs: list[Drug] = []
    # How many distinct terms must appear before the site counts as selling or dispensing medicines.
    min_distinct_terms: int = 2


OUTCOMES = ("sells-medicines", "not-a-pharmacy")

_sets: dict[int, PhraseSet] = {}


def _drug_names(config: Config) -> PhraseSet:
    key = id(config)
    if key not in _sets:
        _sets[key] = PhraseSet(tuple(n for d in config.drugs if d.status != "otc" for n in (d.name, *d.aliases)))
    return _sets[key]


def run(site: Site, config: Config):
    if not site.pages:
        return []
    terms = PhraseSet(tuple(config.pharmacy_terms))
    drugs = _drug_names(config)
    found: set[str] = set()
    first = None
    squashed = domain_words(site)
    for token in config.domain_terms:
        if re.sub(r"[^a-z0-9]", "", token.lower()) in squashed:
            found.add(f"address: {token}")
            first = first or (site.final_url, f"The address {site.host or site.domain} contains “{token}”")
    for token in drugs.phrases:
        squashed_token = re.sub(r"[^a-z0-9]", "", token.lower())
        if len(squashed_token) >= 5 and squashed_token in squashed:
            # An address named after a medicine is a shop for it, whatever language its pages are in.
            return [
                Outcome("sells-medicines", facts={"terms": [f"address: {token}"]}).add(
                    site.final_url, f"The address {site.host or site.domain} names {token}"
                )
            ]
    for page in site.pages:
        for text in (page.title, page.text, " ".join(l.text for l in page.links)):
            lowered = text.lower()
            for phrases in (ctx.narrowed(terms, lowered), ctx.narrowed(drugs, lowered)):
                for match in phrases.finditer(text, limit=100):
                    found.add(" ".join(match.phrase.lower().split()))
                    first = first or (page.url, match.snippet)
        if len(found) >= config.min_distinct_terms:
            break
    if len(found) >= config.min_distinct_terms:
        return [Outcome("sells-medicines", facts={"terms": sorted(found)[:20]}).add(*first)]
    outcome = Outcome("not-a-pharmacy")
    for page in site.pages[:3]:
        outcome.add(page.url, page.title or page.text[:120])
    return [outcome]


CHECK = Check(id="storefront", outcomes=OUTCOMES, config_model=Config, run=run)
