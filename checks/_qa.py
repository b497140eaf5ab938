"""Questions and answers, read once per page for every check that reads policies.

A help page says what a site does in pairs: "Do you need my prescription?" "No. You can buy all our medicines
without a prescription." Neither half means anything alone: the question asserts nothing, and "No." asserts
nothing until it is read against the question. A question asks whether something holds ("Do I need a
prescription?": is one required) or whether its opposite holds ("Can I buy without a prescription?": is none
required); the answer says yes or no, or states it in its own words. The two polarities together say what the
site does: asked "need a prescription?" and answered "No", none is needed (an offer); answered "Yes", one is
required; asked "buy without a prescription?" and answered "No", one is required.

Pairs come from the markup where the page lays them out (schema.org FAQPage in JSON-LD or microdata, dt/dd,
details/summary, ARIA accordions, a heading and the text after it; see app/page.py), and from the text where it
does not (a sentence ending in a question mark and the sentences after it). Each pair is placed in the page's
text when it is shown there, so a check that finds a phrase can ask whether it stands in a question or in an
answer, and to which question.

Which words open an answer with yes or no, which words make a question an open one ("how", "warum") and which
negate a statement come from rules.yaml (`qa` in each check's config, one shared block), by language.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Annotated, Callable

from pydantic import StringConstraints

from app.page import Page
from app.rules import ConfigModel
from app.textmatch import PhraseSet

LanguageCode = Annotated[str, StringConstraints(pattern=r"^(?:[a-z]{2}|all)$")]
# Phrases by language ({en: [...], de: [...]}), "all" for words that are the same in every language (brand names);
# a plain list is read in every language.
Localised = list[str] | dict[LanguageCode, list[str]]

# What a page in one of these languages is read with, besides its own: English is the language of brand names,
# payment logos and the copied boilerplate found on sites in every language.
ALWAYS = ("all", "en")

_sets: dict[tuple[int, str], tuple[object, PhraseSet]] = {}


def phrases_for(value: Localised, language: str) -> tuple[str, ...]:
    """The phrases to read a page in `language` with: its own and English ones; every language's when the
    language is unknown or has no phrases of its own, so a page is never read with fewer words than before."""
    if isinstance(value, list):
        return tuple(value)
    if language and (language in value or language in ALWAYS):
        keys = list(dict.fromkeys([*ALWAYS, language]))
    else:
        keys = list(value)
    return tuple(p for key in keys for p in value.get(key, ()))


def local(value: Localised, language: str) -> PhraseSet:
    """`phrases_for` compiled once per list and language."""
    key = (id(value), language if not isinstance(value, list) else "")
    hit = _sets.get(key)
    if hit is None or hit[0] is not value:
        hit = _sets[key] = (value, PhraseSet(phrases_for(value, language)))
    return hit[1]


def languages_of(value: Localised) -> set[str]:
    return set() if isinstance(value, list) else set(value) - {"all"}


class QAConfig(ConfigModel):
    # Openings of an answer that say yes ("Yes", "Of course", "No problem", "Ja", "Bien sûr").
    yes: Localised
    # Openings that say no whatever follows ("Unfortunately", "Nein", "Helaas").
    no: Localised
    # Words that say no only standing alone, before a comma, a full stop or the end ("No." but not "No online
    # order is possible without one").
    bare_no: Localised
    # A question that starts with one of these asks for information ("How do I ...?"), not for yes or no.
    open_questions: Localised
    # How a question without a question mark starts (headings: "Do I need a prescription"); markup pairs only.
    question_openings: Localised
    # Words that turn a statement round ("not", "never", "nicht", "pas", "niet", "non", "nunca").
    negations: Localised
    # How many sentences of an answer are read for what it states when it does not open with yes or no.
    answer_sentences: int = 2


# A sentence ends at ., ! or ? followed by a space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?？])\s+|\n+")
_QUESTION_MARK = re.compile(r"[?？]\s*$")
ANSWER_REACH = 600
ANSWER_MAX_SENTENCES = 4


@dataclass
class Pair:
    question: str
    answer: str
    source: str  # the markup that laid it out (app.page.QAPair.source), or "text"
    start: int = -1  # where the question stands in the page text; -1 when it is not shown there (JSON-LD)
    question_end: int = -1
    answer_start: int = -1
    end: int = -1
    closed: bool = False  # asks for yes or no, not for information
    reply: int = 0  # +1: the answer opens with yes; -1: with no; 0: with neither
    lead: str = ""  # the first sentences of the answer, where it states what it says

    @property
    def text(self) -> str:
        return f"{self.question} {self.answer}".strip()

    @property
    def evidence(self) -> str:
        """The question and the start of its answer, as quoted in a report."""
        answer = self.answer if len(self.answer) <= 200 else self.answer[:199] + "…"
        return f"{self.question} {answer}".strip()


@dataclass
class Reading:
    pairs: list[Pair]

    def __post_init__(self) -> None:
        self.located = sorted((p for p in self.pairs if p.start >= 0), key=lambda p: p.start)
        self._offsets = [p.start for p in self.located]

    def at(self, offset: int) -> tuple[Pair, str] | None:
        """The pair whose question ("question") or answer ("answer") holds the page-text `offset`."""
        i = bisect_right(self._offsets, offset) - 1
        # Pairs can nest (a heading's text holds the accordion under it): the innermost one that holds the offset.
        for pair in reversed(self.located[max(0, i - 8) : i + 1]):
            if pair.start <= offset < pair.question_end:
                return pair, "question"
            if pair.answer_start <= offset < pair.end:
                return pair, "answer"
        return None

    def question_at(self, offset: int) -> Pair | None:
        hit = self.at(offset)
        return hit[0] if hit and hit[1] == "question" else None

    def answer_at(self, offset: int) -> Pair | None:
        hit = self.at(offset)
        return hit[0] if hit and hit[1] == "answer" else None


class _Vocabulary:
    def __init__(self, config: QAConfig, language: str):
        self.yes = _opening(phrases_for(config.yes, language), bare=False)
        self.no = _opening(phrases_for(config.no, language), bare=False)
        self.bare_no = _opening(phrases_for(config.bare_no, language), bare=True)
        self.open = _opening(phrases_for(config.open_questions, language), bare=False)
        self.openings = _opening(phrases_for(config.question_openings, language), bare=False)
        self.negations = local(config.negations, language)
        self.sentences = config.answer_sentences

    def reply(self, answer: str) -> int:
        # "Of course not" before "Of course", and "No problem" before a bare "No".
        if self.no is not None and self.no.match(answer):
            return -1
        if self.yes is not None and self.yes.match(answer):
            return 1
        if self.bare_no is not None and self.bare_no.match(answer):
            return -1
        return 0


def _opening(words: tuple[str, ...], *, bare: bool) -> re.Pattern | None:
    if not words:
        return None
    body = "|".join(
        r"\s+".join(re.escape(w).replace("'", "['’]") for w in word.split())
        for word in sorted(set(words), key=len, reverse=True)
    )
    # "¿", quotes and bullets may stand before the first word; a bare "No" must be followed by punctuation or end.
    after = r"(?=\s*(?:[.,!;:–—-]|$))" if bare else r"(?!\w)"
    return re.compile(rf"^[\W_]*(?:{body}){after}", re.IGNORECASE)


_vocabularies: dict[tuple[int, str], tuple[QAConfig, _Vocabulary]] = {}


def vocabulary(config: QAConfig, language: str) -> _Vocabulary:
    key = (id(config), language)
    hit = _vocabularies.get(key)
    if hit is None or hit[0] is not config:
        hit = _vocabularies[key] = (config, _Vocabulary(config, language))
    return hit[1]


def sentences_of(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def _lead(vocab: _Vocabulary, answer: str) -> str:
    spans = sentences_of(answer)[: vocab.sentences]
    return answer[spans[0][0] : spans[-1][1]] if spans else answer


class _Squashed:
    """The page text without whitespace, to find markup text in it whatever spaces the two put between words."""

    def __init__(self, text: str):
        self.tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
        self.starts: list[int] = []
        parts: list[str] = []
        pos = 0
        for _, token in self.tokens:
            self.starts.append(pos)
            parts.append(token.lower())
            pos += len(token)
        self.text = "".join(parts)

    def original(self, index: int) -> int:
        k = max(0, bisect_right(self.starts, index) - 1)
        if k >= len(self.tokens):
            return -1
        start, token = self.tokens[k]
        return start + min(index - self.starts[k], len(token))


def _squash(value: str) -> str:
    return "".join(value.split()).lower()


def _is_question(vocab: _Vocabulary, text: str, *, markup: bool) -> bool:
    text = text.strip()
    if _QUESTION_MARK.search(text) or text.startswith("¿"):
        return True
    # A heading, a term or an accordion label is often a question without its mark; "Do not buy..." is not one.
    if not markup or len(text.split()) > 20 or vocab.openings is None or not vocab.openings.match(text):
        return False
    return vocab.negations.search(" ".join(text.split()[:3])) is None


def _closed(vocab: _Vocabulary, question: str) -> bool:
    return vocab.open is None or not vocab.open.match(question.strip())


def read(page: Page, config: QAConfig) -> Reading:
    """The page's questions and answers (computed once per page and shared by every check)."""
    key = ("qa", id(config))
    cached = page.derived.get(key)
    if cached is not None and cached[0] is config:
        return cached[1]
    reading = _read(page, config)
    page.derived[key] = (config, reading)
    return reading


