"""Reading a payment or pharmacist phrase in its sentence: is it offered, warned against, or refused?

"We accept Bitcoin" and "never pay with Bitcoin" contain the same word; safety advice, which rogue and
legitimate sites both publish, would otherwise count as an offer. These helpers look at the text before a match
within its own sentence, up to a clause that restarts the offer ("..., but we accept").
"""

from __future__ import annotations

import re

WINDOW_BEFORE = 70
WINDOW_AFTER = 50

_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n")
_NEGATION = re.compile(
    r"(?i)(?<!\w)(?:no|not|never|don't|do not|does not|doesn't|cannot|can't|unable to|avoid|avoiding|beware|"
    r"won't|will not|no longer|neither|nor|refuse|refuses|scam|scams|fraudulent|warning)(?!\w)"
)
_RESTART = re.compile(
    r"(?i)(?<!\w)(?:but|however|instead|we accept|we also accept|we take|we offer|you can pay|you can use|"
    r"accepted payment methods|payment methods)(?!\w)"
)
_NEGATED_AFTER = re.compile(
    r"(?i)^[\s\W]{0,3}(?:payments?\s+)?(?:is|are)?\s*(?:not|no longer)\s+(?:be\s+)?(?:accepted|available|supported|possible|an option)"
)
_REFUSAL = re.compile(
    r"(?i)(?<!\w)(?:no|not|cannot|can't|unable to|don't|do not|does not|doesn't|no longer|won't|will not)"
    r"\s+(?:\w+\s+){0,3}?(?:accept|accepted|take|charge|process)(?!\w)|(?<!\w)(?:sorry,?\s+)?no(?!\w)"
)


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(0, start - 400)
    head = text[lo:start]
    ends = list(_SENTENCE_END.finditer(head))
    s = lo + ends[-1].end() if ends else lo
    tail = _SENTENCE_END.search(text, end, min(len(text), end + 400))
    e = tail.start() if tail else min(len(text), end + 400)
    return s, e


def sentence_of(text: str, start: int, end: int) -> str:
    s, e = sentence_bounds(text, start, end)
    return text[s:e]


def _before(text: str, start: int, end: int) -> str:
    s, _ = sentence_bounds(text, start, end)
    return text[max(s, start - WINDOW_BEFORE) : start]


def _after(text: str, start: int, end: int) -> str:
    _, e = sentence_bounds(text, start, end)
    return text[end : min(e, end + WINDOW_AFTER)]


def negated(text: str, start: int, end: int) -> bool:
    """The phrase at text[start:end] is warned against or refused rather than offered."""
    before = _before(text, start, end)
    cues = list(_NEGATION.finditer(before))
    if cues and not _RESTART.search(before, cues[-1].end()):
        return True
    return bool(_NEGATED_AFTER.search(_after(text, start, end)))


def refused(text: str, start: int, end: int) -> bool:
    """The site says it does not accept the thing at text[start:end] ("no credit cards are accepted")."""
    before = _before(text, start, end)
    cues = list(_REFUSAL.finditer(before))
    if cues and not _RESTART.search(before, cues[-1].end()):
        return True
    return bool(_NEGATED_AFTER.search(_after(text, start, end)))
