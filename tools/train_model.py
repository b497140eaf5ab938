#!/usr/bin/env python3
"""Train, compare and cross-validate the second-opinion model (app/second_opinion.py) on labelled data given by path.

    python tools/train_model.py train   --pages ../shared/data/pages-dev --pages ../shared/data/pages-html \
                                        --domains ../shared/data/nabp/domains-dev.csv [--out model/second-opinion.json]
    python tools/train_model.py cv      (same data options) [--folds 0] [--json FILE] [--opinions FILE]
    python tools/train_model.py compare (same data options)

A page folder holds `sources.csv` (`file,label` and `url`, or a `source` text naming the URL) beside the page
files: `.txt` (extracted text, read the way ./scripts/evaluate serves it: one paragraph per line) or `.html`.
A domain file is CSV `domain,label`: each domain is an example with an address and no page.

Every figure is out of fold with the folds grouped by site (registrable domain): a page, and its domain's line
in a domain list, are never in the training data of the model that judges it. The default is
10 folds of page sites; `--folds 0` is leave-one-site-out. The domain examples of other sites stay in every
fold's training data.
`cv --opinions FILE` writes each page's out-of-fold probability, so `pharmacheck eval --opinions FILE` can
measure the whole pipeline without the model ever having seen the page it judges.

The sites of the unseen test set (tests/realpages) are left out of all training data, domain lists included.

Needs scikit-learn (`pip install -e .[train]`); the product reads the JSON it writes without it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.domains import registrable_domain  # noqa: E402
from app.evaluate import frozen_half  # noqa: E402
from app.page import parse_page  # noqa: E402
from app.second_opinion import FORMAT, PARTS, AnalyserSpec, SiteDocument, TextModel  # noqa: E402
from tools.pages_to_warc import DEFAULT_DATA, page_html  # noqa: E402

DEFAULT_OUT = REPO / "model" / "second-opinion.json"
_URL = re.compile(r"https?://[^\s\"')]+")


@dataclass
class Example:
    document: SiteDocument
    label: int  # 1 rogue, 0 legit
    group: str  # registrable domain: the unit of every split
    source: str
    url: str = ""
    is_page: bool = True




def _row_url(row: dict, file: str) -> str:
    if (row.get("url") or "").strip():
        return row["url"].strip()
    found = _URL.search(row.get("source") or "")
    if found:
        return found.group(0).rstrip(".,;")
    parts = file.split("__")
    if len(parts) >= 2 and "." in parts[1]:
        return f"https://www.{parts[1]}/" if parts[1].count(".") == 1 else f"https://{parts[1]}/"
    raise SystemExit(f"train_model: {file}: no url column, no URL in its source, and no domain in its file name")


def read_page_folder(folder: Path) -> list[Example]:
    sources = folder / "sources.csv"
    if not sources.is_file():
        raise SystemExit(f"train_model: {sources} not found (a page folder holds sources.csv beside its pages)")
    examples = []
    with open(sources, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            file, label = row["file"].strip(), row["label"].strip().lower()
            if label not in ("legit", "rogue"):
                raise SystemExit(f"train_model: {sources}: {file}: label must be legit or rogue, got {label!r}")
            url = _row_url(row, file)
            raw = (folder / file).read_bytes()
            html = page_html(raw.decode("utf-8")) if file.endswith(".txt") else raw
            page = parse_page(html, url)
            domain = registrable_domain(url)
            examples.append(Example(SiteDocument.from_pages([page], domain), int(label == "rogue"), domain,
                                    folder.name, url))
    return examples


def read_domain_file(path: Path) -> list[Example]:
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            domain, label = (row.get("domain") or "").strip().lower().rstrip("."), (row.get("label") or "").strip().lower()
            if domain and label in ("legit", "rogue"):
                reg = registrable_domain(domain) or domain
                examples.append(Example(SiteDocument("", (), reg), int(label == "rogue"), reg, path.name, is_page=False))
    return examples


UNSEEN = REPO / "tests" / "realpages"


def unseen_sites(folder: Path = UNSEEN) -> set[str]:
    """The sites of the unseen test set: never in any training data, not even as a line of a domain list."""
    sources = folder / "sources.csv"
    if not sources.is_file():
        return set()
    with open(sources, encoding="utf-8", newline="") as handle:
        return {registrable_domain(row["url"]) for row in csv.DictReader(handle) if row.get("url")}


def load_examples(pages: list[Path], domains: list[Path], exclude: set[str] = frozenset()) -> list[Example]:
    examples: list[Example] = []
    for folder in pages:
        examples += read_page_folder(folder)
    for path in domains:
        examples += read_domain_file(path)
    examples = [e for e in examples if e.group not in exclude]
    if not any(e.is_page for e in examples):
        raise SystemExit("train_model: no labelled pages (give --pages)")
    return examples


# ----------------------------------------------------------------------------------------------------------------
# The text model: a weighted union of one TF-IDF vectoriser per part, then logistic regression.

@dataclass(frozen=True)
class Params:
    C: float = 4.0
    domain_examples_weight: float = 0.25  # all domain-only examples together weigh this much of the pages' total
    block_weights: tuple[float, float, float] = (1.0, 0.5, 0.6)  # text, links, domain
    min_df: tuple[int, int, int] = (2, 2, 3)
    max_terms: tuple[int, int, int] = (12000, 3000, 8000)
    word_ngrams: int = 2
    use_domains: bool = True
    # The domain list is 97% rogue: every legitimate domain is kept, and at most this many rogue ones (a fixed,
    # hash-ordered choice), which keeps a fit to about a second without losing what addresses teach.
    max_rogue_domains: int = 4000

    stop_words: bool = True

    @property
    def spec(self) -> AnalyserSpec:
        if not self.stop_words:
            return AnalyserSpec(word_ngrams=self.word_ngrams)
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return AnalyserSpec(word_ngrams=self.word_ngrams, stop_words=frozenset(ENGLISH_STOP_WORDS))


def _sk():
    try:
        import numpy as np
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise SystemExit("train_model: needs scikit-learn; install it with: pip install -e '.[train]'") from None
    return np, sparse, TfidfVectorizer, LogisticRegression


def _identity(terms):
    return terms


def _kept_domains(examples: list[Example], params: Params) -> set[int]:
    rogue = [i for i, e in enumerate(examples) if not e.is_page and e.label == 1]
    rogue.sort(key=lambda i: hashlib.sha256(("keep:" + examples[i].group).encode()).hexdigest())
    return {i for i, e in enumerate(examples) if not e.is_page and e.label == 0} | set(rogue[:params.max_rogue_domains])


class Fitted:
    """One trained text model (scikit-learn objects), exportable to the JSON the product reads."""

    def __init__(self, params: Params, examples: list[Example], terms: list[dict]):
        np, sparse, TfidfVectorizer, LogisticRegression = _sk()
        self.params = params
        kept = _kept_domains(examples, params) if params.use_domains else set()
        use = [i for i, e in enumerate(examples) if e.is_page or i in kept]
        self.vectorisers = {}
        blocks = []
        for k, part in enumerate(PARTS):
            docs = [terms[i][part] for i in use]
            # A part no training example has (no page with links) still gets a vectoriser with no terms.
            vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=params.min_df[k],
                                  max_features=params.max_terms[k], norm="l2", smooth_idf=True, lowercase=False)
            try:
                blocks.append(vec.fit_transform(docs) * params.block_weights[k])
            except ValueError:  # empty vocabulary
                vec = None
                blocks.append(sparse.csr_matrix((len(use), 0)))
            self.vectorisers[part] = vec
        X = sparse.hstack(blocks).tocsr()
        y = np.array([examples[i].label for i in use])
        pages = [examples[i].is_page for i in use]
        n_pages, n_domains = sum(pages), len(use) - sum(pages)
        weight_domain = params.domain_examples_weight * n_pages / n_domains if n_domains else 0.0
        sample_weight = np.array([1.0 if p else weight_domain for p in pages])
        # Pages and bare addresses have different base rates; a constant "this example has page text" feature
        # gives each its own intercept. It is 1 for every real check, so it folds into the exported intercept.
        has_text = sparse.csr_matrix(np.array(pages, dtype=float).reshape(-1, 1))
        X = sparse.hstack([X, has_text]).tocsr()
        self.clf = LogisticRegression(C=params.C, max_iter=2000, solver="liblinear")
        self.clf.fit(X, y, sample_weight=sample_weight)

    def raw_scores(self, terms: list[dict]):
        np, sparse, _, _ = _sk()
        blocks = []
        for k, part in enumerate(PARTS):
            vec = self.vectorisers[part]
            docs = [t[part] for t in terms]
            blocks.append(vec.transform(docs) * self.params.block_weights[k] if vec else sparse.csr_matrix((len(terms), 0)))
        X = sparse.hstack(blocks + [sparse.csr_matrix(np.ones((len(terms), 1)))]).tocsr()
        return self.clf.decision_function(X)

    def export(self, calibration: tuple[float, float], trained: dict) -> dict:
        coef = self.clf.coef_[0]
        parts = {}
        offset = 0
        for k, part in enumerate(PARTS):
            vec = self.vectorisers[part]
            if vec is None:
                parts[part] = {"block_weight": self.params.block_weights[k], "terms": [], "idf": [], "weights": []}
                continue
            vocab = sorted(vec.vocabulary_.items(), key=lambda kv: kv[0])
            parts[part] = {
                "block_weight": self.params.block_weights[k],
                "terms": [t for t, _ in vocab],
                "idf": [round(float(vec.idf_[i]), 5) for _, i in vocab],
                "weights": [round(float(coef[offset + i]), 6) for _, i in vocab],
            }
            offset += len(vec.vocabulary_)
        has_text_weight = float(coef[offset])
        return {
            "format": FORMAT,
            "name": "text-lr",
            "trained": trained,
            "analyser": self.params.spec.as_json(),
            "intercept": round(float(self.clf.intercept_[0]) + has_text_weight, 6),
            "calibration": {"slope": round(calibration[0], 6), "intercept": round(calibration[1], 6),
                            "method": "Platt scaling of the raw score, fitted on out-of-fold scores of the pages"},
            "parts": parts,
        }


def all_terms(examples: list[Example], spec: AnalyserSpec) -> list[dict]:
    return [e.document.terms(spec) for e in examples]


def platt(scores, labels) -> tuple[float, float]:
    """Slope and intercept of a one-feature logistic regression (Platt scaling), barely regularised."""
    np, _, _, LogisticRegression = _sk()
    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(np.asarray(scores, dtype=float).reshape(-1, 1), np.asarray(labels))
    return float(lr.coef_[0][0]), float(lr.intercept_[0])


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def site_folds(examples: list[Example], folds: int) -> list[set[str]]:
    """Groups of page sites held out together: one site each (folds=0), or `folds` groups of sites."""
    sites = sorted({e.group for e in examples if e.is_page})
    if folds <= 0 or folds >= len(sites):
        return [{s} for s in sites]
    ordered = sorted(sites, key=lambda s: hashlib.sha256(("fold:" + s).encode()).hexdigest())
    return [set(ordered[i::folds]) for i in range(folds)]


def out_of_fold(examples: list[Example], terms: list[dict], params: Params, folds: int) -> dict[int, float]:
    """Raw score of every page example from a model trained without its site (and its domain's list entry)."""
    scores: dict[int, float] = {}
    for held in site_folds(examples, folds):
        train = [i for i, e in enumerate(examples) if e.group not in held]
        test = [i for i, e in enumerate(examples) if e.group in held and e.is_page]
        model = Fitted(params, [examples[i] for i in train], [terms[i] for i in train])
        for i, s in zip(test, model.raw_scores([terms[i] for i in test])):
            scores[i] = float(s)
    return scores


def cross_fitted_probabilities(examples: list[Example], raw: dict[int, float]) -> dict[int, float]:
    """Calibrated probabilities that are out of fold too: each site's Platt map is fitted without that site."""
    by_site: dict[str, list[int]] = {}
    for i in raw:
        by_site.setdefault(examples[i].group, []).append(i)
    probs = {}
    for site, members in by_site.items():
        rest = [i for i in raw if examples[i].group != site]
        a, b = platt([raw[i] for i in rest], [examples[i].label for i in rest])
        for i in members:
            probs[i] = _sigmoid(a * raw[i] + b)
    return probs


# ----------------------------------------------------------------------------------------------------------------
# Measures

def auc(pairs: list[tuple[float, int]]) -> float | None:
    """P(random rogue scores above random legit), ties one half."""
    pos = [s for s, y in pairs if y == 1]
    neg = [s for s, y in pairs if y == 0]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def measures(pairs: list[tuple[float, int]]) -> dict:
    eps = 1e-6
    n = len(pairs)
    if not n:
        return {"pages": 0}
    logloss = -sum(y * math.log(max(p, eps)) + (1 - y) * math.log(max(1 - p, eps)) for p, y in pairs) / n
    brier = sum((p - y) ** 2 for p, y in pairs) / n
    value = auc(pairs)
    return {
        "pages": n, "rogue": sum(y for _, y in pairs),
        "auc": None if value is None else round(value, 4),
        "log_loss": round(logloss, 4), "brier": round(brier, 4),
        "accuracy_at_0.5": round(sum((p >= 0.5) == bool(y) for p, y in pairs) / n, 4),
    }


def reliability(pairs: list[tuple[float, int]], bins: int = 5) -> list[dict]:
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [(p, y) for p, y in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        rows.append({
            "bin": f"{lo:.1f}–{hi:.1f}", "pages": len(members),
            "mean_predicted": round(sum(p for p, _ in members) / len(members), 3) if members else None,
            "observed_rogue": round(sum(y for _, y in members) / len(members), 3) if members else None,
        })
    return rows


def cv_report(examples: list[Example], params: Params, folds: int) -> tuple[dict, dict[int, float], dict[int, float]]:
    started = time.process_time()
    terms = all_terms(examples, params.spec)
    raw = out_of_fold(examples, terms, params, folds)
    probs = cross_fitted_probabilities(examples, raw)
    pairs = {i: (probs[i], examples[i].label) for i in probs}
    halves = {half: [pairs[i] for i in pairs if frozen_half(examples[i].group) == half] for half in ("tuning", "held-out")}
    n_sites = len({examples[i].group for i in pairs})
    report = {
        "method": ("leave-one-site-out" if folds <= 0 else f"{folds}-fold by site") +
                  f" over {n_sites} page sites; probabilities calibrated out of fold too (each site's Platt map "
                  "fitted without it)",
        "all": measures(list(pairs.values())),
        "tuning": measures(halves["tuning"]),
        "held-out": measures(halves["held-out"]),
        "reliability": reliability(list(pairs.values())),
        "cpu_s": round(time.process_time() - started, 1),
    }
    return report, raw, probs


# ----------------------------------------------------------------------------------------------------------------
# The other candidate: gradient boosting (and a linear model) over the rules' findings.

def finding_matrix(examples: list[Example]):
    from app.pipeline import judge_site, site_from_pages
    from app.rules import load_rules

    rules = load_rules()
    rows = []
    for e in examples:
        page = parse_page(page_html(e.document.text), e.url)
        report = judge_site(rules, site_from_pages(e.url, [page]))
        rows.append({f.id for f in report.findings})
    ids = sorted({fid for row in rows for fid in row})
    np, _, _, _ = _sk()
    return np.array([[1.0 if fid in row else 0.0 for fid in ids] for row in rows]), ids


def compare(examples: list[Example], folds: int, emit=lambda row: None) -> list[dict]:
    """Every candidate, measured the same way (out of fold, grouped by site, on the pages); `emit` sees each row."""
    np, _, _, LogisticRegression = _sk()
    from sklearn.ensemble import HistGradientBoostingClassifier

    results = []
    candidates = [
        ("text-lr: page words + link words + address fragments, with the domain list", Params()),
        ("text-lr: the same, pages only (no domain list)", Params(use_domains=False)),
        ("text-lr: page words only (no address)", Params(block_weights=(1.0, 0.5, 0.0))),
        ("text-lr: single words, no phrases", Params(word_ngrams=1)),
        ("text-lr: stop words kept", Params(stop_words=False)),
        ("text-lr: C=1 (stronger regularisation)", Params(C=1.0)),
        ("text-lr: C=16 (weaker regularisation)", Params(C=16.0)),
    ]
    for name, params in candidates:
        report, _, _ = cv_report(examples, params, folds)
        results.append({"model": name, **{k: report[k] for k in ("all", "tuning", "held-out", "cpu_s")}})
        emit(results[-1])

    pages = [e for e in examples if e.is_page]
    X, _ = finding_matrix(pages)
    y = np.array([e.label for e in pages])
    for name, make in [
        ("gradient boosting over the rules' findings", lambda: HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_depth=3, min_samples_leaf=5)),
        ("logistic regression over the rules' findings", lambda: LogisticRegression(C=1.0, max_iter=2000)),
    ]:
        started = time.process_time()
        raw: dict[int, float] = {}
        for held in site_folds(pages, folds):
            train = [i for i, e in enumerate(pages) if e.group not in held]
            test = [i for i, e in enumerate(pages) if e.group in held]
            if len(set(y[train])) < 2:
                continue
            clf = make().fit(X[train], y[train])
            p = clf.predict_proba(X[test])[:, 1]
            for i, v in zip(test, p):
                raw[i] = math.log(max(v, 1e-6) / max(1 - v, 1e-6))
        probs = cross_fitted_probabilities(pages, raw)
        pairs = {i: (probs[i], pages[i].label) for i in probs}
        halves = {h: [pairs[i] for i in pairs if frozen_half(pages[i].group) == h] for h in ("tuning", "held-out")}
        results.append({"model": name, "all": measures(list(pairs.values())), "tuning": measures(halves["tuning"]),
                        "held-out": measures(halves["held-out"]), "cpu_s": round(time.process_time() - started, 1)})
        emit(results[-1])
    return results


# ----------------------------------------------------------------------------------------------------------------

def train(examples: list[Example], params: Params, folds: int, sources: list[str]) -> tuple[dict, dict]:
    started = time.process_time()
    terms = all_terms(examples, params.spec)
    # The calibration map comes from out-of-fold scores: a model's scores on its own training pages are overconfident.
    raw = out_of_fold(examples, terms, params, folds)
    a, b = platt([raw[i] for i in raw], [examples[i].label for i in raw])
    model = Fitted(params, examples, terms)
    pages = [e for e in examples if e.is_page]
    trained = {
        "data": sources,
        "pages": len(pages), "page_sites": len({e.group for e in pages}),
        "rogue_pages": sum(e.label for e in pages),
        "domain_examples": sum(not e.is_page for e in examples),
        "params": {"C": params.C, "domain_examples_weight": params.domain_examples_weight,
                   "block_weights": list(params.block_weights), "min_df": list(params.min_df),
                   "max_terms": list(params.max_terms)},
        "calibrated_on": f"out-of-fold scores of {len(raw)} pages ({'leave-one-site-out' if folds <= 0 else f'{folds}-fold by site'})",
    }
    data = model.export((a, b), trained)
    # What the product computes from the file must be what scikit-learn computed.
    check = TextModel(data)
    sample = [e for e in examples if e.is_page][:10]
    sk_scores = model.raw_scores([e.document.terms(params.spec) for e in sample])
    for e, s in zip(sample, sk_scores):
        mine = check.raw_score(e.document)
        if abs(mine - s) > 1e-3:
            raise SystemExit(f"train_model: exported model disagrees with scikit-learn on {e.url}: {mine} vs {s}")
    timing = {"cpu_s": round(time.process_time() - started, 1)}
    return data, timing


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pages", action="append", type=Path, default=[], metavar="DIR",
                   help=f"labelled page folder (repeatable; default {DEFAULT_DATA}/pages-dev and pages-html)")
    p.add_argument("--domains", action="append", type=Path, default=[], metavar="CSV",
                   help=f"labelled domain list (repeatable; default {DEFAULT_DATA}/nabp/domains-dev.csv)")
    p.add_argument("--no-domains", action="store_true", help="use no domain list")
    p.add_argument("--folds", type=int, default=10, help="folds by site (default 10); 0 = leave one site out")


