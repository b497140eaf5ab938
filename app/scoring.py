"""Turn check outcomes into findings, a score, a grade and a verdict, entirely from rules.yaml.

The method is published (GET /api/v1/rules and the README) and deterministic:
- score = baseline + the sum over categories of (category weight x the category's points, capped);
- positive points count only when no finding is of a severity listed in `bonus_blocked_by`, so a seal or a
  tidy contact page cannot buy back a "no prescription needed" offer;
- a critical finding forces `likely_rogue`; an outcome may force another verdict (`not_a_pharmacy`) unless
  findings listed in its `forces_verdict_unless` say otherwise;
- undetermined outcomes move nothing and lower coverage; too little coverage gives `unknown`; outcomes with
  `counts_for_coverage: false` (a valid certificate) move points but do not count as coverage;
- a serious finding with `can_accuse: false` (an invalid certificate) costs points and blocks bonuses, but is
  never the serious finding a `likely_rogue` verdict on a low score needs;
- `unknown` and `not_a_pharmacy` (scoring.unscored_verdicts) carry no score or grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from checks.base import Outcome

from .page import clean_evidence
from .report import AdviceOut, CategoryOut, EvidenceOut, FindingOut, LinkOut
from .rules import Rules

SEVERITY_ORDER = ["critical", "high", "medium", "low", "info", "positive"]


@dataclass
class Scored:
    verdict: str
    score: int | None
    grade: str | None
    summary: str
    verdict_rule: str
    verdict_reason: str
    coverage: float
    categories: list[CategoryOut]
    findings: list[FindingOut]
    advice: list[AdviceOut]


def _overlap(a: str, b: str) -> bool:
    """Two snippets are windows onto the same words: most of the shorter one is a run of the longer one."""
    a, b = (" ".join(x.strip("…").lower().split()) for x in (a, b))
    short = min(len(a), len(b))
    if not short:
        return a == b
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= 0.6 * short


def _distinct(evidence: list[EvidenceOut]) -> list[EvidenceOut]:
    """Evidence without repeats: two matches in one sentence quote overlapping windows of the same text."""
    kept: list[EvidenceOut] = []
    for item in evidence:
        if not any(k.url == item.url and _overlap(k.snippet, item.snippet) for k in kept):
            kept.append(item)
    return kept


def build_findings(rules: Rules, outcomes: list[tuple[str, Outcome]]) -> list[FindingOut]:
    findings = []
    for check_id, outcome in outcomes:
        rule = rules.outcome_rule(check_id, outcome.outcome)
        findings.append(
            FindingOut(
                id=f"{check_id}.{outcome.outcome}",
                check=check_id,
                category=rules.category_of(check_id, outcome.outcome),
                outcome=outcome.outcome,
                severity=rule.severity,
                points=rule.points if rule.determined else 0,
                counted_points=0,
                determined=rule.determined,
                title=rule.title,
                explanation=rule.explanation.strip(),
                advice=rule.advice.strip(),
                # Whatever a check quotes from a page is bounded and cleaned here, once, before any report sees it.
                evidence=_distinct([
                    EvidenceOut(url=clean_evidence(e.url, 2048), snippet=clean_evidence(e.snippet)) for e in outcome.evidence
                ]),
                verification_links=[LinkOut(label=l.label, url=l.url) for l in outcome.links],
            )
        )
    findings.sort(key=lambda f: (SEVERITY_ORDER.index(f.severity), f.id))
    return findings


def _grade(rules: Rules, score: int) -> str:
    for g in rules.data.scoring.grades:
        if score >= g.min_score:
            return g.grade
    return rules.data.scoring.grades[-1].grade


def _summary(rules: Rules, verdict: str, fetched_anything: bool) -> str:
    summaries = rules.data.summaries
    if verdict == "unknown" and not fetched_anything and "unknown_unreadable" in summaries:
        return summaries["unknown_unreadable"].strip()
    return summaries[verdict].strip()


def _force_cancelled(rule, forcing: FindingOut, findings: list[FindingOut]) -> bool:
    unless = rule.forces_verdict_unless
    if unless is None:
        return False
    return any(
        f is not forcing
        and f.id not in unless.except_outcomes
        and (f.severity in unless.severities or (f.determined and f.category in unless.categories))
        for f in findings
    )


def score_findings(rules: Rules, findings: list[FindingOut], *, fetched_anything: bool) -> Scored:
    scoring = rules.data.scoring
    blocked = any(f.severity in scoring.bonus_blocked_by for f in findings)
    forced = {
        rule.forces_verdict
        for f in findings
        if (rule := rules.outcome_rule(f.check, f.outcome)).forces_verdict and not _force_cancelled(rule, f, findings)
    }

    categories: list[CategoryOut] = []
    covered_categories = 0
    total = 0.0
    weight_all = 0.0
    weight_covered = 0.0
    for cat_id, cat in rules.data.categories.items():
        in_cat = [f for f in findings if f.category == cat_id and f.determined]
        penalty = sum(f.points for f in in_cat if f.points < 0)
        bonus = 0 if blocked else sum(f.points for f in in_cat if f.points > 0)
        capped_penalty = max(penalty, -cat.max_penalty)
        capped_bonus = min(bonus, cat.max_bonus)
        points = capped_penalty + capped_bonus
        # Spread the caps back over the findings so each finding reports what it really moved.
        for f in in_cat:
            if f.points < 0:
                f.counted_points = round(f.points * (capped_penalty / penalty)) if penalty else 0
            elif f.points > 0:
                f.counted_points = round(f.points * (capped_bonus / bonus)) if bonus else 0
        total += cat.weight * points
        evidence = [f for f in in_cat if rules.outcome_rule(f.check, f.outcome).counts_for_coverage]
        if cat.weight > 0:
            weight_all += cat.weight
            if evidence:
                weight_covered += cat.weight
                covered_categories += 1
        categories.append(
            CategoryOut(
                id=cat_id,
                title=cat.title,
                score=max(0, min(100, scoring.baseline + points)) if in_cat else None,
                weight=cat.weight,
                points=points,
                findings=len([f for f in findings if f.category == cat_id]),
            )
        )

    coverage = round(weight_covered / weight_all, 2) if weight_all else 0.0
    score = max(0, min(100, round(scoring.baseline + total)))
    thresholds = scoring.verdicts
    low = score <= thresholds.likely_rogue_max
    def accuses(f: FindingOut) -> bool:
        return f.points < 0 and f.severity in thresholds.likely_rogue_requires_severity and rules.outcome_rule(f.check, f.outcome).can_accuse

    serious = bool(thresholds.likely_rogue_requires_severity) and any(accuses(f) for f in findings)

    critical = [f for f in findings if f.severity == "critical"]
    serious_findings = [f for f in findings if accuses(f)]
    forcing = {
        verdict: [f for f in findings if (rule := rules.outcome_rule(f.check, f.outcome)).forces_verdict == verdict
                  and not _force_cancelled(rule, f, findings)]
        for verdict in forced
    }
    vouched = [f for f in findings if f.id in thresholds.rogue_needs_critical_when_any]
    verified = not thresholds.likely_legitimate_requires_any or any(
        f.id in thresholds.likely_legitimate_requires_any for f in findings
    )

    # A critical finding, or the user's own rogue list, stands even when no page could be read: a domain named
    # "no-prescription-pills" that is down today is still an illegal offer, and a listed site is still listed.
    deciding: list[FindingOut] = []
    if critical:
        verdict, verdict_rule, deciding = "likely_rogue", "critical-finding", critical
    elif "likely_rogue" in forced:
        verdict, verdict_rule, deciding = "likely_rogue", "forced-rogue", forcing["likely_rogue"]
    elif not fetched_anything:
        verdict, verdict_rule = "unknown", "nothing-read"
    elif "not_a_pharmacy" in forced:
        verdict, verdict_rule, deciding = "not_a_pharmacy", "forced-not-a-pharmacy", forcing["not_a_pharmacy"]
    elif "unknown" in forced:
        verdict, verdict_rule, deciding = "unknown", "forced-unknown", forcing["unknown"]
    # A serious red flag that brings the score this low is evidence enough on its own; the coverage minimum
    # below keeps thin evidence from passing as "caution" or "legitimate", not a domain named after Klonopin
    # from being called rogue.
    # A site that something checkable vouches for (NABP granted its .pharmacy name, a registry lists it) is not
    # accused on a serious sign short of critical: the sign is shown and the verdict stays at caution.
    elif low and serious and vouched:
        verdict, verdict_rule, deciding = "caution", "verified-with-serious-finding", vouched + serious_findings
    elif low and serious:
        verdict, verdict_rule, deciding = "likely_rogue", "low-score-with-serious-finding", serious_findings
    elif covered_categories < thresholds.min_categories_for_verdict:
        verdict, verdict_rule = "unknown", "too-few-areas"
    elif low and not thresholds.likely_rogue_requires_severity:
        verdict, verdict_rule = "likely_rogue", "low-score"
    elif score >= thresholds.likely_legitimate_min and "caution" in forced:
        verdict, verdict_rule, deciding = "caution", "high-score-forced-caution", forcing["caution"]
    elif score >= thresholds.likely_legitimate_min and verified:
        verdict, verdict_rule = "likely_legitimate", "verified-and-high-score"
        deciding = [f for f in findings if f.id in thresholds.likely_legitimate_requires_any]
    elif score >= thresholds.likely_legitimate_min:
        verdict, verdict_rule = "caution", "high-score-unverified"
    elif low:
        verdict, verdict_rule = "caution", "low-score-without-serious-finding"
    else:
        verdict, verdict_rule = "caution", "middle-score"
    verdict_reason = rules.data.verdict_reasons[verdict_rule].strip().format(
        score=score,
        likely_legitimate_min=thresholds.likely_legitimate_min,
        likely_rogue_max=thresholds.likely_rogue_max,
        min_areas=thresholds.min_categories_for_verdict,
        areas=covered_categories,
        deciding="; ".join(dict.fromkeys(f.title.rstrip(".") for f in deciding)),
    )

    scored_number = score if fetched_anything and verdict not in scoring.unscored_verdicts else None
    advice = consumer_advice(rules, verdict, findings)
    return Scored(
        verdict=verdict,
        score=scored_number,
        grade=_grade(rules, scored_number) if scored_number is not None else None,
        summary=_summary(rules, verdict, fetched_anything),
        verdict_rule=verdict_rule,
        verdict_reason=verdict_reason,
        coverage=coverage,
        categories=categories,
        findings=findings,
        advice=advice,
    )


def consumer_advice(rules: Rules, verdict: str, findings: list[FindingOut]) -> list[AdviceOut]:
    """The advice for this verdict and these findings, in the order rules.yaml lists it."""
    finding_ids = {f.id for f in findings}
    return [
        AdviceOut(id=a.id, text=a.text.strip())
        for a in rules.data.consumer_advice
        if (not a.verdicts or verdict in a.verdicts)
        and (not a.when_outcomes or finding_ids.intersection(a.when_outcomes))
    ]


def scoring_table(rules: Rules) -> dict:
    """The published scoring table: everything needed to recompute a score by hand."""
    data = rules.data
    return {
        "algorithm_version": data.algorithm_version,
        "method": __doc__.strip(),
        "scoring": data.scoring.model_dump(),
        "categories": {k: v.model_dump() for k, v in data.categories.items()},
        "outcomes": [
            {
                "id": f"{check_id}.{name}",
                "check": check_id,
                "category": rule.category or check.category,
                "severity": rule.severity,
                "points": rule.points,
                "determined": rule.determined,
                "forces_verdict": rule.forces_verdict,
                "can_accuse": rule.can_accuse,
                "title": rule.title,
                "explanation": rule.explanation.strip(),
            }
            for check_id, check in data.checks.items()
            for name, rule in check.outcomes.items()
        ],
    }
