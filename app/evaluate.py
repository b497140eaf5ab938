"""How often pharmacheck is right: run every check on a labelled list of sites and measure the answers.

A labels file is CSV with the columns `url,label`, label `legit` or `rogue`. The measures, per the product's
priorities (calling a legitimate pharmacy rogue hurts users and pharmacies most):

- false accusations: legit sites called `likely_rogue`;
- rogue caught: rogue sites called `likely_rogue`; rogue passed: rogue sites called `likely_legitimate`;
- red flags: sites with at least one finding that took points off;
- ROC AUC of the score (higher score = more legitimate), by the rank (Mann-Whitney) formula;
- every miss, with the findings that decided its verdict, so each one can be explained from its report.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .netpolicy import FetchError
from .report import Report
from .rules import Rules
from .service import open_checker
from .settings import Settings

LABELS = ("legit", "rogue")
VERDICTS = ("likely_legitimate", "caution", "likely_rogue", "not_a_pharmacy", "unknown", "error")
# Misses in the order they matter: the first two are errors, the last two are answers that were not confident.
MISS_KINDS = ("false_accusation", "rogue_passed", "rogue_not_caught", "legit_not_recognised")


class LabelsError(ValueError):
    """The labels file cannot be used; the message names the file, the line and what was wrong."""


@dataclass(frozen=True)
class LabelledSite:
    url: str
    label: str
    line: int


def read_labels(path: str | Path) -> list[LabelledSite]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LabelsError(f"{path}: not a UTF-8 text file") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "url" not in columns or "label" not in columns:
        raise LabelsError(f"{path}: expected a header row with the columns url,label (found {','.join(columns) or 'nothing'})")
    reader.fieldnames = columns
    sites: list[LabelledSite] = []
    seen: set[str] = set()
    for row in reader:
        url = (row.get("url") or "").strip()
        label = (row.get("label") or "").strip().lower()
        if not url and not label:
            continue
        if label not in LABELS:
            raise LabelsError(f"{path}, line {reader.line_num}: label must be legit or rogue, got {label!r}")
        if not url:
            raise LabelsError(f"{path}, line {reader.line_num}: the url is empty")
        if url in seen:  # a site counted twice would weigh twice in every measure
            continue
        seen.add(url)
        sites.append(LabelledSite(url, label, reader.line_num))
    if not sites:
        raise LabelsError(f"{path}: no labelled sites")
    return sites


def roc_auc(legit_scores: Sequence[float], rogue_scores: Sequence[float]) -> float | None:
    """P(a random legit site scores above a random rogue one), ties counting one half.

    The rank formula: pool both groups, give tied scores the mean of the ranks they span, then
    AUC = (sum of legit ranks - n_legit (n_legit + 1) / 2) / (n_legit n_rogue). None when either group is empty.
    """
    n_pos, n_neg = len(legit_scores), len(rogue_scores)
    if not n_pos or not n_neg:
        return None
    pooled = sorted([(s, True) for s in legit_scores] + [(s, False) for s in rogue_scores], key=lambda p: p[0])
    rank_sum = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        mid_rank = (i + j) / 2 + 1  # ranks are 1-based; a tie group spanning ranks i+1..j+1 shares their mean
        rank_sum += mid_rank * sum(1 for k in range(i, j + 1) if pooled[k][1])
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass
class SiteResult:
    url: str
    label: str
    verdict: str
    score: int | None
    report: Report | None = None
    error: str = ""


def miss_kind(label: str, verdict: str) -> str | None:
    if label == "legit":
        if verdict == "likely_rogue":
            return "false_accusation"
        return None if verdict == "likely_legitimate" else "legit_not_recognised"
    if verdict == "likely_legitimate":
        return "rogue_passed"
    return None if verdict == "likely_rogue" else "rogue_not_caught"


def deciding_findings(report: Report, rules: Rules, limit: int = 5) -> list[dict]:
    """The findings that made this verdict: forcing and critical ones first, then the biggest movers its way."""
    def forcing(f) -> bool:
        return f.severity == "critical" or bool(rules.outcome_rule(f.check, f.outcome).forces_verdict)

    against = sorted((f for f in report.findings if f.counted_points < 0), key=lambda f: f.counted_points)
    towards = sorted((f for f in report.findings if f.counted_points > 0), key=lambda f: -f.counted_points)
    if report.verdict == "likely_rogue":
        ordered = against
    elif report.verdict == "likely_legitimate":
        ordered = towards
    else:
        ordered = sorted(against + towards, key=lambda f: -abs(f.counted_points))
    chosen = [f for f in report.findings if forcing(f)] + [f for f in ordered if not forcing(f)]
    return [
        {
            "id": f.id,
            "severity": f.severity,
            "counted_points": f.counted_points,
            "evidence": " ".join(f.evidence[0].snippet.split()) if f.evidence else "",
        }
        for f in chosen[:limit]
    ]


@dataclass
class Evaluation:
    results: list[SiteResult]
    rules: Rules
    elapsed_s: float
    archives: tuple[str, ...] = ()
    finding_counts: dict[str, Counter] = field(default_factory=dict)

    def by_label(self, label: str) -> list[SiteResult]:
        return [r for r in self.results if r.label == label]

    def summary(self, show_misses: int = 25) -> dict:
        legit, rogue = self.by_label("legit"), self.by_label("rogue")

        def count(group: list[SiteResult], verdict: str) -> int:
            return sum(1 for r in group if r.verdict == verdict)

        def share(n: int, group: list) -> dict:
            return {"count": n, "of": len(group), "rate": round(n / len(group), 4) if group else None}

        def red_flagged(group: list[SiteResult]) -> int:
            return sum(1 for r in group if r.report and any(f.counted_points < 0 or f.severity == "critical" for f in r.report.findings))

        legit_scores = [r.score for r in legit if r.score is not None]
        rogue_scores = [r.score for r in rogue if r.score is not None]
        auc = roc_auc(legit_scores, rogue_scores)
        misses: dict[str, list] = {kind: [] for kind in MISS_KINDS}
        for r in self.results:
            kind = miss_kind(r.label, r.verdict)
            if kind:
                misses[kind].append(r)
        listed = {}
        for kind, items in misses.items():
            # The two real errors are always listed in full; the unconfident answers up to show_misses.
            cut = items if kind in ("false_accusation", "rogue_passed") else items[:show_misses]
            listed[kind] = {"count": len(items), "sites": [self._miss(r) for r in cut]}
        return {
            "algorithm_version": self.rules.algorithm_version,
            "sites": len(self.results),
            "archives": list(self.archives),
            "elapsed_s": round(self.elapsed_s, 2),
            "verdicts": {label: {v: count(self.by_label(label), v) for v in VERDICTS} for label in LABELS},
            "false_accusations": share(count(legit, "likely_rogue"), legit),
            "rogue_caught": share(count(rogue, "likely_rogue"), rogue),
            "rogue_passed": share(count(rogue, "likely_legitimate"), rogue),
            "red_flagged": {"legit": share(red_flagged(legit), legit), "rogue": share(red_flagged(rogue), rogue)},
            "roc_auc": {
                "value": round(auc, 4) if auc is not None else None,
                "legit_scored": len(legit_scores),
                "rogue_scored": len(rogue_scores),
                "unscored_left_out": len(legit) - len(legit_scores) + len(rogue) - len(rogue_scores),
                "method": "rank (Mann-Whitney) formula over sites with a score; tied scores share their mean rank "
                          "(a legit/rogue tie counts one half); sites without a score (verdict unknown or not "
                          "checked) are left out and counted here",
            },
            "rogue_caught_by": self._caught_by(rogue),
            "findings": {
                fid: {label: counts.get(label, 0) for label in LABELS}
                for fid, counts in sorted(self.finding_counts.items(), key=lambda kv: -sum(kv[1].values()))
            },
            "misses": listed,
        }

    def _caught_by(self, rogue: list[SiteResult]) -> dict:
        from .attribution import caught_by

        counts = {"list": 0, "graph": 0, "page": 0}
        for r in rogue:
            if r.report is not None:
                for kind in caught_by(r.report, self.rules):
                    counts[kind] += 1
        return {**counts, "of": len(rogue)}

    def _miss(self, r: SiteResult) -> dict:
        item = {"url": r.url, "label": r.label, "verdict": r.verdict, "score": r.score}
        if r.report is not None:
            item["findings"] = deciding_findings(r.report, self.rules)
            item["page_errors"] = sorted({e.code for e in r.report.errors})
        else:
            item["error"] = r.error
        return item


async def _prime(settings: Settings, sites: list[LabelledSite], concurrency: int) -> None:
    """Read every site once, recording its identity facts, so the measured pass sees each with all the others."""
    async with open_checker(settings) as checker:
        semaphore = asyncio.Semaphore(max(1, concurrency))

        async def one(url: str) -> None:
            async with semaphore:
                try:
                    await checker.check(url)
                except FetchError:
                    pass

        await asyncio.gather(*(one(s.url) for s in sites))


async def evaluate(settings: Settings, sites: list[LabelledSite], *, concurrency: int = 8, progress=None,
                   prime: bool = False) -> Evaluation:
    started = time.monotonic()
    if prime:
        await _prime(settings, sites, concurrency)
    results: list[SiteResult | None] = [None] * len(sites)
    finding_counts: dict[str, Counter] = {}
    async with open_checker(settings) as checker:
        queue: asyncio.Queue = asyncio.Queue()
        for i in range(len(sites)):
            queue.put_nowait(i)
        done = 0

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                i = queue.get_nowait()
                site = sites[i]
                try:
                    report = await checker.check(site.url)
                except FetchError as exc:  # refused or malformed URL: counted, never fatal
                    results[i] = SiteResult(site.url, site.label, "error", None, error=f"{exc.code}: {exc.message}")
                else:
                    results[i] = SiteResult(site.url, site.label, report.verdict, report.score, report)
                    for fid in {f.id for f in report.findings}:
                        finding_counts.setdefault(fid, Counter())[site.label] += 1
                done += 1
                if progress:
                    progress(done, len(sites))

        await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(sites))))))
        rules = checker.rules
    return Evaluation(
        results=[r for r in results if r is not None],
        rules=rules,
        elapsed_s=time.monotonic() - started,
        archives=tuple(settings.replay_paths),
        finding_counts=finding_counts,
    )


def _pct(part: dict) -> str:
    if not part["of"]:
        return "n/a (no sites)"
    return f"{part['count']} of {part['of']} ({100 * part['rate']:.1f}%)"


def render_summary(summary: dict, top_findings: int = 15) -> str:
    lines = [
        f"pharmacheck eval: {summary['sites']} sites, algorithm {summary['algorithm_version']}, "
        f"{summary['elapsed_s']:.1f} s" + (f", replayed from {', '.join(summary['archives'])}" if summary["archives"] else ""),
        "",
        "verdicts   " + "".join(f"{v:>18}" for v in VERDICTS),
    ]
    for label in LABELS:
        lines.append(f"  {label:<8} " + "".join(f"{summary['verdicts'][label][v]:>18}" for v in VERDICTS))
    auc = summary["roc_auc"]
    auc_text = "undefined (a label has no scored site)" if auc["value"] is None else f"{auc['value']:.3f}"
    lines += [
        "",
        f"false accusations (legit called likely_rogue): {_pct(summary['false_accusations'])}",
        f"rogue caught (rogue called likely_rogue):      {_pct(summary['rogue_caught'])}",
        f"rogue passed (rogue called likely_legitimate): {_pct(summary['rogue_passed'])}",
        f"red flag (a finding that took points off):     legit {_pct(summary['red_flagged']['legit'])}, "
        f"rogue {_pct(summary['red_flagged']['rogue'])}",
        "rogue caught by evidence kind:                 " + (
            f"list {summary['rogue_caught_by']['list']}, graph {summary['rogue_caught_by']['graph']}, "
            f"page {summary['rogue_caught_by']['page']} (of {summary['rogue_caught_by']['of']}; app/attribution.py)"
            if "rogue_caught_by" in summary else "n/a"),
        f"ROC AUC of the score (higher = more legit):    {auc_text} over {auc['legit_scored']} legit and "
        f"{auc['rogue_scored']} rogue scored sites; {auc['unscored_left_out']} unscored left out; ties count one half",
    ]
    if summary["findings"]:
        lines += ["", f"most frequent findings (sites per label, top {top_findings})"]
        for fid, counts in list(summary["findings"].items())[:top_findings]:
            lines.append(f"  {fid:<48} legit {counts['legit']:>6}   rogue {counts['rogue']:>6}")
    for kind in MISS_KINDS:
        block = summary["misses"][kind]
        if not block["count"]:
            continue
        shown = len(block["sites"])
        lines += ["", f"{kind.replace('_', ' ')}: {block['count']}" + (f" (first {shown} shown)" if shown < block["count"] else "")]
        for item in block["sites"]:
            score = "no score" if item["score"] is None else f"score {item['score']}"
            lines.append(f"  {item['url']}  [{item['label']} -> {item['verdict']}, {score}]")
            if "error" in item:
                lines.append(f"      {item['error']}")
                continue
            for f in item["findings"]:
                evidence = f" “{f['evidence'][:90]}”" if f["evidence"] else ""
                lines.append(f"      {f['counted_points']:+4d} {f['severity']:<8} {f['id']}{evidence}")
            if item["page_errors"]:
                lines.append(f"      page errors: {', '.join(item['page_errors'])}")
    return "\n".join(lines)
