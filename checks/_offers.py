"""Reading a payment or pharmacist phrase in its sentence: is it offered, warned against, or refused?

"We accept Bitcoin" and "never pay with Bitcoin" contain the same word; safety advice, which rogue and
legitimate sites both publish, would otherwise count as an offer. These helpers look at the text before a match
within its own sentence, up to a clause that restarts the offer ("..., but we accept").

Safety articles are a harder case: "Rogue sites ask you to pay with gift cards, Zelle, Venmo, cryptocurrency or
Western Union" puts the warning word far from the last channel, and "Scammers prefer..." never says "not".
`warned` therefore reads warning cues (listed in rules.yaml) across the whole sentence, and in the sentence
before it when that one is about paying or introduces a list, unless the site restarts with an offer of its own.
"""

from __future__ import annotations

import re

WINDOW_BEFORE = 70
WINDOW_AFTER = 50

_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n")
_NEGATION = re.compile(
    r"(?i)(?<!\w)(?:no|not|never|don't|do not|does not|doesn't|cannot|can't|unable to|avoid|avoiding|beware|"
    r"won't|will not|no longer|neither|nor|refuse|refuses|scam|scams|fraudulent|warning|"
    # German, French, Spanish, Dutch, Italian: "keine Kreditkarten", "jamais par Western Union", "nunca", "geen".
    r"nicht|kein|keine|keinen|niemals|nie|pas|jamais|aucun|aucune|nunca|ningún|ninguna|niet|geen|nooit|non|mai|"
    r"nessun|nessuna)(?!\w)"
)
_RESTART = re.compile(
    r"(?i)(?<!\w)(?:but|however|instead|we accept|we also accept|we take|we offer|you can pay|you can use|"
    r"accepted payment methods|payment methods|aber|sondern|wir akzeptieren|mais|nous acceptons|pero|sino|"
    r"aceptamos|maar|wij accepteren|we accepteren|accettiamo)(?!\w)"
)
# "... are not accepted", "... payments are temporarily unavailable", also after the rest of a list of the same
# kind ("Visa and Mastercard are not accepted at this time").
_NEGATED_AFTER = re.compile(
    r"(?i)^(?:[\s,/&]+(?:and|or)?\s*[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)?)*?[\s\W]{0,3}(?:payments?\s+)?"
    r"(?:(?:is|are)\s+)?(?:currently\s+|temporarily\s+|still\s+)?"
    r"(?:(?:not|no\s+longer)\s+(?:be\s+)?(?:accepted|available|supported|possible|an\s+option|taken|offered)"
    r"|unavailable|suspended|disabled|out\s+of\s+service)(?!\w)"
)
# "Kreditkarten werden derzeit nicht akzeptiert", "les cartes ne sont pas acceptées", "no se aceptan tarjetas"
# (after or before the phrase), "non accettiamo", "worden niet geaccepteerd".
_NEGATED_AFTER_OTHER = re.compile(
    r"(?i)^[^.!?\n]{0,40}?(?<!\w)(?:nicht|keine?|pas|non|niet|geen|no)(?!\w)[^.!?\n]{0,25}?"
    r"(?:akzeptiert|angenommen|möglich|verfügbar|accepté|acceptée|acceptés|acceptées|possible|disponible|aceptad[oa]s?|"
    r"aceptan|aceptamos|accettat[aeio]|accettiamo|disponibil[ei]|geaccepteerd|mogelijk|beschikbaar)"
)
_REFUSED_BEFORE_OTHER = re.compile(
    r"(?i)(?<!\w)(?:no\s+(?:se\s+)?aceptamos|no\s+se\s+aceptan|non\s+accettiamo|non\s+si\s+accettano|"
    r"nous\s+n'acceptons\s+pas|wir\s+akzeptieren\s+keine|wir\s+nehmen\s+keine|wij\s+accepteren\s+geen|"
    r"we\s+accepteren\s+geen)(?!\w)[^.!?\n]*$"
)
_REFUSAL = re.compile(
    r"(?i)(?<!\w)(?:no|not|cannot|can't|unable to|don't|do not|does not|doesn't|no longer|won't|will not)"
    r"\s+(?:\w+\s+){0,3}?(?:accept|accepted|take|charge|process)(?!\w)|(?<!\w)(?:sorry,?\s+)?no(?!\w)"
)

