"""The learned second opinion: a small linear model over what a site says, shown beside the rules' verdict.

The model reads three things about a site: the words of its pages (single words and two-word phrases), the words
of its links, and its address (character fragments of the registrable domain). Each is turned into a TF-IDF
vector (sublinear term frequency, scikit-learn's smoothed idf, L2 norm per part) and a logistic-regression
weight vector gives a raw score, which a Platt map (fitted on out-of-fold scores, see tools/train_model.py)
turns into a calibrated probability that the site is a rogue seller.

The model file is JSON (format `FORMAT`): the analyser settings, each part's vocabulary with its idf and weight,
the intercept and the calibration. Inference here is plain Python and needs no scikit-learn; training needs it.
The analysis functions below are the only ones: training calls them too, so what is learnt is what is read.

What the model may do is decided in rules.yaml (`second_opinion`), after the rules' verdict: it may raise
`unknown` to `caution` and `caution` to `likely_rogue`, only when a rule finding points the same way, never on
a site that outside evidence vouches for, and never towards `likely_legitimate`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

FORMAT = "pharmacheck-linear-text/1"
PARTS = ("text", "links", "domain")
# What is read per site, so that inference time stays bounded whatever the pages hold (about 3,000 words;
# a dev page is about 2,000 characters).
MAX_TEXT_CHARS = 20_000
MAX_LINKS = 200
MAX_LINK_CHARS = 4_000

_WORD = re.compile(r"[^\W\d_][\w'’-]*[\w]|[^\W\d_]", re.UNICODE)


class ModelError(ValueError):
    """The model file cannot be used; the message names the file and what was wrong."""


def _default_model_path() -> Path:
    """The project's model/second-opinion.json from a checkout, else the copy installed under <prefix>/share."""
    import sys

    beside_source = Path(__file__).resolve().parent.parent / "model" / "second-opinion.json"
    if beside_source.is_file():
        return beside_source
    installed = Path(sys.prefix) / "share" / "pharmacheck" / "model" / "second-opinion.json"
    return installed if installed.is_file() else beside_source


DEFAULT_MODEL_PATH = _default_model_path()


def normalise_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def word_terms(text: str, ngrams: int = 2, stop_words: frozenset[str] = frozenset()) -> list[str]:
    """Words (letters first, digits and inner hyphens or apostrophes allowed) and runs of up to `ngrams` of them.
    Stop words ("the", "you") and one-letter words are dropped first: they carry style, not evidence, and an
    explanation made of them would explain nothing."""
    words = [w for w in _WORD.findall(normalise_text(text)) if len(w) > 1 and w not in stop_words]
    terms = list(words)
    for n in range(2, ngrams + 1):
        terms.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return terms


