"""Prescription: does the site require a valid prescription for prescription-only medicines, and how?

This is the strongest single signal: most sites on NABP's Not Recommended list sell without a valid
prescription. It is also where legitimate and rogue pages share the most words, so every phrase is read in its
sentence (see `_context`): a "no prescription needed" inside a warning, an OTC explanation or a question answered
"No" is not an offer, and a requirement stated about "legitimate pharmacies" in a buying guide is not the site's
own policy. Drug lists (prescription-only, controlled with schedule, unlicensed, OTC) and every phrase live in
rules.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from app.page import Page
from app.domains import registrable_domain
from app.rules import ConfigModel, Field
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

from . import _context as ctx
from . import _qa as qa
from ._qa import Localised, QAConfig
from .base import Check, Outcome

DrugStatus = Literal["rx", "controlled", "unlicensed", "otc"]


class Drug(ConfigModel):
    name: str
    aliases: list[str] = []
    status: DrugStatus
    schedule: str | None = None  # e.g. "US C-II"
    # Names that are also ordinary words or other brands ("soma") count only right beside a strength or price,
    # and never inside a domain name.
    ambiguous_aliases: list[str] = []


class Config(ConfigModel):
    # How questions and answers are read (checks/_qa.py); the same block for every check.
    qa: QAConfig
    # Phrase lists are by language (checks/_qa.py, `Localised`): a page is read with its own language's phrases
    # and English ones, or with every language's when its language is unknown.
    requirement_phrases: Localised
    # A question names a prescription (mention_phrases) with one of these at most two words away: it asks whether
    # one is required ("Do you need my prescription?").
    requirement_question_words: Localised = []
    verification_phrases: Localised
    mention_phrases: Localised
    # Phrases only ever said of prescription medicines ("no prescription needed", "no Rx required"): an offer
    # wherever they stand, unless a warning, a refusal, an OTC explanation or a question answered "No".
    no_prescription_phrases: Localised
    # "(Buy ...) online without a prescription" is also how a pharmacy sells its OTC range; an offer only when a
    # prescription-only, controlled or unlicensed drug is named within `without_prescription_window` characters
    # in the same sentence and the sentence is not about OTC products or a prescription requirement, or when it
    # answers a question about the site's prescriptions.
    without_prescription_phrases: Localised
    without_prescription_window: int = Field(default=120, ge=20, le=400)
    questionnaire_phrases: Localised
    # Cues that turn a phrase in the same sentence into something other than the site's own offer or policy.
    warning_context: Localised
    refusal_context: Localised
    otc_context: Localised
    # No controlled medicine is sold "over the counter"; only the words of a regulated pharmacy-medicine sale
    # ("a pharmacy medicine: our pharmacist asks a few questions") excuse a no-prescription phrase next to one.
    controlled_otc_context: Localised = []
    third_party_context: Localised
    # Cues that a named drug is for sale in that sentence (buy, price, per pill, add to cart...).
    offer_context: Localised
    # Path words of a product page (/product/xanax-2mg): a drug named in such a path is on sale there, and a
    # link whose text names a drug and whose path has one of these words is a product link.
    product_path_words: list[str]
    # A shop layout puts a product's name, its price and its cart button on lines of their own, so a sentence
    # never holds all three. A drug named with a strength counts as offered when, within `listing_window` lines
    # either side, one of `listing_cues` or an amount in one of `currency_symbols` stands. Drug information
    # lists strengths too, but not prices or cart buttons.
    listing_cues: Localised = []
    currency_symbols: list[str] = []
    listing_window: int = Field(default=2, ge=0, le=10)
    # Words of a pharmacy that dispenses against prescriptions (refills, insurance, copays): a price list of
    # prescription drugs beside them is a dispensing price list, not an offer without a prescription.
    dispensing_context: Localised = []
    drugs: list[Drug]


OUTCOMES = (
    "required-with-verification",
    "required-stated",
    "mentioned-only",
    "rx-drugs-without-requirement",
    "no-prescription-offer",
    "questionnaire-only",
    "controlled-offered",
    "controlled-without-process",
    "unlicensed-offered",
)

_STRENGTH = r"(?:\s*(?:hcl|er|xr|sr|cr|ir|la|odt|tablets?|caps(?:ules)?|\(generic\))){0,2}[\s-]*\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|ml|iu)\b"
_NEGATED_BEFORE = re.compile(r"(?:\bnot|n't|\bnever|\bno longer|\bwithout)\W+(?:\w+\W+){0,2}$", re.I)


@dataclass
class _Compiled:
    config: Config
    language: str
    requirement: PhraseSet
    verification: PhraseSet
    mention: PhraseSet
    need: PhraseSet
    no_rx: PhraseSet
    without_rx: PhraseSet
    questionnaire: PhraseSet
    warning: PhraseSet
    refusal: PhraseSet
    otc: PhraseSet
    controlled_otc: PhraseSet
    third_party: PhraseSet
    offer: PhraseSet
    product_path: PhraseSet
    dispensing: PhraseSet
    listing: PhraseSet
    currency: re.Pattern | None
    by_status: dict[str, PhraseSet] = field(default_factory=dict)
    strength_after: dict[str, re.Pattern] = field(default_factory=dict)


_cache: dict[tuple[int, str], _Compiled] = {}

_AMOUNT = r"\d{1,6}(?:[.,]\d{1,2})?"
_HAS_STRENGTH = re.compile(r"\d(?:[.,]\d+)?\s?(?:mg|mcg|µg|ml|iu)\b", re.I)


def _currency_pattern(symbols: list[str]) -> re.Pattern | None:
    """An amount of money written with one of `symbols` before or after it ($9.00, 12,50 €, USD 9, 99 kr)."""
    parts = []
    for sym in sorted({s.strip() for s in symbols if s.strip()}, key=len, reverse=True):
        body = re.escape(sym)
        # A symbol made of letters ("kr", "USD") must stand apart from other letters; "$" and "€" need not.
        before = r"(?<![A-Za-z])" if sym[0].isalpha() else ""
        after = r"(?![A-Za-z])" if sym[-1].isalpha() else ""
        parts.append(rf"{before}{body}\s?{_AMOUNT}(?!\d)")
        parts.append(rf"(?<![\d.,]){_AMOUNT}\s?{body}{after}")
    return re.compile("|".join(parts), re.I) if parts else None


def _names(drugs: list[Drug], status: str, *, include_ambiguous: bool) -> list[str]:
    out = []
    for d in drugs:
        if d.status != status:
            continue
        out += [d.name, *d.aliases]
        if include_ambiguous:
            out += d.ambiguous_aliases
    return out


def _compiled(config: Config, language: str = "") -> _Compiled:
    """The phrase sets for reading a page in `language` ("" when it is unknown: every language's phrases)."""
    key = (id(config), language)
    hit = _cache.get(key)
    if hit is None or hit.config is not config:
        def local(value):
            return qa.local(value, language)

        c = _Compiled(
            config=config,
            language=language,
            requirement=local(config.requirement_phrases),
            verification=local(config.verification_phrases),
            mention=local(config.mention_phrases),
            need=local(config.requirement_question_words),
            no_rx=local(config.no_prescription_phrases),
            without_rx=local(config.without_prescription_phrases),
            questionnaire=local(config.questionnaire_phrases),
            warning=local(config.warning_context),
            refusal=local(config.refusal_context),
            otc=local(config.otc_context),
            controlled_otc=local(config.controlled_otc_context),
            third_party=local(config.third_party_context),
            offer=local(config.offer_context),
            product_path=PhraseSet(config.product_path_words),
            dispensing=local(config.dispensing_context),
            listing=local(config.listing_cues),
            currency=_currency_pattern(config.currency_symbols),
        )
        for status in ("rx", "controlled", "unlicensed", "otc"):
            c.by_status[status] = PhraseSet(_names(config.drugs, status, include_ambiguous=False))
            ambiguous = [a for d in config.drugs if d.status == status for a in d.ambiguous_aliases]
            if ambiguous:
                body = "|".join(re.escape(a) for a in sorted(ambiguous, key=len, reverse=True))
                c.strength_after[status] = re.compile(rf"(?<!\w)(?:{body})(?={_STRENGTH})", re.I)
        hit = _cache[key] = c
    return hit


def _drug_matches(c: _Compiled, text: str, status: str, limit: int = 200):
    """Matches of drugs of `status`, leaving out names that are part of an OTC product ("Viagra Connect")."""
    lowered = text.lower()
    otc = ctx.narrowed(c.by_status["otc"], lowered)
    otc_spans = [(m.start, m.end) for m in otc.finditer(text, limit=200)] if status != "otc" else []
    for m in ctx.narrowed(c.by_status[status], lowered).finditer(text, limit=limit):
        if any(a <= m.start < b for a, b in otc_spans):
            continue
        yield m


def _names_prescription_drug(c: _Compiled, text: str, *, with_strength: bool = False) -> bool:
    """`with_strength` also counts names that are ordinary words elsewhere ("soma") when a strength follows."""
    if any(next(_drug_matches(c, text, s, limit=5), None) for s in ("rx", "controlled", "unlicensed")):
        return True
    return with_strength and any(p.search(text) for s, p in c.strength_after.items() if s != "otc")


def _weak_offer(c: _Compiled, sent: ctx.Sentence, match_start: int, match_end: int) -> bool:
    """A "without a prescription" phrase sells a prescription medicine only with one named right beside it."""
    w = c.config.without_prescription_window
    lo, hi = max(0, match_start - sent.start - w), match_end - sent.start + w
    if not _names_prescription_drug(c, sent.text[lo:hi], with_strength=True):
        return False
    return not (ctx.has(c.otc, sent.text) or ctx.has(c.requirement, sent.text))


def _is_offer(
    c: _Compiled, sents: list[ctx.Sentence], i: int, match_start: int, match_end: int, *, weak: bool,
    reading: qa.Reading | None = None,
) -> str | None:
    """The evidence text when the no-prescription phrase in sentence i is the site's own offer, else None."""
    s = sents[i].text
    if ctx.has(c.warning, s) or ctx.has(c.refusal, s):
        return None
    # A question asserts nothing: what it asks is read with its answer (`_pair_findings`).
    if sents[i].is_question or (reading is not None and reading.question_at(match_start) is not None):
        return None
    if weak and not _weak_offer(c, sents[i], match_start, match_end):
        return None
    # A sentence about OTC or pharmacy medicines ("co-codamol is a pharmacy medicine: no prescription needed,
    # our pharmacist asks a few questions") describes a legal sale, even when it names the active ingredient.
    controlled = next(_drug_matches(c, s, "controlled", limit=1), None) is not None
    if ctx.has(c.controlled_otc if controlled else c.otc, s):
        return None
    if not _names_prescription_drug(c, s):
        if ctx.has(c.by_status["otc"], s):
            return None
        # "medicines that do not need a prescription" describes a category of products, not an offer.
        before = s[: max(0, match_start - sents[i].start)].rstrip().lower()
        if before.endswith((" that", " which", "that", "which")):
            return None
    return s


def _needs_prescription(c: _Compiled, text: str) -> bool:
    """A prescription named with a word of need at most two words away ("need my prescription", "Rezept nötig")."""
    for m in c.mention.finditer(text, limit=10):
        before = re.findall(r"[\w'’-]+", text[max(0, m.start - 60) : m.start])[-3:]
        after = re.findall(r"[\w'’-]+", text[m.end : m.end + 60])[:3]
        if ctx.has(c.need, " ".join(before)) or ctx.has(c.need, " ".join(after)):
            return True
    return False


def _asks(c: _Compiled, question: str) -> int:
    """+1: the question asks whether a prescription is required; -1: whether one can buy without; 0: neither."""
    if ctx.has(c.no_rx, question) or ctx.has(c.without_rx, question):
        return -1
    # Only the need itself: "Do I need to send the original prescription?" names a requirement phrase, but asks
    # how to send it, and "No" to it is no offer.
    return 1 if _needs_prescription(c, question) else 0


def _states(c: _Compiled, vocab, text: str) -> int:
    """What a statement says of the prescription: +1 one is required, -1 none is, 0 neither (or an OTC matter)."""
    for s, e in qa.sentences_of(text):
        sentence = text[s:e]
        if ctx.has(c.otc, sentence) or ctx.has(c.warning, sentence):
            continue
        if c.no_rx.search(sentence) is not None:
            return -1
        # "You cannot buy it without a prescription" requires one; "we do not require a prescription" does not.
        m = c.without_rx.search(sentence)
        if m is not None:
            return 1 if qa.negated_before(vocab, sentence, m.start) else -1
        m = c.requirement.search(sentence)
        if m is not None:
            return -1 if qa.negated_before(vocab, sentence, m.start) else 1
    return 0


def _pair_findings(c: _Compiled, vocab, reading: qa.Reading):
    """(kind, evidence) for each question and answer that together say a prescription is, or is not, needed:
    "Do you need my prescription?" "No. You can buy all our medicines without a prescription." is an offer."""
    for pair in reading.pairs:
        said = qa.verdict(pair, lambda q: _asks(c, q), lambda t: _states(c, vocab, t))
        if not said:
            continue
        read = f"{pair.question} {pair.lead}"
        if ctx.has(c.warning, read):
            continue
        if ctx.has(c.third_party, pair.question) and not ctx.speaks_for_itself(read):
            continue  # "Do legitimate pharmacies ask for a prescription?": advice about others
        if said > 0:
            yield "required-stated", pair.evidence
            continue
        # Asked about OTC products, vaccines and the like, "No" is the legitimate answer; an answer that describes
        # the prescription process ("No, just upload it") or refuses is no offer either.
        if ctx.has(c.otc, read) or ctx.has(c.by_status["otc"], read) or ctx.has(c.verification, pair.lead):
            continue
        if ctx.has(c.refusal, pair.lead):
            continue
        controlled = next(_drug_matches(c, read, "controlled", limit=1), None) is not None
        if controlled and ctx.has(c.controlled_otc, read):
            continue
        if ctx.has(c.offer, read) or _names_prescription_drug(c, read, with_strength=True):
            yield "no-prescription-offer", pair.evidence


def _own_policy(c: _Compiled, sentence: str, phrase_offset: int) -> bool:
    """A requirement or verification sentence that states the site's own policy, not advice about others."""
    if _NEGATED_BEFORE.search(sentence[:phrase_offset]):
        return False
    if ctx.has(c.warning, sentence):
        return False
    if ctx.has(c.third_party, sentence) and not ctx.speaks_for_itself(sentence):
        return False
    return True


_PRESCRIBING = re.compile(r"prescri|doctor|physician|clinician|\bgp\b|specialist", re.I)


def _collect_own(c: _Compiled, page: Page, sents, phrases: PhraseSet, outcome: Outcome | None, name: str,
                 reading: qa.Reading | None = None):
    for m in phrases.finditer(page.text, limit=20):
        i = ctx.sentence_at(sents, m.start)
        s = sents[i]
        if s.is_question or (reading is not None and reading.question_at(m.start) is not None):
            continue
        # A questionnaire or consultation matters here only when it leads to a prescription, not a
        # pharmacist's medication review.
        if name == "questionnaire-only" and not (_PRESCRIBING.search(s.text) or _names_prescription_drug(c, s.text)):
            continue
        if _own_policy(c, s.text, m.start - s.start):
            outcome = outcome or Outcome(name)
            outcome.add(page.url, m.snippet)
    return outcome


@dataclass
class _Lines:
    starts: list[int]
    texts: list[str]

    @classmethod
    def of(cls, text: str) -> "_Lines":
        starts, texts, pos = [], [], 0
        for line in text.split("\n"):
            starts.append(pos)
            texts.append(line)
            pos += len(line) + 1
        return cls(starts, texts)

    def index_at(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo


def _listed_for_sale(c: _Compiled, lines: _Lines, offset: int) -> str | None:
    """The lines around a drug named with a strength at `offset` when they carry a price or a cart cue."""
    i = lines.index_at(offset)
    line = lines.texts[i]
    if not _HAS_STRENGTH.search(line) or ctx.has(c.warning, line) or ctx.has(c.refusal, line):
        return None
    # Nearest lines first, so the evidence is the product's own line and the price or button beside it.
    for d in range(c.config.listing_window + 1):
        for j in (i + d, i - d):
            if not 0 <= j < len(lines.texts):
                continue
            other = lines.texts[j]
            if ctx.has(c.listing, other) or (c.currency is not None and c.currency.search(other)):
                # The product's own block says it is an OTC or pharmacy medicine (low-dose codeine in the UK):
                # sold legally after the pharmacist's questions, not a prescription medicine on open sale.
                if any(ctx.has(c.otc, lines.texts[k]) for k in range(min(i, j), max(i, j) + 1)):
                    return None
                evidence = " · ".join(lines.texts[k][:160] for k in sorted({i, j}))
                return snippet_around(evidence, 0, len(evidence))
    return None


def _product_links(c: _Compiled, page: Page, status: str) -> list[tuple[str, str]]:
    """Links on the page to this site's own product pages whose text names a drug of `status`."""
    found: list[tuple[str, str]] = []
    site_domain = registrable_domain(page.url)
    for link in page.links:
        if not link.text or len(found) >= 5:
            continue
        path = ctx.url_words(link.url)
        if not path or not ctx.has(c.product_path, path) or registrable_domain(link.url) != site_domain:
            continue
        m = next(_drug_matches(c, link.text, status, limit=1), None)
        if m is not None:
            found.append((m.phrase.lower(), f"Product link: “{link.text[:120]}” ({link.url[:200]})"))
    return found


def _offered(c: _Compiled, page: Page, sents, status: str) -> list[tuple[str, str]]:
    """(drug, snippet) for each drug of `status` offered for sale on the page."""
    found: list[tuple[str, str]] = []
    names = c.by_status[status]
    path = ctx.url_words(page.url)
    if path and (ctx.has(c.product_path, path) or ctx.has(c.offer, path)):
        for m in names.finditer(path, limit=3):
            found.append((m.phrase.lower(), f"Product page: {page.url}"))
        if not found and status in c.strength_after:
            m = c.strength_after[status].search(path)
            if m:
                found.append((m.group(0).lower(), f"Product page: {page.url}"))
    found += _product_links(c, page, status)
    lines = _Lines.of(page.text) if page.text else None
    for m in _drug_matches(c, page.text, status):
        if len(found) >= 5:
            break
        s = sents[ctx.sentence_at(sents, m.start)].text
        if ctx.has(c.warning, s) or ctx.has(c.refusal, s) or ctx.has(c.otc, s):
            continue
        # A strength alone ("30mg") is also how drug information is written; an offer needs a sales cue.
        if ctx.has(c.offer, s):
            found.append((m.phrase.lower(), m.snippet))
        elif lines is not None and (listing := _listed_for_sale(c, lines, m.start)):
            found.append((m.phrase.lower(), listing))
    ambiguous = c.strength_after.get(status)
    if ambiguous is not None:
        for m in ambiguous.finditer(page.text):
            s = sents[ctx.sentence_at(sents, m.start())].text
            if ctx.has(c.warning, s) or ctx.has(c.otc, s):
                continue
            if ctx.has(c.offer, s):
                found.append((m.group(0).lower(), snippet_around(page.text, m.start(), m.end())))
                break
            if lines is not None and (listing := _listed_for_sale(c, lines, m.start())):
                found.append((m.group(0).lower(), listing))
                break
    return found


def _offered_on(c: _Compiled, page: Page, sents, status: str) -> list[tuple[str, str]]:
    """`_offered`, worked out once per page (the contact check asks too)."""
    key = ("offered", id(c.config), status)
    hit = page.derived.get(key)
    if hit is None or hit[0] is not c.config:
        hit = page.derived[key] = (c.config, _offered(c, page, sents, status))
    return hit[1]


def offered_medicines(site: Site, config: Config) -> list[tuple[str, str, str]]:
    """(page url, drug, evidence) for every prescription-only, controlled or unlicensed medicine the site offers
    for sale (named with a price, a cart button or on a product page), whatever it says about prescriptions."""
    found: list[tuple[str, str, str]] = []
    for page in site.pages:
        if page.status >= 400 or not page.text:
            continue
        c = _compiled(config, page.language)
        sents = ctx.sentences(page.text)
        for status in ("controlled", "unlicensed", "rx"):
            found += [(page.url, drug, snip) for drug, snip in _offered_on(c, page, sents, status)]
    return found


def run(site: Site, config: Config):
    if not site.pages:
        return []
    offers: Outcome | None = None
    requirement: Outcome | None = None
    verification: Outcome | None = None
    questionnaire: Outcome | None = None
    mention: Outcome | None = None
    dispensing = False
    offered: dict[str, list[tuple[str, str, str]]] = {"rx": [], "controlled": [], "unlicensed": []}

    for page in site.pages:
        c = _compiled(config, page.language)
        vocab = qa.vocabulary(config.qa, page.language)
        reading = qa.read(page, config.qa)
        text = page.text or ""
        sents = ctx.sentences(text)
        path = ctx.url_words(page.url)
        # The address of a page is part of what it says: /soma-without-doctor-rx is an offer in itself.
        if path and not ctx.has(c.warning, path) and not ctx.has(c.refusal, path) and not ctx.has(c.otc, path):
            if ctx.has(c.no_rx, path) or (
                ctx.has(c.without_rx, path) and _names_prescription_drug(c, path, with_strength=True)
            ):
                offers = (offers or Outcome("no-prescription-offer")).add(page.url, f"Page address: {page.url}")
        lowered = text.lower()
        # Questions with their answers first: the pair is the clearest evidence of what the site says.
        for kind, evidence in _pair_findings(c, vocab, reading):
            if kind == "no-prescription-offer":
                offers = (offers or Outcome("no-prescription-offer")).add(page.url, evidence[:240])
            else:
                requirement = (requirement or Outcome("required-stated")).add(page.url, evidence[:240])
        if sents:
            for phrases, weak in ((ctx.narrowed(c.no_rx, lowered), False), (ctx.narrowed(c.without_rx, lowered), True)):
                for m in phrases.finditer(text, limit=30):
                    i = ctx.sentence_at(sents, m.start)
                    evidence = _is_offer(c, sents, i, m.start, m.end, weak=weak, reading=reading)
                    if evidence:
                        offers = (offers or Outcome("no-prescription-offer")).add(
                            page.url, snippet_around(evidence, 0, len(evidence)) if len(evidence) < 240 else m.snippet
                        )
            requirement = _collect_own(c, page, sents, ctx.narrowed(c.requirement, lowered), requirement,
                                       "required-stated", reading)
            verification = _collect_own(
                c, page, sents, ctx.narrowed(c.verification, lowered), verification, "required-with-verification", reading
            )
            questionnaire = _collect_own(
                c, page, sents, ctx.narrowed(c.questionnaire, lowered), questionnaire, "questionnaire-only", reading
            )
            dispensing = dispensing or ctx.has(ctx.narrowed(c.dispensing, lowered), text)
            if mention is None:
                m = c.mention.search(text)
                if m:
                    mention = Outcome("mentioned-only").add(page.url, m.snippet)
        for status in offered:
            offered[status] += [(page.url, drug, snip) for drug, snip in _offered_on(c, page, sents, status)]

    outcomes: list[Outcome] = []
    if offers:
        outcomes.append(offers)
    has_process = requirement is not None and verification is not None and not offers
    if has_process:
        outcomes.append(
            Outcome("required-with-verification", evidence=requirement.evidence[:2] + verification.evidence[:3])
        )
    elif questionnaire and not offers:
        outcomes.append(questionnaire)
    elif requirement and not offers:
        outcomes.append(requirement)
    elif mention and not offers:
        outcomes.append(mention)

    def drug_outcome(name: str, items) -> Outcome:
        o = Outcome(name, facts={"drugs": sorted({d for _, d, _ in items})})
        for url, _, snip in items:
            o.add(url, snip)
        return o

    required = requirement is not None or verification is not None
    # Prescribing after an online questionnaire is a prescription process of its own (the questionnaire-only
    # finding says what it is worth), so the prescription-only medicines it leads to are not offered "without a
    # requirement" as well. Controlled medicines are another matter: prescribing them online without an
    # examination is what the law forbids, so a questionnaire alone is no process for them.
    if offered["controlled"]:
        if offers or not required:
            outcomes.append(drug_outcome("controlled-without-process", offered["controlled"]))
        else:
            outcomes.append(drug_outcome("controlled-offered", offered["controlled"]))
    if offered["unlicensed"]:
        outcomes.append(drug_outcome("unlicensed-offered", offered["unlicensed"]))
    if offered["rx"] and not required and questionnaire is None and not offers and not dispensing:
        outcomes.append(drug_outcome("rx-drugs-without-requirement", offered["rx"]))
    return outcomes


CHECK = Check(id="prescription", outcomes=OUTCOMES, config_model=Config, run=run)
