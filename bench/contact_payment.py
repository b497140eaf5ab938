"""How often each contact, pharmacist and payment outcome fires on labelled legitimate and rogue pages.

Reads the page texts in the shared data set (data/pages-dev: one extracted page text per file, labelled in
sources.csv), judges each as a one-page site, and prints a Markdown table of outcome -> legit / rogue counts,
plus every legitimate page whose verdict these checks make worse (they must never make one likely_rogue).

    python bench/contact_payment.py [--data /path/to/shared/data] [--show OUTCOME]

Exits 2 with a message when the data set is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.page import page_from_text  # noqa: E402
from app.pipeline import run_checks, site_from_pages  # noqa: E402
from app.rules import load_rules  # noqa: E402
from app.scoring import build_findings, score_findings  # noqa: E402

OWN_CHECKS = ("contact", "pharmacist", "payment")
# Page texts carry no fetch information (the scheme in sources.csv is the labeller's, not the site's), so the
# transport check is left out of these counts; it is covered by the fixture tests.
NOT_MEASURED = ("transport",)
DEFAULT_DATA = Path(os.environ.get("PHARMACHECK_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"


def load_pages(data: Path):
    pages_dir = data / "pages-dev"
    with open(pages_dir / "sources.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = (pages_dir / row["file"]).read_text(encoding="utf-8", errors="replace")
            yield row["file"], row["label"], row["url"], text


def evaluate(data: Path, show: str | None = None) -> dict:
    rules = load_rules()
    counts: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    worsened: list[str] = []
    moves: dict[str, Counter] = defaultdict(Counter)
    started = time.monotonic()
    for name, label, url, text in load_pages(data):
        totals[label] += 1
        site = site_from_pages(url, [page_from_text(text, url)])
        outcomes, _ = run_checks(rules, site)
        outcomes = [(c, o) for c, o in outcomes if c not in NOT_MEASURED]
        for check_id, outcome in outcomes:
            if check_id in OWN_CHECKS:
                key = f"{check_id}.{outcome.outcome}"
                counts[key][label] += 1
                if show and key == show:
                    print(f"{label:5} {name}: {[e.snippet[:120] for e in outcome.evidence[:2]]}")
        with_all = score_findings(rules, build_findings(rules, outcomes), fetched_anything=True).verdict
        others = [(c, o) for c, o in outcomes if c not in OWN_CHECKS]
        without = score_findings(rules, build_findings(rules, others), fetched_anything=True).verdict
        if with_all != without:
            moves[label][f"{without} -> {with_all}"] += 1
        if label == "legit" and with_all == "likely_rogue" and without != "likely_rogue":
            worsened.append(f"{name}: {without} -> {with_all}")
    return {"counts": counts, "totals": totals, "worsened": worsened, "moves": moves, "seconds": time.monotonic() - started}


def table(result: dict) -> str:
    rules = load_rules()
    totals = result["totals"]
    lines = [
        f"| outcome | severity | points | legit (of {totals['legit']}) | rogue (of {totals['rogue']}) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for check_id in (c for c in OWN_CHECKS if c in rules.data.checks):
        for name, rule in rules.data.checks[check_id].outcomes.items():
            key = f"{check_id}.{name}"
            c = result["counts"].get(key, Counter())
            lines.append(f"| {key} | {rule.severity} | {rule.points} | {c['legit']} | {c['rogue']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show", help="print the evidence of one outcome id, e.g. payment.red-flag-only")
    args = parser.parse_args(argv)
    if not (args.data / "pages-dev" / "sources.csv").exists():
        print(f"{args.data / 'pages-dev'} is not present; nothing to measure.", file=sys.stderr)
        return 2
    result = evaluate(args.data, args.show)
    print(table(result))
    print()
    for label in ("legit", "rogue"):
        moved = ", ".join(f"{k}: {v}" for k, v in sorted(result["moves"][label].items())) or "none"
        print(f"Verdicts these checks change on {label} pages: {moved}")
    print(f"Legitimate pages these checks push to likely_rogue: {len(result['worsened'])}")
    for line in result["worsened"]:
        print("  " + line)
    print(f"({sum(result['totals'].values())} pages in {result['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