# The answer to an FAQ question ("Can I pay with Bitcoin?" "No." / "Not at this time."): "No problem" is a yes.
_ANSWER_NO = re.compile(
    r"(?i)^\s*(?:no|nope|not|sorry|unfortunately|we\s+(?:do\s+not|don't|cannot|can't|no\s+longer|are\s+not))"
    r"(?!\w)(?!\s+(?:problem|worries|only)\b)"
)
ANSWER_REACH = 200


_SITE_OFFER = re.compile(
    r"(?i)(?<!\w)(?:but|however|instead|we accept|we also accept|we take|we offer|you can pay|you may pay|"
    r"you can use|our payment|our accepted)(?!\w)"
)


def cue_pattern(cues: list[str] | tuple[str, ...]) -> re.Pattern | None:
    """A pattern for warning cues; a trailing `*` makes a word prefix ("scam*" matches "Scammers")."""
    parts = []
    for cue in cues:
        words = cue.strip().split()
        if not words:
            continue
        body = r"\s+".join(re.escape(w.rstrip("*")) for w in words)
        parts.append(body + (r"\w*" if words[-1].endswith("*") else ""))
    if not parts:
        return None
    return re.compile(r"(?i)(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")


def warned(text: str, start: int, end: int, cues: re.Pattern | None, about_paying=None) -> bool:
    """The phrase at text[start:end] is named in safety advice rather than offered by the site.

    A cue before the phrase counts unless the site then makes its own offer ("Beware of scams, but we accept
    ..."); a cue after it counts unless the site offered before it ("We accept Bitcoin and never share your
    data"). The sentence before carries its warning only when it is about paying or ends with a colon, so a
    stray "never" elsewhere on the page does not hide an offer.
    """
    if cues is None:
        return False
    s, e = sentence_bounds(text, start, end)
    head = text[s:start]
    before = list(cues.finditer(head))
    if before and not _SITE_OFFER.search(head, before[-1].end()):
        return True
    if cues.search(text, end, e) and not _SITE_OFFER.search(head):
        return True
    if s == 0 or _SITE_OFFER.search(head):
        return False
    ps, pe = sentence_bounds(text, max(0, s - 1), max(0, s - 1))
    previous = text[ps:s]
    if not cues.search(previous):
        return e - s <= LIST_ITEM_MAX and _listed_under_a_warning(text, s, cues)
    return previous.rstrip().endswith(":") or bool(about_paying and about_paying.search(previous))


LIST_ITEM_MAX = 60
LIST_MAX_ITEMS = 8


def _listed_under_a_warning(text: str, s: int, cues: re.Pattern) -> bool:
    """The short lines before text[s:] are items of a list whose lead-in warns ("Signs of a fake pharmacy:")."""
    for _ in range(LIST_MAX_ITEMS):
        if s == 0 or text[s - 1] != "\n":
            return False
        ps, _pe = sentence_bounds(text, s - 1, s - 1)
        line = text[ps:s].strip()
        if line.endswith(":"):
            return bool(cues.search(line)) and not _SITE_OFFER.search(line)
        if len(line) > LIST_ITEM_MAX or _SITE_OFFER.search(line):
            return False
        s = ps
    return False


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
    after = _after(text, start, end)
    return bool(_NEGATED_AFTER.search(after) or _NEGATED_AFTER_OTHER.search(after))


def refused(text: str, start: int, end: int) -> bool:
    """The site says it does not accept the thing at text[start:end] ("no credit cards are accepted"), or asks
    about it and answers no ("Can I pay with Bitcoin? No.")."""
    _, e = sentence_bounds(text, start, end)
    if text[e : e + 1] == "?" and _ANSWER_NO.search(text[e + 1 : e + 1 + ANSWER_REACH]):
        return True
    before = _before(text, start, end)
    cues = list(_REFUSAL.finditer(before))
    if cues and not _RESTART.search(before, cues[-1].end()):
        return True
    if _REFUSED_BEFORE_OTHER.search(before):
        return True
    after = _after(text, start, end)
    return bool(_NEGATED_AFTER.search(after) or _NEGATED_AFTER_OTHER.search(after))
