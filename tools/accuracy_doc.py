#!/usr/bin/env python3
"""Measure both dev evaluations and write the numbers into the docs that quote them.

Runs exactly what `./scripts/evaluate` runs (the pages-dev texts replayed from a WARC made by
tools/pages_to_warc.py; the domain list replayed from an empty archive) and rewrites the blocks between
`<!-- numbers:NAME -->` and `<!-- /numbers:NAME -->` in README.md, docs/accuracy.md and docs/evaluation.md, so
the quoted numbers always come from one run of the current rules:

    PHARMACHECK_SHARED=../shared python tools/accuracy_doc.py [--check]

`--check` writes nothing and exits 1 when a doc is out of date.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.evaluate import VERDICTS, Evaluation, evaluate, read_labels  # noqa: E402
from app.settings import Settings  # noqa: E402
from tools import domains_to_labels, pages_to_warc  # noqa: E402
from tools.pages_to_warc import DEFAULT_DATA  # noqa: E402

DOCS = [REPO / "README.md", REPO / "docs" / "accuracy.md", REPO / "docs" / "evaluation.md"]
SHOWN_VERDICTS = [v for v in VERDICTS if v != "error"]


def run_eval(labels: Path, archive: Path) -> Evaluation:
    settings = Settings(replay_paths=(str(archive),))
    return asyncio.run(evaluate(settings, read_labels(labels), concurrency=8))


def _rate(n: int, of: int, digits: int = 1) -> str:
    return f"{n:,} / {of:,} = {100 * n / of:.{digits}f}%" if of else f"{n:,} / 0"


def verdict_table(summary: dict) -> str:
    lines = ["| label | " + " | ".join(SHOWN_VERDICTS) + " |", "|---" * (len(SHOWN_VERDICTS) + 1) + "|"]
    for label in ("legit", "rogue"):
        counts = summary["verdicts"][label]
        lines.append(f"| {label} ({sum(counts.values())}) | " + " | ".join(str(counts[v]) for v in SHOWN_VERDICTS) + " |")
    return "\n".join(lines)


def domain_measures(evaluation: Evaluation) -> dict:
    def domain_flag(result) -> bool:
        return bool(result.report) and any(f.check == "domain" and f.points < 0 for f in result.report.findings)

    def tld(result) -> bool:
        return bool(result.report) and any(f.id == "accreditation.pharmacy-tld" for f in result.report.findings)

    legit, rogue = evaluation.by_label("legit"), evaluation.by_label("rogue")
    dot_pharmacy = [r for r in legit if r.url.rstrip("/").lower().endswith(".pharmacy")]
    return {
        "legit": len(legit), "rogue": len(rogue),
        "flag_legit": sum(map(domain_flag, legit)), "flag_rogue": sum(map(domain_flag, rogue)),
        "dot_pharmacy": len(dot_pharmacy), "tld_legit": sum(map(tld, dot_pharmacy)),
        "tld_rogue": sum(map(tld, rogue)),
        "rogue_likely_rogue": sum(r.verdict == "likely_rogue" for r in rogue),
        "false_accusations": sum(r.verdict == "likely_rogue" for r in legit),
    }


def blocks(pages: dict, domains: dict) -> dict[str, str]:
    version = pages["algorithm_version"]
    fa, caught, passed = pages["false_accusations"], pages["rogue_caught"], pages["rogue_passed"]
    roc = pages["roc_auc"]
    auc = roc["value"]
    flagged = pages["red_flagged"]
    pages_measures = (
        f"- false accusations (legit → `likely_rogue`): **{_rate(fa['count'], fa['of'])}** (target 0)\n"
        f"- rogue caught (rogue → `likely_rogue`): **{_rate(caught['count'], caught['of'])}** (target ≥ 60%)\n"
        f"- rogue passed (rogue → `likely_legitimate`): **{_rate(passed['count'], passed['of'])}** (target ≤ 5%)\n"
        f"- ROC AUC of the score **{auc}** over the {roc['legit_scored']} legit and {roc['rogue_scored']} rogue pages "
        f"with a score (`unknown` and `not_a_pharmacy` carry none: {roc['unscored_left_out']} left out)\n"
        f"- a finding that took points off on {flagged['legit']['count']} / "
        f"{flagged['legit']['of']} legit and {flagged['rogue']['count']} / {flagged['rogue']['of']} rogue pages"
    )
    d = domains
    domain_measures_text = (
        f"- domain-level red flag (a domain finding with negative points) on **{_rate(d['flag_rogue'], d['rogue'])}** "
        f"of rogue domains (target ≥ 30%) and on **{_rate(d['flag_legit'], d['legit'])}** of legit domains "
        f"(target ≤ 0.5%);\n"
        f"- false accusations **{d['false_accusations']} / {d['legit']:,}**; {d['rogue_likely_rogue']:,} rogue domains are "
        f"`likely_rogue` on the address alone (a critical finding such as a \"no prescription\" offer in it);\n"
        f"- `accreditation.pharmacy-tld` on **{d['tld_legit']} of {d['dot_pharmacy']}** legit `.pharmacy` domains "
        f"and on {d['tld_rogue']} rogue domains."
    )
    return {
        "readme-pages": (
            f"How the {pages['sites']} real dev pages (`../shared/data/pages-dev`: extracted text, no markup) come out "
            f"with algorithm {version}\n(`./scripts/evaluate`; the numbers are written here by "
            f"`tools/accuracy_doc.py`, details in [docs/accuracy.md](docs/accuracy.md)):\n\n"
            f"{verdict_table(pages)}\n\n"
            f"False accusations {fa['count']} / {fa['of']}; rogue caught {caught['count']} / {caught['of']} = "
            f"{100 * caught['rate']:.1f}%; rogue passed {passed['count']} / {passed['of']}."
        ),
        "pages": f"Algorithm {version}, `./scripts/evaluate`:\n\n{verdict_table(pages)}\n\n{pages_measures}",
        "domains": f"Algorithm {version}, {d['legit'] + d['rogue']:,} home pages replayed from an empty archive:\n\n"
                   f"{domain_measures_text}",
    }


_BLOCK = re.compile(r"(?P<open><!-- numbers:(?P<name>[\w-]+) -->\n)(?:.*?\n)??(?P<close><!-- /numbers:(?P=name) -->)", re.S)


def rewrite(text: str, values: dict[str, str]) -> str:
    def fill(m: re.Match) -> str:
        if m.group("name") not in values:
            return m.group(0)
        return m.group("open") + values[m.group("name")] + "\n" + m.group("close")

    return _BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--check", action="store_true", help="exit 1 when a doc is out of date; write nothing")
    args = parser.parse_args(argv)
    if not (args.data / "pages-dev" / "sources.csv").is_file():
        print(f"accuracy_doc: {args.data}/pages-dev not found (set PHARMACHECK_SHARED or give --data)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        warc, page_labels, _ = pages_to_warc.build(args.data, Path(tmp))
        domain_labels, empty, _ = domains_to_labels.build(args.data, Path(tmp))
        pages = run_eval(page_labels, warc).summary(show_misses=0)
        domains = domain_measures(run_eval(domain_labels, empty))
    values = blocks(pages, domains)
    stale = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, values)
        if new != text:
            stale.append(path.relative_to(REPO).as_posix())
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "rewritten"
    print(f"accuracy_doc: {', '.join(stale) or 'nothing'} {verb if stale else 'to change'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