def _read(page: Page, config: QAConfig) -> Reading:
    vocab = vocabulary(config, page.language)
    text = page.text or ""
    pairs: list[Pair] = []
    squashed: _Squashed | None = None
    taken: list[tuple[int, int]] = []
    for qa in page.qa_pairs:
        declared = qa.source.startswith("faq-")
        if not declared and not _is_question(vocab, qa.question, markup=True):
            continue
        pair = Pair(qa.question, qa.answer, qa.source, closed=_closed(vocab, qa.question),
                    reply=vocab.reply(qa.answer), lead=_lead(vocab, qa.answer))
        if text:
            squashed = squashed or _Squashed(text)
            _place(pair, squashed, taken)
        pairs.append(pair)
    # Questions the markup does not pair: a question sentence and the sentences after it, up to the next question.
    spans = sentences_of(text)
    for i, (s, e) in enumerate(spans):
        sentence = text[s:e]
        if not _is_question(vocab, sentence, markup=False) or any(a <= s < b for a, b in taken):
            continue
        answer_spans = []
        for s2, e2 in spans[i + 1 : i + 1 + ANSWER_MAX_SENTENCES]:
            if _is_question(vocab, text[s2:e2], markup=False) or s2 - e > ANSWER_REACH:
                break
            answer_spans.append((s2, e2))
        if not answer_spans:
            continue
        a_start, a_end = answer_spans[0][0], answer_spans[-1][1]
        answer = text[a_start:a_end]
        pairs.append(Pair(sentence, answer, "text", s, e, a_start, a_end, closed=_closed(vocab, sentence),
                          reply=vocab.reply(answer), lead=_lead(vocab, answer)))
    return Reading(pairs)


