"""Marketing: sales language that legitimate pharmacies do not use for prescription medicines.

Each phrase is read in its sentence: "we do not ship internationally" and "beware of sites that promise bonus
pills" are not red flags. Cross-border selling needs cues of two distinct kinds (say international orders and
customs), because one word such as "customs" also appears on legitimate pages, and it must be about prescription
medicines: a pharmacy that ships only its OTC range abroad, or says prescriptions stay at home, is not flagged.
"""

from __future__ import annotations

import re

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from . import _context as ctx
from . import _qa as qa
from ._qa import Localised, QAConfig
from .base import Check, Outcome
from .domain import domain_words


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
    # Shipping prescription medicines across borders to consumers, by kind of cue (shipping abroad, customs,
    # import charges, importation, customers in another country...); the finding needs cues of
    # `cross_border_min_distinct` kinds.
    cross_border: dict[str, list[str]]
    cross_border_min_distinct: int = 2
    # Words that look like a cue but name something else ("international money order" is a way to pay).
    cross_border_not_cues: list[str] = []
    # A sentence about prescription medicines; without one, a site that never speaks of them is not shipping them.
    prescription_words: list[str] = []
    # A sentence that sends OTC products, vitamins or pet supplies abroad ("we ship vitamins internationally"):
    # what the site sends abroad is not prescribed.
    otc_context: list[str] = []
    abroad_words: list[str] = []
    # "Prescription orders are shipped only within the UK": the site keeps prescriptions at home.
    domestic_only: list[str] = []
    # "We can only dispatch prescription medicines to UK addresses" on a .co.uk site: "only", the country of the
    # site's own country-code domain and prescriptions in one sentence, with no word for abroad, say the same in
    # other words. On a .com the country is unknown, and "only to US customers" is what cross-border sellers say.
    only_words: list[str] = []
    home_country_words: dict[str, list[str]] = {}
    # Kinds of cue that say where orders go: denied in a sentence about prescriptions ("international orders
    # are not accepted for prescription items"), they keep the site's prescriptions at home.
    destination_kinds: list[str] = []
    # A page that never names a medicine is still a pharmacy's when the address says so ("...pharmacy.com").
    pharmacy_domain_terms: list[str] = []
    warning_context: Localised
    refusal_context: Localised
    # How questions and answers are read: "Do you ship worldwide?" answered "Yes" is the site's claim.
    qa: QAConfig | None = None


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
# "International orders are not accepted": the denial follows the phrase, in the same clause.
_NEGATED_AFTER = re.compile(r"^[^,;:.!?]{0,40}?(?:\bnot\b|n't\b|\bnever\b|\bno longer\b|\bcannot\b)", re.I)


def _claims(
    site: Site, phrases: PhraseSet, warning: PhraseSet, refusal: PhraseSet, limit: int = 20,
    exclude: PhraseSet | None = None, qa_config: QAConfig | None = None,
):
    """(page, match, evidence) for every occurrence that is the site's own claim, not negated, warned against or
    asked without a yes; `exclude` names sentence contexts in which the phrase means something harmless."""
    for page, text in site.texts():
        sents = None
        reading = qa.read(page, qa_config) if qa_config is not None else None
        for m in phrases.finditer(text, limit=limit):
            sents = sents or ctx.sentences(text)
            i = ctx.sentence_at(sents, m.start)
            s = sents[i]
            asked = reading.question_at(m.start) if reading is not None else None
            if s.is_question or asked is not None:
                # "Do you ship worldwide?" claims nothing; answered "Yes", it is the site's claim.
                if asked is not None and asked.closed and asked.reply > 0 and not ctx.has(warning, asked.text):
                    yield page, m, asked.evidence
                continue
            if ctx.has(warning, s.text) or ctx.has(refusal, s.text):
                continue
            if exclude is not None and ctx.has(exclude, s.text):
                continue
            if _NEGATED_BEFORE.search(text[s.start : m.start]):
                continue
            answered = reading.answer_at(m.start) if reading is not None else None
            if answered is not None and answered.reply < 0:
                continue
            if reading is None and i > 0 and sents[i - 1].is_question and ctx.answer_is_no(s.text):
                continue
            yield page, m, m.snippet


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
    warning = PhraseSet(qa.phrases_for(config.warning_context, ""))
    refusal = PhraseSet(qa.phrases_for(config.refusal_context, ""))
    supplements = PhraseSet(tuple(config.supplement_words))
    outcomes = []
    for outcome in OUTCOMES:
        if outcome == "cross-border-shipping":
            continue
        phrases = PhraseSet(tuple(getattr(config, outcome.replace("-", "_"))))
        exclude = PhraseSet(tuple(config.no_questions_retail_context)) if outcome == "no-questions-asked" else None
        found: Outcome | None = None
        for page, m, evidence in _claims(site, phrases, warning, refusal, exclude=exclude, qa_config=config.qa):
            if outcome == "bonus-pills" and (
                _free_of(page.text, m.start, config.free_of_words) or _of_a_supplement(page.text, m.end, supplements)
            ):
                continue
            found = (found or Outcome(outcome)).add(page.url, evidence)
            if len(found.evidence) >= 2:
                break
        if found:
            outcomes.append(found)
    cross = _cross_border(site, config, warning, refusal)
    if cross:
        outcomes.append(cross)
    return outcomes


