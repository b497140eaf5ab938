"""Marketing: sales language that legitimate pharmacies do not use for prescription medicines.

Each phrase is read in its sentence: "we do not ship internationally" and "beware of sites that promise bonus
pills" are not red flags. Cross-border selling needs two distinct cues (say "international orders" and "your
country's customs"), because one word such as "customs" also appears on legitimate pages.
"""

from __future__ import annotations

import re

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from . import _context as ctx
from .base import Check, Outcome


class Config(ConfigModel):
    bonus_pills: list[str]
    free_of_words: list[str] = []
    # "Free pills of vitamin C": a give-away of a named supplement is not a prescription medicine handed out.
    supplement_words: list[str] = []
    discreet_packaging: list[str]
    no_questions_asked: list[str]
    no_questions_retail_context: list[str] = []
    overnight_delivery: list[str]
    huge_discounts: list[str]
    worldwide_shipping: list[str]
    # Shipping prescription medicines across borders to consumers: shipping from abroad, customs, importation.
    cross_border: list[str]
    cross_border_min_distinct: int = 2
    warning_context: list[str]
    refusal_context: list[str]


OUTCOMES = (
    "bonus-pills",
    "discreet-packaging",
    "no-questions-asked",
    "overnight-delivery",
    "huge-discounts",
    "worldwide-shipping",
    "cross-border-shipping",
)

_NEGATED_BEFORE = re.compile(r"(?:\bnot|n't|\bnever|\bno)\W+(?:\w+\W+){0,2}$", re.I)


def _claims(
    site: Site, phrases: PhraseSet, warning: PhraseSet, refusal: PhraseSet, limit: int = 20,
    exclude: PhraseSet | None = None,
):
    """(page, match) for every occurrence that is the site's own claim, not negated, warned against or asked;
    `exclude` names sentence contexts in which the phrase means something harmless."""
    for page, text in site.texts():
        sents = None
        for m in phrases.finditer(text, limit=limit):
            sents = sents or ctx.sentences(text)
            i = ctx.sentence_at(sents, m.start)
            s = sents[i]
            if s.is_question:
                continue
            if ctx.has(warning, s.text) or ctx.has(refusal, s.text):
                continue
            if exclude is not None and ctx.has(exclude, s.text):
                continue
            if _NEGATED_BEFORE.search(text[s.start : m.start]):
                continue
            if i > 0 and sents[i - 1].is_question and ctx.answer_is_no(s.text):
                continue
            yield page, m


_WORD_BEFORE = re.compile(r"(\w+)(-|\s+)$")


def _free_of(text: str, start: int, free_of_words: list[str]) -> bool:
    """The match starts a compound such as "sugar-free tablets": what the product is free of."""
    if not text[start : start + 4].lower() == "free":
        return False
    before = _WORD_BEFORE.search(text[max(0, start - 40) : start])
    if before is None:
        return False
    return before.group(2) == "-" or before.group(1).lower() in free_of_words


def _of_a_supplement(text: str, end: int, supplements: PhraseSet) -> bool:
    """The give-away is named right after the phrase, and it is a supplement ("free pills of vitamin C")."""
    after = text[end : end + 40]
    lead = re.match(r"\s*[:\-–]?\s*(?:of|with)?\s*(?:our|your|a|an|the|free)?\s*", after)
    named = supplements.search(after[lead.end() :]) if lead else None
    return named is not None and named.start == 0


def run(site: Site, config: Config):
    warning = PhraseSet(tuple(config.warning_context))
    refusal = PhraseSet(tuple(config.refusal_context))
    supplements = PhraseSet(tuple(config.supplement_words))
    outcomes = []
    for outcome in OUTCOMES:
        if outcome == "cross-border-shipping":
            continue
        phrases = PhraseSet(tuple(getattr(config, outcome.replace("-", "_"))))
        exclude = PhraseSet(tuple(config.no_questions_retail_context)) if outcome == "no-questions-asked" else None
        found: Outcome | None = None
        for page, m in _claims(site, phrases, warning, refusal, exclude=exclude):
            if outcome == "bonus-pills" and (
                _free_of(page.text, m.start, config.free_of_words) or _of_a_supplement(page.text, m.end, supplements)
            ):
                continue
            found = (found or Outcome(outcome)).add(page.url, m.snippet)
            if len(found.evidence) >= 2:
                break
        if found:
            outcomes.append(found)
    cues: dict[str, tuple[str, str]] = {}
    for page, m in _claims(site, PhraseSet(tuple(config.cross_border)), warning, refusal, limit=50):
        cues.setdefault(" ".join(m.phrase.lower().split()), (page.url, m.snippet))
    if len(cues) >= config.cross_border_min_distinct:
        o = Outcome("cross-border-shipping", facts={"cues": sorted(cues)})
        for url, snippet in list(cues.values())[:3]:
            o.add(url, snippet)
        outcomes.append(o)
    return outcomes


CHECK = Check(id="marketing", outcomes=OUTCOMES, config_model=Config, run=run)
