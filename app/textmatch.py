"""Phrase matching that is case-insensitive and word-boundary aware, with evidence snippets.

Phrases in rules.yaml are plain text: whitespace inside a phrase matches any run of whitespace, and a phrase
only matches where it is not glued to other letters or digits ("rx" does not fire inside "proxy").
A phrase may contain `*` to stand for up to three word characters ("pill*" matches "pills" and "pill").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

SNIPPET_RADIUS = 90
MAX_SNIPPET = 240


def _phrase_pattern(phrase: str) -> str:
    parts = []
    for word in phrase.strip().split():
        # Pages write apostrophes both ways ("don't", "don’t"); a phrase written with either matches both.
        parts.append(re.escape(word).replace(r"\*", r"\w{0,3}").replace("’", "'").replace("'", "['’]"))
    return r"\s+".join(parts)


@lru_cache(maxsize=512)
def _compile(phrases: tuple[str, ...]) -> re.Pattern | None:
    if not phrases:
        return None
    # Longest first so that "no prescription needed" wins over "prescription" in one alternation.
    ordered = sorted({p for p in phrases if p.strip()}, key=len, reverse=True)
    body = "|".join(_phrase_pattern(p) for p in ordered)
    return re.compile(rf"(?<![\w]){'(?:' + body + ')'}(?![\w])", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    phrase: str
    start: int
    end: int
    snippet: str


def snippet_around(text: str, start: int, end: int, radius: int = SNIPPET_RADIUS) -> str:
    lo = max(0, start - radius)
    hi = min(len(text), end + radius)
    # Widen to word boundaries so snippets do not start mid-word.
    while lo > 0 and not text[lo - 1].isspace() and start - lo < radius + 20:
        lo -= 1
    while hi < len(text) and not text[hi].isspace() and hi - end < radius + 20:
        hi += 1
    snippet = " ".join(text[lo:hi].split())
    if lo > 0:
        snippet = "…" + snippet
    if hi < len(text):
        snippet = snippet + "…"
    return snippet[:MAX_SNIPPET]


class PhraseSet:
    """A compiled list of phrases."""

    def __init__(self, phrases: list[str] | tuple[str, ...]):
        self.phrases = tuple(phrases)
        self._pattern = _compile(self.phrases)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def search(self, text: str) -> Match | None:
        if self._pattern is None or not text:
            return None
        m = self._pattern.search(text)
        if m is None:
            return None
        return Match(m.group(0), m.start(), m.end(), snippet_around(text, m.start(), m.end()))

    def finditer(self, text: str, limit: int = 50):
        if self._pattern is None or not text:
            return
        for i, m in enumerate(self._pattern.finditer(text)):
            if i >= limit:
                return
            yield Match(m.group(0), m.start(), m.end(), snippet_around(text, m.start(), m.end()))

    def found(self, text: str) -> set[str]:
        """The distinct matched phrases, lower-cased and whitespace-normalised."""
        return {" ".join(m.phrase.lower().split()) for m in self.finditer(text, limit=500)}


def phrase_set(phrases) -> PhraseSet:
    return PhraseSet(tuple(phrases))