def _place(pair: Pair, squashed: _Squashed, taken: list[tuple[int, int]]) -> None:
    """Find the pair's question and, right after it, its answer in the page text."""
    question, answer = _squash(pair.question), _squash(pair.answer)[:60]
    if not question:
        return
    at = squashed.text.find(question)
    while at != -1:
        q_end = at + len(question)
        a_at = squashed.text.find(answer, q_end, q_end + len(answer) + 400) if answer else -1
        if a_at != -1:
            pair.start = squashed.original(at)
            pair.question_end = squashed.original(q_end - 1) + 1
            pair.answer_start = squashed.original(a_at)
            pair.end = squashed.original(min(len(squashed.text), a_at + len(_squash(pair.answer))) - 1) + 1
            taken.append((pair.start, pair.question_end))
            return
        at = squashed.text.find(question, at + 1)


def negated_before(vocab: _Vocabulary, sentence: str, offset: int) -> bool:
    """A negation in the clause of `sentence` before `offset` ("You cannot buy it without a prescription")."""
    head = re.split(r"[,;:]\s|\s[–—-]\s", sentence[:offset])[-1]
    return vocab.negations.search(head) is not None


def verdict(pair: Pair, asks: Callable[[str], int], states: Callable[[str], int]) -> int:
    """What the pair says about a proposition P: +1 that it holds, -1 that it does not, 0 nothing.

    `asks(question)` is +1 when the question asks whether P holds, -1 when it asks whether not-P holds, 0 when it
    is not about P; `states(text)` the same for what a statement says. A yes or no answer is read against the
    question; an answer in its own words says what it states.
    """
    direction = asks(pair.question)
    if not direction or not pair.closed:
        return 0
    if pair.reply:
        return direction * pair.reply
    return states(pair.lead)
