"""Reading a phrase in its sentence: is it the site's own offer, a warning, an OTC explanation, or a question?

Rogue sites and legitimate ones use the same words. "No prescription needed" is an offer on one page and a
warning ("avoid sites that say no prescription needed") or an OTC explanation ("some medicines can be bought
without a prescription") on another; "Can I buy Viagra without a prescription?" is only an offer when the answer
is yes. These helpers split page text into sentences and classify the sentence around a match with cue phrases
from rules.yaml, so the checks read a phrase the way a pharmacist would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from app.textmatch import PhraseSet

# A sentence ends at ., ! or ? followed by a space, or at a line break (headings and list items are sentences).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_YES = re.compile(r"^\W*(yes|yep|of course|sure|absolutely|certainly|definitely|no problem)\b", re.I)
_NO = re.compile(r"^\W*(no|nope|unfortunately|sorry|never|not at all|we cannot|we can't|we do not|we don't)\b", re.I)
_FIRST_PERSON = re.compile(r"\b(we|our|us|we're|we'll|we've)\b", re.I)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int

    @property
    def is_question(self) -> bool:
        return self.text.rstrip().endswith("?")


def sentences(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos:
            out.append(Sentence(text[pos : m.start()], pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append(Sentence(text[pos:], pos, len(text)))
    return out


def sentence_at(sents: list[Sentence], offset: int) -> int:
    """Index of the sentence holding `offset` (binary search over sentence starts)."""
    lo, hi = 0, len(sents) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sents[mid].start <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


def answer_to(sents: list[Sentence], index: int) -> str:
    """The sentence that answers the question at `index` (the next one), or ''."""
    return sents[index + 1].text if index + 1 < len(sents) else ""


def answer_is_yes(answer: str) -> bool:
    return bool(_YES.search(answer))


def answer_is_no(answer: str) -> bool:
    return bool(_NO.search(answer))


def speaks_for_itself(sentence: str) -> bool:
    """The sentence is in the site's own voice (we / our / us)."""
    return bool(_FIRST_PERSON.search(sentence))


def url_words(url: str) -> str:
    """The path of a URL as words: /buy-xanax-without-prescription -> 'buy xanax without prescription'."""
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:
        return ""
    path = re.sub(r"\.(html?|php|aspx?|jsp)$", "", path, flags=re.I)
    return " ".join(re.split(r"[^A-Za-z0-9]+", path)).strip()


def has(phrases: PhraseSet, text: str) -> bool:
    return bool(phrases) and phrases.search(text) is not None


_PREFIXES: dict[tuple[str, ...], list[tuple[str, str]]] = {}


def _literal_prefix(phrase: str) -> str:
    first = phrase.strip().split()[0].lower() if phrase.strip() else ""
    return re.split(r"['’*]", first, maxsplit=1)[0]


def narrowed(phrases: PhraseSet, lowered_text: str) -> PhraseSet:
    """The phrases whose first word occurs in the text at all.

    One regular expression alternating hundreds of drug names is slow over a large page (Python's engine tries
    each alternative at each position); a substring test per phrase is fast, so most pages end up matching a
    handful of candidates instead of the whole list.
    """
    key = phrases.phrases
    table = _PREFIXES.get(key)
    if table is None:
        table = _PREFIXES.setdefault(key, [(_literal_prefix(p), p) for p in key])
    return PhraseSet(tuple(p for prefix, p in table if prefix in lowered_text))