def domain_terms(domain: str, low: int = 3, high: int = 5) -> list[str]:
    """Character fragments of the registrable domain, padded so that its start and end are fragments too
    ("^rx", "s.com$"), plus the public suffix itself ("tld:pharmacy")."""
    domain = normalise_text(domain).strip(".")
    if not domain:
        return []
    padded = f"^{domain}$"
    terms = [padded[i:i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]
    terms.append("tld:" + domain.rsplit(".", 1)[-1])
    return terms


@dataclass(frozen=True)
class SiteDocument:
    """What the model reads of one site."""

    text: str
    links: tuple[str, ...] = ()
    domain: str = ""

    @classmethod
    def from_pages(cls, pages: Sequence, domain: str) -> "SiteDocument":
        """From parsed pages (app.page.Page): titles and text in reading order, link texts, the domain."""
        text_parts: list[str] = []
        used = 0
        for page in pages:
            for part in (page.title, page.text):
                if part and used < MAX_TEXT_CHARS:
                    text_parts.append(part[: MAX_TEXT_CHARS - used])
                    used += len(text_parts[-1])
        links: list[str] = []
        used = 0
        for page in pages:
            for link in page.links:
                if len(links) >= MAX_LINKS or used >= MAX_LINK_CHARS:
                    break  # a page of 10,000 links costs no more than one of 200
                label = " ".join(link.text[:400].split())
                if label:
                    links.append(label[:200])
                    used += len(links[-1])
        return cls(text="\n".join(text_parts), links=tuple(links), domain=domain)

    def terms(self, spec: "AnalyserSpec") -> dict[str, list[str]]:
        return {
            "text": word_terms(self.text[:MAX_TEXT_CHARS], spec.word_ngrams, spec.stop_words),
            "links": word_terms("\n".join(self.links), 1, spec.stop_words),
            "domain": domain_terms(self.domain, spec.domain_chars[0], spec.domain_chars[1]),
        }


@dataclass(frozen=True)
class AnalyserSpec:
    word_ngrams: int = 2
    domain_chars: tuple[int, int] = (3, 5)
    stop_words: frozenset[str] = frozenset()

    def as_json(self) -> dict:
        return {"word_ngrams": self.word_ngrams, "domain_chars": list(self.domain_chars),
                "stop_words": sorted(self.stop_words)}

    @classmethod
    def from_json(cls, data: dict) -> "AnalyserSpec":
        return cls(word_ngrams=int(data["word_ngrams"]), domain_chars=tuple(int(x) for x in data["domain_chars"]),
                   stop_words=frozenset(str(w) for w in data.get("stop_words", ())))


@dataclass(frozen=True)
class Contribution:
    part: str
    term: str
    weight: float  # how far it moved the raw score: > 0 towards rogue, < 0 towards legitimate


@dataclass(frozen=True)
class Opinion:
    model_id: str
    probability: float  # calibrated P(rogue seller)
    raw_score: float
    towards_rogue: tuple[Contribution, ...]
    towards_legitimate: tuple[Contribution, ...]
    part_scores: dict[str, float] = field(default_factory=dict)


@dataclass
class _Part:
    vocabulary: dict[str, tuple[float, float]]  # term -> (idf, weight)
    block_weight: float = 1.0


class TextModel:
    """A loaded model file; `opinion(document)` is all the product needs."""

    def __init__(self, data: dict, source: str = "<memory>", file_bytes: bytes | None = None):
        self.source = source
        try:
            if data.get("format") != FORMAT:
                raise ModelError(f"{source}: not a {FORMAT} model file (format: {data.get('format')!r})")
            self.name = str(data["name"])
            self.trained = dict(data.get("trained", {}))
            self.spec = AnalyserSpec.from_json(data["analyser"])
            self.intercept = float(data["intercept"])
            calibration = data["calibration"]
            self.cal_slope, self.cal_intercept = float(calibration["slope"]), float(calibration["intercept"])
            self.parts: dict[str, _Part] = {}
            for name in PARTS:
                part = data["parts"][name]
                terms, idf, weights = part["terms"], part["idf"], part["weights"]
                if not len(terms) == len(idf) == len(weights):
                    raise ModelError(f"{source}: part {name!r} has {len(terms)} terms, {len(idf)} idf values and "
                                     f"{len(weights)} weights; they must be equal")
                self.parts[name] = _Part(
                    {t: (float(i), float(w)) for t, i, w in zip(terms, idf, weights)}, float(part.get("block_weight", 1.0))
                )
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed model file ({type(exc).__name__}: {exc})") from None
        # The id names this exact file: a retrained model is a new id, and so a new algorithm_version. A file is
        # hashed as it is; data in memory as tools/train_model.py writes it (canonical JSON and a newline), so
        # both give the same id for the same model.
        if file_bytes is None:
            file_bytes = (json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode()
        self.id = f"{self.name}-{hashlib.sha256(file_bytes).hexdigest()[:8]}"

    def vectorise(self, document: SiteDocument) -> dict[str, dict[str, float]]:
        """Each part's TF-IDF vector over the model's vocabulary: (1 + ln tf) x idf, L2-normalised, times the
        part's block weight (scikit-learn's TfidfVectorizer with sublinear_tf inside a weighted FeatureUnion)."""
        vectors: dict[str, dict[str, float]] = {}
        for name, terms in document.terms(self.spec).items():
            part = self.parts[name]
            counts: dict[str, int] = {}
            vocabulary = part.vocabulary
            for term in terms:
                if term in vocabulary:
                    counts[term] = counts.get(term, 0) + 1
            values = {t: (1.0 + math.log(c)) * vocabulary[t][0] for t, c in counts.items()}
            norm = math.sqrt(sum(v * v for v in values.values()))
            vectors[name] = {t: part.block_weight * v / norm for t, v in values.items()} if norm else {}
        return vectors

    def raw_score(self, document: SiteDocument) -> float:
        return self.intercept + sum(c.weight for c in self._contributions(self.vectorise(document)))

    def _contributions(self, vectors: dict[str, dict[str, float]]) -> list[Contribution]:
        return [
            Contribution(name, term, value * self.parts[name].vocabulary[term][1])
            for name, vector in vectors.items()
            for term, value in vector.items()
        ]

    def calibrate(self, raw: float) -> float:
        z = self.cal_slope * raw + self.cal_intercept
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def opinion(self, document: SiteDocument, top: int = 6) -> Opinion:
        contributions = self._contributions(self.vectorise(document))
        raw = self.intercept + sum(c.weight for c in contributions)
        part_scores = {name: round(sum(c.weight for c in contributions if c.part == name), 4) for name in PARTS}
        # The address's overlapping fragments ("canad", "anada", "nadad") explain nothing one by one: together
        # they are one feature, the address, named by the fragments that moved it most.
        fragments = sorted((c for c in contributions if c.part == "domain"), key=lambda c: -abs(c.weight))
        ranked = [c for c in contributions if c.part != "domain"]
        if fragments:
            total = sum(c.weight for c in fragments)
            same_way = [c.term for c in fragments if (c.weight > 0) == (total > 0)][:3]
            ranked.append(Contribution("domain", document.domain + "|" + ",".join(same_way), total))
        ranked.sort(key=lambda c: -abs(c.weight))
        return Opinion(
            model_id=self.id,
            probability=self.calibrate(raw),
            raw_score=raw,
            towards_rogue=tuple(c for c in ranked if c.weight > 0)[:top],
            towards_legitimate=tuple(c for c in ranked if c.weight < 0)[:top],
            part_scores=part_scores,
        )

    def describe(self) -> dict:
        return {
            "id": self.id,
            "format": FORMAT,
            "trained": self.trained,
            "terms": {name: len(part.vocabulary) for name, part in self.parts.items()},
        }


def load_model(path: str | os.PathLike | None = None) -> TextModel:
    """The model file, read once per process (a model is never changed in place: a service, a batch and a test
    suite that make many checkers share one), and read again when the file itself changes."""
    model_path = Path(path or DEFAULT_MODEL_PATH)
    try:
        stat = model_path.stat()
    except OSError as exc:
        raise ModelError(f"{model_path}: cannot read model file: {exc.strerror or exc}") from None
    return _load_model(str(model_path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_model(path: str, _mtime_ns: int, _size: int) -> TextModel:
    try:
        raw = Path(path).read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a JSON model file ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object at the top level")
    return TextModel(data, path, file_bytes=raw)


def explain_term(part: str, term: str) -> str:
    """How a feature reads in a report: a quoted word or phrase, a link's word, a piece of the address."""
    if part == "text":
        return f"“{term}” in the pages"
    if part == "links":
        return f"“{term}” in link text"
    domain, _, fragments = term.partition("|")
    pieces = []
    for fragment in fragments.split(",") if fragments else ():
        if fragment.startswith("tld:"):
            pieces.append(f"the ending .{fragment[4:]}")
        else:
            pieces.append(f"“{fragment.strip('^$')}”")
    return f"the address {domain}" + (f" (most of all {', '.join(pieces)})" if pieces else "")


def top_terms(contributions: Iterable[Contribution]) -> list[str]:
    return [explain_term(c.part, c.term) for c in contributions]


# ----------------------------------------------------------------------------------------------------------------
# Where opinions come from: the model file, or (for measuring the pipeline without the model having seen the
# page) a table of out-of-fold opinions written by tools/train_model.py.

class ModelOpinions:
    """The product's source of opinions: the loaded model, read over the pages of the site."""

    def __init__(self, model: TextModel):
        self.model = model
        self.id = model.id

    def opinion_for(self, site, top: int = 6) -> Opinion | None:
        if not site.pages:
            return None
        return self.model.opinion(SiteDocument.from_pages(site.pages, site.domain), top=top)


class OpinionTable:
    """Opinions given in advance, by URL (JSON lines `{"url", "probability", "raw_score"}`): each page's
    out-of-fold probability, so an evaluation never uses a model trained on the page it judges."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ModelError(f"{path}: cannot read opinions file: {exc.strerror or exc}") from None
        self.id = "oof-" + hashlib.sha256(raw).hexdigest()[:8]
        self.by_url: dict[str, Opinion] = {}
        for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                probability, score = float(row["probability"]), float(row.get("raw_score", 0.0))
                url = str(row["url"])
            except (ValueError, KeyError, TypeError):
                raise ModelError(f"{path}, line {number}: expected a JSON object with url and probability") from None
            if not 0.0 <= probability <= 1.0:
                raise ModelError(f"{path}, line {number}: probability must be between 0 and 1, got {probability}")
            self.by_url[url] = Opinion(self.id, probability, score, (), ())

    def opinion_for(self, site, top: int = 6) -> Opinion | None:
        if not site.pages:
            return None
        return self.by_url.get(site.requested_url) or self.by_url.get(site.final_url)


def open_opinions(settings) -> ModelOpinions | OpinionTable | None:
    """The opinion source the settings ask for: a table of opinions, the model file, or none ("off")."""
    if settings.opinions_path:
        return OpinionTable(settings.opinions_path)
    if (settings.model_path or "").lower() in ("off", "none", "0", "false"):
        return None
    return ModelOpinions(load_model(settings.model_path or None))


# ----------------------------------------------------------------------------------------------------------------
# The step after the verdict rules.

def _percent(p: float) -> str:
    return f"{100 * p:.0f}%"


def apply_second_opinion(rules, scored, findings, opinion: Opinion | None, *, fetched_anything: bool = True):
    """The rules' verdict, made more careful where the model and a rule finding agree: (Scored, SecondOpinionOut)."""
    from dataclasses import replace

    from .report import ModelFeatureOut, SecondOpinionOut
    from .scoring import consumer_advice

    config = rules.data.second_opinion
    if opinion is None or not config.enabled:
        return scored, None
    verdict = scored.verdict
    probability = opinion.probability
    vouching = [f for f in findings if f.id in config.never_when_any]

    def backing(severities: list[str]) -> list:
        return [f for f in findings if f.determined and f.points < 0 and f.severity in severities]

    def titles(items) -> str:
        return "; ".join(dict.fromkeys(f.title.rstrip(".") for f in items))

    if verdict == "unknown" and scored.verdict_rule in config.raises_caution_from:
        target, needed, severities = "caution", config.caution_min_probability, config.caution_needs_severity
    elif verdict == "caution" and scored.verdict_rule in config.raises_rogue_from:
        target, needed, severities = "likely_rogue", config.rogue_min_probability, config.rogue_needs_severity
    else:
        target, needed, severities = None, None, []
    backed = backing(severities) if target else []
    fields = {"probability": _percent(probability), "needed": _percent(needed) if needed else "",
              "verdict": verdict.replace("_", " "), "verdict_before": verdict.replace("_", " "),
              "deciding": titles(vouching or backed)}
    applied = False
    if target is None:
        note_key = "not_movable"
    elif vouching:
        note_key = "vouched"
    elif probability < needed:
        note_key = "below_threshold"
    elif not backed:
        note_key = "no_rule_finding"
    else:
        applied, note_key = True, "applied"
    shown = config.shown_features
    moved_by = [explain_term(c.part, c.term) for c in opinion.towards_rogue[:3]]
    if applied:
        rule_id = "model-raised-caution" if target == "caution" else "model-raised-rogue"
        reason = rules.data.verdict_reasons[rule_id].strip().format(
            score=scored.score if scored.score is not None else "not given",
            likely_legitimate_min=rules.data.scoring.verdicts.likely_legitimate_min,
            likely_rogue_max=rules.data.scoring.verdicts.likely_rogue_max,
            min_areas=rules.data.scoring.verdicts.min_categories_for_verdict, areas="",
            deciding=titles(backed), probability=_percent(probability), verdict_before=fields["verdict_before"],
            moved_by=", ".join(moved_by) or "the site's words as a whole",
        )
        fields["verdict"] = target.replace("_", " ")
        scored = replace(
            scored, verdict=target, verdict_rule=rule_id, verdict_reason=reason,
            summary=rules.data.summaries[target].strip(), advice=consumer_advice(rules, target, findings),
        )
    out = SecondOpinionOut(
        model=opinion.model_id,
        probability=round(probability, 4),
        applied=applied,
        verdict_before=verdict if applied else None,
        note=config.notes[note_key].strip().format(**fields),
        towards_rogue=[ModelFeatureOut(part=c.part, term=c.term, label=explain_term(c.part, c.term), weight=round(c.weight, 4))
                       for c in opinion.towards_rogue[:shown]],
        towards_legitimate=[ModelFeatureOut(part=c.part, term=c.term, label=explain_term(c.part, c.term),
                                            weight=round(c.weight, 4)) for c in opinion.towards_legitimate[:shown]],
    )
    return scored, out


def published_second_opinion(rules, opinions) -> dict:
    """What GET /api/v1/rules says of the second opinion: its rules, and the model file they apply to."""
    section = rules.data.second_opinion.model_dump()
    if isinstance(opinions, ModelOpinions):
        section["model"] = opinions.model.describe()
    elif opinions is not None:
        section["model"] = {"id": opinions.id, "opinions_file": getattr(opinions, "path", "")}
    else:
        section["model"] = None
    return section