def _resolve_data(args) -> tuple[list[Path], list[Path]]:
    pages = args.pages or [DEFAULT_DATA / "pages-dev", DEFAULT_DATA / "pages-html"]
    domains = [] if args.no_domains else (args.domains or [DEFAULT_DATA / "nabp" / "domains-dev.csv"])
    for path in [*pages, *domains]:
        if not path.exists():
            raise SystemExit(f"train_model: {path} not found (set PHARMACHECK_SHARED or give --pages/--domains)")
    return pages, domains


def _describe_sources(pages: list[Path], domains: list[Path]) -> list[str]:
    def name(p: Path) -> str:
        return f"{p.parent.name}/{p.name}"

    return [name(p) for p in pages] + [name(p) for p in domains]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train on all the data and write the model file")
    _data_args(p_train)
    p_train.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p_cv = sub.add_parser("cv", help="out-of-fold figures (by site) for the model as it is trained")
    _data_args(p_cv)
    p_cv.add_argument("--json", type=Path, help="also write the figures as JSON here")
    p_cv.add_argument("--opinions", type=Path, help="write each page's out-of-fold probability here (JSON lines)")
    p_cmp = sub.add_parser("compare", help="compare the candidate models the same way")
    _data_args(p_cmp)
    args = parser.parse_args(argv)
    pages, domains = _resolve_data(args)
    examples = load_examples(pages, domains, exclude=unseen_sites())
    params = Params(use_domains=bool(domains))

    if args.command == "train":
        started = time.monotonic()
        data, timing = train(examples, params, args.folds, _describe_sources(pages, domains))
        data["trained"]["unseen_sites_left_out"] = len(unseen_sites())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n",
                            encoding="utf-8")
        model = TextModel(data)
        print(f"train_model: {model.id} -> {args.out} ({args.out.stat().st_size / 1024:.0f} KiB; "
              f"{', '.join(f'{k} {v}' for k, v in model.describe()['terms'].items())} terms); "
              f"{time.monotonic() - started:.1f} s wall, {timing['cpu_s']} s CPU")
        return 0
    if args.command == "compare":
        compare(examples, args.folds, emit=lambda row: print(json.dumps(row), flush=True))
        return 0
    report, raw, probs = cv_report(examples, params, args.folds)
    print(render_cv(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.opinions:
        with open(args.opinions, "w", encoding="utf-8") as handle:
            for i, p in sorted(probs.items()):
                handle.write(json.dumps({"url": examples[i].url, "probability": round(p, 6),
                                         "raw_score": round(raw[i], 6), "site": examples[i].group}) + "\n")
    return 0


def render_cv(report: dict) -> str:
    lines = [f"second-opinion model, {report['method']} ({report['cpu_s']} s CPU)"]
    for key in ("all", "tuning", "held-out"):
        m = report[key]
        if not m.get("pages"):
            continue
        lines.append(f"  {key:<9} {m['pages']:>3} pages ({m['rogue']} rogue): AUC {m['auc']}, log loss {m['log_loss']}, "
                     f"Brier {m['brier']}, right at p=0.5 {100 * m['accuracy_at_0.5']:.1f}%")
    lines.append("  reliability (out-of-fold calibrated probability of rogue):")
    for row in report["reliability"]:
        observed = "-" if row["observed_rogue"] is None else f"{row['observed_rogue']:.2f}"
        predicted = "-" if row["mean_predicted"] is None else f"{row['mean_predicted']:.2f}"
        lines.append(f"    {row['bin']}: {row['pages']:>3} pages, mean predicted {predicted}, observed rogue {observed}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