def _deals_in_medicines(site: Site, config: Config, rx_words: PhraseSet) -> bool:
    if any(ctx.has(rx_words, text) for _, text in site.texts()):
        return True
    squashed = domain_words(site)
    return any(re.sub(r"[^a-z0-9]", "", t.lower()) in squashed for t in config.pharmacy_domain_terms)


def _cross_border(site: Site, config: Config, warning: PhraseSet, refusal: PhraseSet) -> Outcome | None:
    rx_words = PhraseSet(tuple(config.prescription_words))
    otc = PhraseSet(tuple(config.otc_context))
    not_cues = PhraseSet(tuple(config.cross_border_not_cues))
    kinds = {kind: PhraseSet(tuple(phrases)) for kind, phrases in config.cross_border.items()}
    domestic = PhraseSet(tuple(config.domestic_only))
    abroad = PhraseSet(tuple(config.abroad_words))
    only = PhraseSet(tuple(config.only_words))
    home = PhraseSet(tuple(config.home_country_words.get(site.domain.rsplit(".", 1)[-1].lower(), ())))
    cues: dict[str, tuple[str, str]] = {}
    about_rx = otc_abroad = False
    for page, text in site.texts():
        sents = ctx.sentences(text)
        reading = qa.read(page, config.qa) if config.qa is not None else None
        for s in sents:
            if ctx.has(otc, s.text):
                otc_abroad = otc_abroad or (ctx.has(abroad, s.text) and not s.is_question)
            elif ctx.has(rx_words, s.text) and (
                ctx.has(domestic, s.text)
                or (home.phrases and ctx.has(only, s.text) and ctx.has(home, s.text) and not ctx.has(abroad, s.text))
            ):
                return None
        blocked = [(m.start, m.end) for m in not_cues.finditer(text, limit=50)]
        for kind, phrases in kinds.items():
            for m in phrases.finditer(text, limit=20):
                if any(a <= m.start < b for a, b in blocked):
                    continue
                s = sents[ctx.sentence_at(sents, m.start)]
                rx = ctx.has(rx_words, s.text) and not ctx.has(otc, s.text)
                negated = _NEGATED_BEFORE.search(text[s.start : m.start]) or _NEGATED_AFTER.search(text[m.end : s.end])
                if negated or ctx.has(refusal, s.text):
                    if rx and kind in config.destination_kinds:
                        return None
                    continue
                if s.is_question or ctx.has(warning, s.text):
                    continue
                i = ctx.sentence_at(sents, m.start)
                answered = reading.answer_at(m.start) if reading is not None else None
                if answered is not None and answered.reply < 0:
                    continue
                if reading is None and i > 0 and sents[i - 1].is_question and ctx.answer_is_no(s.text):
                    continue
                if reading is not None and reading.question_at(m.start) is not None:
                    continue
                if ctx.has(otc, s.text):
                    continue
                about_rx = about_rx or rx
                cues.setdefault(kind, (page.url, m.snippet))
    if len(cues) < config.cross_border_min_distinct:
        return None
    # What the site sends abroad is its OTC range, unless a cue sentence itself speaks of prescriptions.
    if otc_abroad and not about_rx:
        return None
    if not about_rx and not _deals_in_medicines(site, config, rx_words):
        return None
    o = Outcome("cross-border-shipping", facts={"cues": sorted(cues)})
    for url, snippet in list(cues.values())[:3]:
        o.add(url, snippet)
    return o


CHECK = Check(id="marketing", outcomes=OUTCOMES, config_model=Config, run=run)
