"""Storefront: does the site sell or dispense medicines at all?

A checker that calls a bakery "rogue" helps nobody; when nothing on the pages read or in the address is about
medicines or a pharmacy, the verdict is `not_a_pharmacy` (rules.yaml forces it). Named medicines count as well as
pharmacy words, so a shop whose terms page is in a language the word list does not cover, but whose address or
pages name the drugs it sells, is still judged as a pharmacy; one drug named with its strength ("Viagra 100mg")
is enough. A page assembled in the browser by scripts shows almost no text to a fetcher, so its silence is
reported as `built-by-scripts`, never as "not a pharmacy".
"""

from __future__ import annotations

import re
from functools import lru_cache

from app.rules import ConfigModel, Field
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

from . import _context as ctx
from .base import Check, Outcome
from .domain import domain_words
from .prescription import _STRENGTH, Drug


class Config(ConfigModel):
    pharmacy_terms: list[str]
    # Words inside a domain name that say it is a pharmacy ("pharmacy", "apotheke", "meds").
    domain_terms: list[str] = []
    drugs: list[Drug] = []
    # How many distinct terms must appear before the site counts as selling or dispensing medicines.
    min_distinct_terms: int = Field(default=2, ge=1)
    # A page built in the browser (many scripts, hardly any text in the markup) was not really read: its silence
    # about medicines says nothing, so it is not called "not a pharmacy".
    script_built_min_scripts: int = Field(default=10, ge=1)
    script_built_max_text: int = Field(default=1500, ge=0)


OUTCOMES = ("sells-medicines", "not-a-pharmacy", "built-by-scripts")

_sets: dict[int, PhraseSet] = {}
def _drug_names(config: Config) -> PhraseSet:
    key = id(config)
    if key not in _sets:
        _sets[key] = PhraseSet(tuple(n for d in config.drugs if d.status != "otc" for n in (d.name, *d.aliases)))
    return _sets[key]


@lru_cache(maxsize=256)
def _with_strength(names: tuple[str, ...]) -> re.Pattern:
    """A prescription drug named with its strength ("Viagra 100mg"): a medicine on offer, one term is enough."""
    body = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{body})(?={_STRENGTH})", re.I)


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
            candidates = ctx.narrowed(drugs, lowered)
            if candidates and (m := _with_strength(candidates.phrases).search(text)):
                return [
                    Outcome("sells-medicines", facts={"terms": [m.group(0).lower()]}).add(
                        page.url, snippet_around(text, m.start(), m.end())
                    )
                ]
            for phrases in (ctx.narrowed(terms, lowered), candidates):
                for match in phrases.finditer(text, limit=100):
                    found.add(" ".join(match.phrase.lower().split()))
                    first = first or (page.url, match.snippet)
        if len(found) >= config.min_distinct_terms:
            break
    if len(found) >= config.min_distinct_terms:
        return [Outcome("sells-medicines", facts={"terms": sorted(found)[:20]}).add(*first)]
    if all(
        len(p.scripts) >= config.script_built_min_scripts and len(p.text) < config.script_built_max_text for p in site.pages
    ):
        outcome = Outcome("built-by-scripts")
        for page in site.pages[:3]:
            outcome.add(page.url, f"{len(page.scripts)} scripts and {len(page.text)} characters of text: {page.title or page.text[:80]}")
        return [outcome]
    outcome = Outcome("not-a-pharmacy")
    for page in site.pages[:3]:
        outcome.add(page.url, page.title or page.text[:120])
    return [outcome]


CHECK = Check(id="storefront", outcomes=OUTCOMES, config_model=Config, run=run)
