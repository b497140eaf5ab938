"""Write docs/scoring.md: the published scoring table, generated from rules.yaml so it can never drift.

Every outcome gets the same fixed sections (severity and points, what it means, what to do, the fixture that
shows it), the way a linter documents its rules. `tests/test_scoring_doc.py` fails when the committed file is
out of date; regenerate with `python tools/scoring_doc.py`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.rules import Rules, load_rules  # noqa: E402
from checks import ALL_CHECKS  # noqa: E402

DOC_PATH = ROOT / "docs" / "scoring.md"
FIXTURES = ROOT / "tests" / "fixtures"


def fixtures_for(outcome: str, check_id: str | None = None) -> list[str]:
    """Fixtures named after the outcome: in the check's own folder when it has one (two checks may share an
    outcome name), else anywhere."""
    def named(paths) -> list[str]:
        return [p.relative_to(ROOT).as_posix() for p in sorted(paths)
                if p.is_file() and (p.stem == outcome or p.stem.startswith(outcome + "--"))]

    if check_id and (FIXTURES / check_id).is_dir():
        return named((FIXTURES / check_id).rglob("*"))
    return named(FIXTURES.rglob("*"))


def render(rules: Rules) -> str:
    data = rules.data
    s = data.scoring
    out: list[str] = []
    w = out.append
    w("# The scoring table")
    w("")
    w(f"Algorithm version **{data.algorithm_version}**. Generated from `rules.yaml` by `tools/scoring_doc.py`; the same")
    w("table is served as JSON by `GET /api/v1/rules` and printed by `pharmacheck rules`. How the pieces combine is")
    w("explained in the README (\"How the score is built\").")
    w("")
    w("## Method")
    w("")
    w(f"- Baseline: **{s.baseline}**. Score = baseline + Σ category weight × capped category points, clamped to 0–100.")
    w(f"- Positive points are not counted when any finding is {', '.join(s.bonus_blocked_by)}.")
    v = s.verdicts
    w(f"- `likely_rogue`: any critical finding, an outcome that forces it, or score ≤ {v.likely_rogue_max} with a"
      f" finding of severity {', '.join(v.likely_rogue_requires_severity) or 'any'}.")
    backing = ", ".join(f"`{x}`" for x in v.likely_legitimate_requires_any) or "nothing further"
    w(f"- `likely_legitimate`: score ≥ {v.likely_legitimate_min} and one of {backing}.")
    w(f"- `unknown`: nothing could be read (and no critical finding), or fewer than {v.min_categories_for_verdict}"
      " categories with a determined finding.")
    w("- Grades: " + ", ".join(f"{g.grade} ≥ {g.min_score}" for g in s.grades) + ".")
    so = data.second_opinion
    if so.enabled:
        w(f"- Second opinion (after all of the above; `second_opinion` in rules.yaml, the model in"
          f" `model/second-opinion.json`): `unknown` from {', '.join(f'`{r}`' for r in so.raises_caution_from)}"
          f" becomes `caution` when the model's calibrated probability of a rogue seller is ≥"
          f" {so.caution_min_probability:g} and a finding of severity {', '.join(so.caution_needs_severity)} took"
          f" points off; `caution` from {', '.join(f'`{r}`' for r in so.raises_rogue_from)} becomes `likely_rogue`"
          f" at ≥ {so.rogue_min_probability:g} with a finding of severity {', '.join(so.rogue_needs_severity)}"
          f" that took points off. Never with {', '.join(f'`{x}`' for x in so.never_when_any) or 'no exception'};"
          " never towards `likely_legitimate`. Reports then carry `algorithm_version` = this version + `+` + the"
          " model file's id.")
    w("")
    w("## Categories")
    w("")
    w("| category | title | weight | max penalty | max bonus |")
    w("|---|---|---|---|---|")
    for cid, cat in data.categories.items():
        w(f"| `{cid}` | {cat.title} | {cat.weight:g} | {cat.max_penalty} | {cat.max_bonus} |")
    w("")
    w("## Outcomes")
    for check in ALL_CHECKS:
        section = data.checks[check.id]
        w("")
        w(f"### {section.title} (`{check.id}`, category `{section.category}`)")
        for name in check.outcomes:
            rule = section.outcomes[name]
            w("")
            w(f"#### `{check.id}.{name}`: {rule.title}")
            w("")
            points = f"{rule.points:+d} points" if rule.determined else "no points (undetermined: lowers coverage)"
            extra = f"; forces `{rule.forces_verdict}`" if rule.forces_verdict else ""
            unless = rule.forces_verdict_unless
            if rule.forces_verdict and unless:
                parts = [f"a {'/'.join(unless.severities)} finding"] if unless.severities else []
                parts += [f"a determined finding in `{c}`" for c in unless.categories]
                extra += " unless there is " + " or ".join(parts)
                if unless.except_outcomes:
                    extra += " (other than " + ", ".join(f"`{o}`" for o in unless.except_outcomes) + ")"
            category = f"; category `{rule.category}`" if rule.category else ""
            if rule.determined and not rule.counts_for_coverage:
                category += "; does not count as coverage"
            if not rule.can_accuse:
                category += "; never on its own the serious finding a `likely_rogue` verdict needs"
            w(f"- **Severity**: {rule.severity}; {points}{extra}{category}")
            w(f"- **What it means**: {' '.join(rule.explanation.split())}")
            if rule.advice.strip():
                w(f"- **What to do**: {' '.join(rule.advice.split())}")
            fixtures = fixtures_for(name, check.id)
            if fixtures:
                w("- **Fixture**: " + ", ".join(f"`{f}`" for f in fixtures))
            else:
                w("- **Fixture**: none: this outcome depends on a live exchange (a registry look-up, a certificate, a"
                  " redirect) and is exercised against loopback servers in the tests")
    w("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/scoring.md is out of date")
    args = parser.parse_args(argv)
    text = render(load_rules())
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print("docs/scoring.md is out of date: run python tools/scoring_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
