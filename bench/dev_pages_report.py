"""How the real, labelled page texts in pages-dev come out: counts per label x verdict, and the misses.

Each page text is judged on its own, at its original URL, exactly as `pharmacheck` judges a site whose only
page is that text. Usage:

    .venv/bin/python bench/dev_pages_report.py [DATA_DIR] [--misses] [--rules rules.yaml]

DATA_DIR defaults to ../shared/data beside the project (or $PHARMACHECK_SHARED/data).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.page import page_from_text  # noqa: E402
from app.pipeline import judge_site, site_from_pages  # noqa: E402
from app.rules import load_rules  # noqa: E402

VERDICTS = ["likely_legitimate", "caution", "likely_rogue", "not_a_pharmacy", "unknown"]


def default_data_dir() -> Path:
    shared = Path(os.environ.get("PHARMACHECK_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
    return shared / "data"


def judge_dev_pages(data_dir: Path, rules) -> list[dict]:
    pages_dir = data_dir / "pages-dev"
    rows = []
    with (pages_dir / "sources.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = (pages_dir / row["file"]).read_text(encoding="utf-8", errors="replace")
            page = page_from_text(text, row["url"])
            report = judge_site(rules, site_from_pages(row["url"], [page]))
            rows.append({"file": row["file"], "label": row["label"], "url": row["url"], "report": report})
    return rows


def confusion(rows: list[dict]) -> dict[str, Counter]:
    table: dict[str, Counter] = {}
    for r in rows:
        table.setdefault(r["label"], Counter())[r["report"].verdict] += 1
    return table


def metrics(table: dict[str, Counter]) -> dict[str, str]:
    legit, rogue = table.get("legit", Counter()), table.get("rogue", Counter())
    n_l, n_r = sum(legit.values()) or 1, sum(rogue.values()) or 1
    return {
        "false accusations (legit -> likely_rogue)": f"{legit['likely_rogue']}/{sum(legit.values())}",
        "rogue caught (rogue -> likely_rogue)": f"{rogue['likely_rogue']}/{sum(rogue.values())} = {rogue['likely_rogue'] / n_r:.0%}",
        "rogue passed (rogue -> likely_legitimate)": f"{rogue['likely_legitimate']}/{sum(rogue.values())} = {rogue['likely_legitimate'] / n_r:.0%}",
        "legit called likely_legitimate": f"{legit['likely_legitimate']}/{sum(legit.values())} = {legit['likely_legitimate'] / n_l:.0%}",
    }


def markdown_table(table: dict[str, Counter]) -> str:
    lines = ["| label | " + " | ".join(VERDICTS) + " | total |", "|---" * (len(VERDICTS) + 2) + "|"]
    for label in sorted(table):
        counts = table[label]
        lines.append(f"| {label} | " + " | ".join(str(counts[v]) for v in VERDICTS) + f" | {sum(counts.values())} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--rules", default=None, help="rules file (default: the project's rules.yaml)")
    parser.add_argument("--misses", action="store_true", help="list every page not judged as its label suggests")
    args = parser.parse_args(argv)
    if not (args.data_dir / "pages-dev" / "sources.csv").exists():
        print(f"{args.data_dir}/pages-dev/sources.csv not found", file=sys.stderr)
        return 2
    rules = load_rules(args.rules)
    rows = judge_dev_pages(args.data_dir, rules)
    table = confusion(rows)
    print(markdown_table(table))
    print()
    for name, value in metrics(table).items():
        print(f"{name}: {value}")
    if args.misses:
        print()
        for r in rows:
            rep = r["report"]
            good = (r["label"] == "legit" and rep.verdict == "likely_legitimate") or (
                r["label"] == "rogue" and rep.verdict == "likely_rogue"
            )
            if good:
                continue
            decided = ", ".join(f"{f.id}({f.counted_points or f.points})" for f in rep.findings if f.points or f.severity == "critical")
            print(f"{r['label']:5} {rep.verdict:17} {rep.score!s:>4} {r['file']}\n      {decided}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
