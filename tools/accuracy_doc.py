#!/usr/bin/env python3
"""Measure both dev evaluations and write the numbers into the docs that quote them.

Runs what `./scripts/evaluate` runs (the model's out-of-fold figures; the pages-dev texts replayed from a WARC
made by tools/pages_to_warc.py, by the rules alone and with out-of-fold second opinions, each split into the
tuning and held-out halves; the unseen pages of tests/realpages as shipped; the domain list replayed from an
empty archive) and rewrites the blocks between
`<!-- numbers:NAME -->` and `<!-- /numbers:NAME -->` in README.md, docs/accuracy.md and docs/evaluation.md, so
the quoted numbers always come from one run of the current rules:

    PHARMACHECK_SHARED=../shared python tools/accuracy_doc.py [--check]

`--check` writes nothing and exits 1 when a doc is out of date.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.evaluate import VERDICTS, Evaluation, evaluate, read_labels  # noqa: E402
from app.settings import Settings  # noqa: E402
from tools import domains_to_labels, pages_to_warc, train_model  # noqa: E402
from tools.pages_to_warc import DEFAULT_DATA  # noqa: E402

DOCS = [REPO / "README.md", REPO / "docs" / "accuracy.md", REPO / "docs" / "evaluation.md"]
SHOWN_VERDICTS = [v for v in VERDICTS if v != "error"]


def run_eval(labels: Path, archive: Path, **settings_changes) -> Evaluation:
    settings = Settings(replay_paths=(str(archive),), store_reports=False, **settings_changes)
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


def _half_line(name: str, h: dict) -> str:
    fa, caught = h["false_accusations"], h["rogue_caught"]
    return (f"| {name} | {h['domains']} sites, {h['sites']} pages | {_rate(fa['count'], fa['of'])} | "
            f"{_rate(caught['count'], caught['of'])} | {h['moved_by_second_opinion']} |")


def split_block(rules_only: dict, with_model: dict) -> str:
    lines = ["| dev sites | size | false accusations | rogue caught | moved by the second opinion |",
             "|---|---|---|---|---|"]
    for label, summary in (("rules alone", rules_only), ("rules + second opinion (out of fold)", with_model)):
        for half in ("tuning", "held-out"):
            lines.append(_half_line(f"{half} half, {label}", summary["halves"][half]))
    return f"Algorithm {rules_only['algorithm_version']} (`./scripts/evaluate`, steps 2 and 3):\n\n" + "\n".join(lines)


def cv_block(cv: dict) -> str:
    lines = [f"{cv['method'][0].upper()}{cv['method'][1:]}:", "",
             "| pages | AUC | log loss | Brier | right at p = 0.5 |", "|---|---|---|---|---|"]
    for key, name in (("all", "all dev pages"), ("tuning", "tuning half"), ("held-out", "held-out half")):
        m = cv[key]
        lines.append(f"| {name} ({m['pages']}, {m['rogue']} rogue) | {m['auc']} | {m['log_loss']} | {m['brier']} | "
                     f"{100 * m['accuracy_at_0.5']:.1f}% |")
    lines += ["", "Reliability (out-of-fold calibrated probability of a rogue seller):", "",
              "| predicted | pages | mean predicted | observed rogue |", "|---|---|---|---|"]
    for row in cv["reliability"]:
        lines.append(f"| {row['bin']} | {row['pages']} | {row['mean_predicted'] if row['mean_predicted'] is not None else '–'} | "
                     f"{row['observed_rogue'] if row['observed_rogue'] is not None else '–'} |")
    return "\n".join(lines)


def unseen_block(summary: dict) -> str:
    fa, caught, passed = summary["false_accusations"], summary["rogue_caught"], summary["rogue_passed"]
    so = summary["second_opinion"]
    moved = so["moved"]
    att = summary["attribution"]
    return (
        f"Algorithm {summary['algorithm_version']}, the product as shipped (`./scripts/evaluate`, step 4), "
        f"{summary['sites']} pages:\n\n{verdict_table(summary)}\n\n"
        f"- false accusations **{_rate(fa['count'], fa['of'])}**; rogue caught **{_rate(caught['count'], caught['of'])}**; "
        f"rogue passed {_rate(passed['count'], passed['of'])}\n"
        f"- the second opinion raised legit {moved['legit']['caution']} / rogue {moved['rogue']['caution']} pages to "
        f"`caution` and legit {moved['legit']['likely_rogue']} / rogue {moved['rogue']['likely_rogue']} to `likely_rogue`; "
        f"of the {att['caught']} rogue pages caught, {att['second_opinion_needed']} would not have been without it"
    )


def attribution_block(summary: dict) -> str:
    att = summary["attribution"]
    lines = [f"{att['caught']} rogue dev pages caught (rules + out-of-fold second opinion):", "",
             "| kind of evidence | caught with it | enough alone | not caught without it |", "|---|---|---|---|"]
    for kind, row in att["by_kind"].items():
        lines.append(f"| {kind} | {row['present']} | {row['alone']} | {row['needed']} |")
    lines.append(f"| second opinion | – | never alone | {att['second_opinion_needed']} |")
    return "\n".join(lines)


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
        real_warc, real_labels, _ = pages_to_warc.build(args.data, Path(tmp), REPO / "tests" / "realpages", "realpages")
        domain_labels, empty, _ = domains_to_labels.build(args.data, Path(tmp))
        examples = train_model.load_examples(
            [args.data / "pages-dev", args.data / "pages-html"], [args.data / "nabp" / "domains-dev.csv"],
            exclude=train_model.unseen_sites())
        cv, raw, probs = train_model.cv_report(examples, train_model.Params(), folds=10)
        opinions = Path(tmp) / "oof.jsonl"
        opinions.write_text("".join(json.dumps({"url": examples[i].url, "probability": p}) + "\n" for i, p in probs.items()))
        pages = run_eval(page_labels, warc, model_path="off").summary(show_misses=0)
        with_model = run_eval(page_labels, warc, opinions_path=str(opinions)).summary(show_misses=0)
        unseen = run_eval(real_labels, real_warc).summary(show_misses=0)
        domains = domain_measures(run_eval(domain_labels, empty))
    values = blocks(pages, domains)
    values.update({"split": split_block(pages, with_model), "model-cv": cv_block(cv), "unseen": unseen_block(unseen),
                   "attribution": attribution_block(with_model)})
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
