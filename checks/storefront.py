"""Storefront: does the site sell or dispense medicines at all?

A checker that calls a bakery "rogue" helps nobody; when nothing on the pages read or in the address is about
medicines or a pharmacy, the verdict is `not_a_pharmacy` (rules.yaml forces it). Words about medicines are not
enough either: a wellness blog writes about medication, pills and pharmacists without selling any. A site sells
or dispenses medicines when, besides speaking of them, it shows a shop or a pharmacy's services (a cart, prices,
orders, delivery, prescriptions filled: `selling_signs`, by language), names itself a pharmacy (its address, its
title or its business name), or names a medicine with its strength. Named medicines count as well as
pharmacy words, so a shop whose terms page is in a language the word list does not cover, but whose address or
pages name the drugs it sells, is still judged as a pharmacy; one drug named with its strength ("Viagra 100mg")
is enough. A page assembled in the browser by scripts shows almost no text to a fetcher, so its silence is
reported as `built-by-scripts`, never as "not a pharmacy".
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from app.rules import ConfigModel, Field
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

from . import _context as ctx
from . import _qa as qa
from ._qa import Localised
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
    # What a shop or a dispensing pharmacy shows and an article about health does not: a cart, a checkout, orders,
    # delivery terms, prescriptions filled. One of these or a pharmacy's name is needed besides the terms.
    selling_signs: Localised = []
    # Words that make a page title or a business name a pharmacy's ("Riverside Pharmacy", "Stadt-Apotheke").
    pharmacy_names: list[str] = []
    # A medicine named on a line with one of these is on offer.
    drug_offer_words: Localised = []
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
            if candidates and text is page.text and (offered := _drug_on_offer(page, config, candidates)):
                outcome = Outcome("sells-medicines", facts={"terms": [offered.phrase.lower()]})
                if first:  # what named it a pharmacy before (its title, say) comes first
                    outcome.add(*first)
                return [outcome.add(page.url, offered.snippet)]
            for phrases in (ctx.narrowed(terms, lowered), candidates):
                for match in phrases.finditer(text, limit=100):
                    found.add(" ".join(match.phrase.lower().split()))
                    first = first or (page.url, match.snippet)
        if len(found) >= config.min_distinct_terms:
            break
    if len(found) >= config.min_distinct_terms:
        sign = _selling_sign(site, config, bool([t for t in found if t.startswith("address: ")]))
        if sign is not None:
            return [Outcome("sells-medicines", facts={"terms": sorted(found)[:20], "sign": sign[1]}).add(*first).add(*sign)]
        # No shop on one deep page (an FAQ, a policy) says little: the cart and the pharmacy's name are on its home
        # page. Only with the home page, or the about or contact page, read does their absence mean something.
        if not _front_read(site):
            return [Outcome("sells-medicines", facts={"terms": sorted(found)[:20], "sign": ""}).add(*first)]
        # Medicines spoken of, none sold or dispensed: an article, a blog, a health information site.
        outcome = Outcome("not-a-pharmacy", facts={"terms": sorted(found)[:20], "pages_read": site.pages_read})
        outcome.add(*first)
        outcome.add(site.final_url, "Mentions medicines, but no page read sells or dispenses them: no cart, prices, "
                                    "ordering or pharmacy services. Pages read: " + ", ".join(site.pages_read))
        return [outcome]
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


def _front_read(site: Site) -> bool:
    """Whether the pages that show what a site is were read: its home page, or its about or contact page."""
    for page in site.pages:
        if page.status >= 400:
            continue
        if page.kind in ("home", "about", "contact") or urlsplit(page.url).path in ("", "/"):
            return True
    return False


def _drug_on_offer(page, config: Config, candidates: PhraseSet):
    """A medicine named on a line with an offer word ("Buy Carisoprodol Online Cheap"), as a match, or None."""
    offer = qa.local(config.drug_offer_words, page.language)
    for m in candidates.finditer(page.text, limit=50):
        line_start = page.text.rfind("\n", 0, m.start) + 1
        line_end = page.text.find("\n", m.end)
        if offer.search(page.text[line_start : line_end if line_end != -1 else len(page.text)]) is not None:
            return m
    return None


def _selling_sign(site: Site, config: Config, pharmacy_address: bool) -> tuple[str, str] | None:
    """(page url, evidence) of something that sells or dispenses: a pharmacy's name, a price, a shop's words."""
    if pharmacy_address:
        return site.final_url, f"The address {site.host or site.domain} is a pharmacy's"
    names = PhraseSet(tuple(config.pharmacy_names))
    for page in site.pages:
        for name in [page.title, *(o.name for o in page.organizations)]:
            if name and names.search(name):
                return page.url, f"Named “{name[:120]}”"
    for page in site.pages:
        signs = qa.local(config.selling_signs, page.language)
        for text in (page.text, " ".join(link.text for link in page.links)):
            m = signs.search(text)
            if m is not None:
                return page.url, m.snippet
    return None


CHECK = Check(id="storefront", outcomes=OUTCOMES, config_model=Config, run=run)
