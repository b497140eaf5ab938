"""Load and validate `rules.yaml`: every phrase, weight, severity, cap and consumer-facing sentence.

The file is validated with pydantic when it is loaded, so a typo is reported with the file, the path inside it
and what was expected, instead of surfacing later as a wrong score. Each check declares its own `Config` model
and its outcome ids; the loader validates the check's section against them, so `app/` never needs to know what
a particular check reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Severity = Literal["critical", "high", "medium", "low", "info", "positive"]
Verdict = Literal["likely_legitimate", "caution", "likely_rogue", "not_a_pharmacy", "unknown"]
# `unknown` has two summaries: the site was read but said too little (`unknown`), or nothing could be read.
SummaryKey = Literal["likely_legitimate", "caution", "likely_rogue", "not_a_pharmacy", "unknown", "unknown_unreadable"]
# The rules of the verdict, in the order they are tried (README, "How the score is built"); every report names
# the one that decided it, so a verdict can be traced to its rule and its findings.
VerdictRuleId = Literal[
    "critical-finding",
    "forced-rogue",
    "nothing-read",
    "forced-not-a-pharmacy",
    "forced-unknown",
    "verified-with-serious-finding",
    "low-score-with-serious-finding",
    "too-few-areas",
    "low-score",
    "verified-and-high-score",
    "high-score-unverified",
    "high-score-forced-caution",
    "low-score-without-serious-finding",
    "middle-score",
    # Tried after all of the above: the learned second opinion (`second_opinion` below, app/second_opinion.py).
    "model-raised-caution",
    "model-raised-rogue",
]
VERDICT_REASON_FIELDS = ("score", "likely_legitimate_min", "likely_rogue_max", "min_areas", "areas", "deciding")
# The second opinion's own reasons may also say how likely the model finds a rogue seller, and what moved it.
MODEL_VERDICT_RULES = ("model-raised-caution", "model-raised-rogue")
MODEL_REASON_FIELDS = VERDICT_REASON_FIELDS + ("probability", "verdict_before", "moved_by")
# Where a finding's evidence comes from: what the site says of itself (page), its address, certificate and
# registration (domain), a reputation list (list), a register's own answer (registry), facts it shares with
# other sites (graph).
EvidenceKind = Literal["page", "domain", "list", "registry", "graph"]
EVIDENCE_KINDS = EvidenceKind.__args__
SECOND_OPINION_NOTE_FIELDS = ("probability", "needed", "verdict", "verdict_before", "deciding")

def _default_rules_path() -> Path:
    """The project's rules.yaml when run from a checkout, else the copy installed under <prefix>/share."""
    import sys

    beside_source = Path(__file__).resolve().parent.parent / "rules.yaml"
    if beside_source.is_file():
        return beside_source
    installed = Path(sys.prefix) / "share" / "pharmacheck" / "rules.yaml"
    return installed if installed.is_file() else beside_source


DEFAULT_RULES_PATH = _default_rules_path()


class RulesError(Exception):
    """rules.yaml could not be used; the message names the file, the path inside it and what was expected."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ForcesUnless(Strict):
    """Findings that cancel an outcome's forced verdict: any finding of these severities, or any determined
    finding in these categories."""

    severities: list[Severity] = []
    categories: list[str] = []
    # Findings that do not cancel it although they are in one of `categories` ("prescriptions are mentioned").
    except_outcomes: list[str] = []


class OutcomeRule(Strict):
    severity: Severity
    points: int = Field(default=0, ge=-100, le=100)
    title: str
    explanation: str
    advice: str = ""
    # An undetermined outcome (page missing, fetch failed) moves no points and does not count as coverage.
    determined: bool = True
    forces_verdict: Verdict | None = None
    # False for what every HTTPS site shows (a valid certificate): it moves points but is no evidence about the
    # pharmacy, so it does not make a category count towards coverage and min_categories_for_verdict.
    counts_for_coverage: bool = True
    # False for a serious sign of poor upkeep rather than of illegal selling (a certificate that fails): it is
    # shown, costs points and blocks bonuses, but is never the serious finding that makes a site likely rogue.
    can_accuse: bool = True
    # A site that "sells no medicines" but carries a serious finding or a prescription finding does sell them.
    forces_verdict_unless: ForcesUnless | None = None
    category: str | None = None

    @model_validator(mode="after")
    def _points_match_severity(self) -> "OutcomeRule":
        # A "positive" that costs points, or a red flag that earns them, is a sign slip, not a scoring choice.
        if self.severity == "positive" and self.points < 0:
            raise ValueError(f"a positive outcome cannot take points off (points: {self.points})")
        if self.severity in ("critical", "high", "medium", "low") and self.points > 0:
            raise ValueError(f"a {self.severity} outcome cannot add points (points: {self.points})")
        return self


class CategoryRule(Strict):
    title: str
    weight: float = Field(default=1.0, ge=0, le=10)
    # Caps bound how far one category can move the score, so a pile of small findings in one area cannot
    # outweigh everything else.
    max_penalty: int = Field(default=100, ge=0, le=100)
    max_bonus: int = Field(default=100, ge=0, le=100)


class GradeRule(Strict):
    grade: str = Field(min_length=1)
    min_score: int = Field(ge=0, le=100)


class VerdictThresholds(Strict):
    likely_legitimate_min: int = Field(ge=0, le=100)
    likely_rogue_max: int = Field(ge=0, le=100)
    min_categories_for_verdict: int = Field(default=2, ge=0)
    # Words can be copied; when this lists finding ids, `likely_legitimate` also needs one of them (evidence
    # that can be verified, such as a .pharmacy domain or a registry link naming the site).
    likely_legitimate_requires_any: list[str] = []
    # Evidence no site can produce about itself (NABP's .pharmacy grant, a registry's own answer, the user's list):
    # with one of these, a serious sign short of critical leaves the verdict at caution instead of likely_rogue.
    rogue_needs_critical_when_any: list[str] = []
    # When set, a low score alone gives `likely_rogue` only if some finding has one of these severities, so a
    # pile of small gaps (no HTTPS, no contact page in what was read) reads as caution, not as an accusation.
    likely_rogue_requires_severity: list[Severity] = []

    @model_validator(mode="after")
    def _legitimate_above_rogue(self) -> "VerdictThresholds":
        if self.likely_legitimate_min <= self.likely_rogue_max:
            raise ValueError(
                f"likely_legitimate_min ({self.likely_legitimate_min}) must be above likely_rogue_max "
                f"({self.likely_rogue_max})"
            )
        return self


class ScoringRule(Strict):
    baseline: int = Field(default=50, ge=0, le=100)
    bonus_blocked_by: list[Severity] = ["critical", "high"]
    # Verdicts reported without a score or grade: a number would claim a judgement that was not made.
    unscored_verdicts: list[Verdict] = []
    verdicts: VerdictThresholds
    grades: list[GradeRule]

    @model_validator(mode="after")
    def _grades_descending(self) -> "ScoringRule":
        if not self.grades:
            raise ValueError("grades: expected at least one grade")
        mins = [g.min_score for g in self.grades]
        if mins != sorted(set(mins), reverse=True):
            raise ValueError("grades must be listed from the highest min_score to the lowest, each min_score once")
        letters = [g.grade for g in self.grades]
        if len(set(letters)) != len(letters):
            raise ValueError(f"grades: each grade once, got {', '.join(letters)}")
        if mins[-1] != 0:
            raise ValueError(f"grades: the last grade must have min_score 0 so every score gets one, got {mins[-1]}")
        return self


class CrawlTarget(Strict):
    kind: str
    link_text: list[str] = []
    path: list[str] = []


class CrawlRule(Strict):
    # The same bounds as --max-pages and PHARMACHECK_MAX_PAGES.
    max_pages: int = Field(default=5, ge=1, le=50)
    targets: list[CrawlTarget]


class AdviceRule(Strict):
    id: str
    text: str
    verdicts: list[Verdict] = []
    when_outcomes: list[str] = []


class SecondOpinionRule(Strict):
    """What the learned second opinion may do to the rules' verdict: only make it more careful, never alone."""

    enabled: bool = True
    # Calibrated probability of a rogue seller at or above which `unknown` becomes `caution`, and `caution`
    # becomes `likely_rogue`.
    caution_min_probability: float = Field(default=0.75, ge=0.5, le=1.0)
    rogue_min_probability: float = Field(default=0.9, ge=0.5, le=1.0)
    # The rule finding that has to point the same way: a finding that took points off, of one of these severities.
    caution_needs_severity: list[Severity] = ["critical", "high", "medium", "low"]
    rogue_needs_severity: list[Severity] = ["critical", "high", "medium"]
    # Evidence from outside the site (a .pharmacy name, a registry's answer, the user's list): the model never
    # moves a site that has one of these findings.
    never_when_any: list[str] = []
    # Which verdict rules' answers it may raise: unknown only when the site was read but said too little,
    # caution only when the score itself was not high.
    raises_caution_from: list[VerdictRuleId] = ["too-few-areas"]
    raises_rogue_from: list[VerdictRuleId] = ["middle-score", "low-score-without-serious-finding"]
    # How many features each way the report lists.
    shown_features: int = Field(default=5, ge=1, le=20)
    # The report's one sentence on what the second opinion did; placeholders {probability}, {needed},
    # {verdict}, {verdict_before}, {deciding}.
    notes: dict[Literal["applied", "vouched", "below_threshold", "no_rule_finding", "not_movable"], str] = {}

    @model_validator(mode="after")
    def _rogue_above_caution(self) -> "SecondOpinionRule":
        if self.rogue_min_probability < self.caution_min_probability:
            raise ValueError(f"rogue_min_probability ({self.rogue_min_probability}) must not be below "
                             f"caution_min_probability ({self.caution_min_probability})")
        if not self.caution_needs_severity or not self.rogue_needs_severity:
            raise ValueError("the second opinion always needs a rule finding: caution_needs_severity and "
                             "rogue_needs_severity must each list at least one severity")
        if "positive" in self.caution_needs_severity or "positive" in self.rogue_needs_severity:
            raise ValueError("a positive finding cannot be the rule finding that backs a more careful verdict")
        missing = [k for k in ("applied", "vouched", "below_threshold", "no_rule_finding", "not_movable") if k not in self.notes]
        if self.enabled and missing:
            raise ValueError(f"notes: missing a sentence for {', '.join(missing)}")
        for key, text in self.notes.items():
            try:
                text.format(**{name: "" for name in SECOND_OPINION_NOTE_FIELDS})
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"notes.{key}: unknown placeholder {exc} (known: "
                                 f"{', '.join('{' + n + '}' for n in SECOND_OPINION_NOTE_FIELDS)})") from None
        return self


class CheckRule(Strict):
    category: str
    title: str
    config: dict[str, Any] = {}
    outcomes: dict[str, OutcomeRule]


class RulesFile(Strict):
    algorithm_version: str
    scoring: ScoringRule
    categories: dict[str, CategoryRule]
    crawl: CrawlRule
    consumer_advice: list[AdviceRule] = []
    summaries: dict[SummaryKey, str]
    # Why a verdict was reached, one sentence per verdict rule; {placeholders} are filled from the report.
    verdict_reasons: dict[VerdictRuleId, str]
    # What kind of evidence each finding is (page, domain, list, registry, graph), for the evaluation's
    # attribution of the rogue sites caught: check ids (all their outcomes) or finding ids (which win).
    evidence_kinds: dict[EvidenceKind, list[str]] = {}
    # A rules file that says nothing of the second opinion gets none.
    second_opinion: SecondOpinionRule = SecondOpinionRule(enabled=False)
    checks: dict[str, CheckRule]

    @model_validator(mode="after")
    def _a_summary_per_verdict(self) -> "RulesFile":
        missing = [v for v in Verdict.__args__ if v not in self.summaries]
        if missing:
            raise ValueError(f"summaries: missing a summary for {', '.join(missing)}")
        missing = [r for r in VerdictRuleId.__args__ if r not in self.verdict_reasons]
        if missing:
            raise ValueError(f"verdict_reasons: missing a sentence for {', '.join(missing)}")
        return self


class Rules:
    """Validated rules plus each check's validated config object."""

    def __init__(self, data: RulesFile, check_configs: dict[str, Any], path: str):
        self.data = data
        self.check_configs = check_configs
        self.path = path

    @property
    def algorithm_version(self) -> str:
        return self.data.algorithm_version

    def evidence_kind(self, finding_id: str) -> str:
        """The kind of evidence a finding is (rules.yaml `evidence_kinds`), or `unclassified`."""
        if not hasattr(self, "_kinds"):
            by_check, by_finding = {}, {}
            for kind, entries in self.data.evidence_kinds.items():
                for entry in entries:
                    (by_finding if "." in entry else by_check)[entry] = kind
            self._kinds = (by_check, by_finding)
        by_check, by_finding = self._kinds
        return by_finding.get(finding_id) or by_check.get(finding_id.split(".", 1)[0], "unclassified")

    def outcome_rule(self, check_id: str, outcome: str) -> OutcomeRule:
        return self.data.checks[check_id].outcomes[outcome]

    def category_of(self, check_id: str, outcome: str) -> str:
        rule = self.outcome_rule(check_id, outcome)
        return rule.category or self.data.checks[check_id].category

    def config_for(self, check_id: str) -> Any:
        return self.check_configs[check_id]


def _format_location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _format_validation_error(path: str, prefix: tuple, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        where = _format_location(prefix + tuple(e["loc"]))
        lines.append(f"{path}: at {where}: {e['msg']} (got {e.get('input')!r:.80})")
    return "\n".join(lines)


def _format_yaml_error(path: Path, exc: yaml.YAMLError) -> str:
    """One line: the file, where the parser gave up, and why (PyYAML's own text names "<unicode string>")."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context = getattr(exc, "context", None)
    why = f"{problem} ({' '.join(context.split())})" if context and getattr(exc, "problem", None) else problem
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{path}: not valid YAML{where}: {why}"


def load_rules(path: str | os.PathLike | None = None, checks: list | None = None) -> Rules:
    """Read, validate and bind rules.yaml to the registered checks."""
    if checks is None:
        from checks import ALL_CHECKS

        checks = ALL_CHECKS
    rules_path = Path(path or os.environ.get("PHARMACHECK_RULES") or DEFAULT_RULES_PATH)
    try:
        raw = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{rules_path}: cannot read rules file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RulesError(f"{rules_path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise RulesError(_format_yaml_error(rules_path, exc)) from None
    if not isinstance(raw, dict):
        raise RulesError(f"{rules_path}: expected a mapping at the top level")
    try:
        data = RulesFile.model_validate(raw)
    except ValidationError as exc:
        raise RulesError(_format_validation_error(str(rules_path), (), exc)) from None

    problems: list[str] = []
    for rule_id, text in data.verdict_reasons.items():
        fields = MODEL_REASON_FIELDS if rule_id in MODEL_VERDICT_RULES else VERDICT_REASON_FIELDS
        known_fields = ", ".join("{" + name + "}" for name in fields)
        try:
            text.format(**{name: "" for name in fields})
        except (KeyError, IndexError, ValueError) as exc:
            bad = f"{{{exc.args[0]}}}" if isinstance(exc, KeyError) else str(exc)
            problems.append(f"{rules_path}: at verdict_reasons.{rule_id}: unknown placeholder {bad} (known: {known_fields})")
    configs: dict[str, Any] = {}
    known_ids = {c.id for c in checks}
    for extra in sorted(set(data.checks) - known_ids):
        problems.append(f"{rules_path}: at checks.{extra}: no such check (known: {', '.join(sorted(known_ids))})")
    for check in checks:
        section = data.checks.get(check.id)
        if section is None:
            problems.append(f"{rules_path}: at checks: missing section for check '{check.id}'")
            continue
        if section.category not in data.categories:
            problems.append(f"{rules_path}: at checks.{check.id}.category: unknown category '{section.category}'")
        declared = set(check.outcomes)
        written = set(section.outcomes)
        for missing in sorted(declared - written):
            problems.append(f"{rules_path}: at checks.{check.id}.outcomes: missing outcome '{missing}'")
        for extra in sorted(written - declared):
            problems.append(
                f"{rules_path}: at checks.{check.id}.outcomes.{extra}: check '{check.id}' has no such outcome"
            )
        for name, outcome in section.outcomes.items():
            if outcome.category and outcome.category not in data.categories:
                problems.append(
                    f"{rules_path}: at checks.{check.id}.outcomes.{name}.category: unknown category '{outcome.category}'"
                )
            unless = outcome.forces_verdict_unless
            for cat in unless.categories if unless else ():
                if cat not in data.categories:
                    problems.append(
                        f"{rules_path}: at checks.{check.id}.outcomes.{name}.forces_verdict_unless.categories: "
                        f"unknown category '{cat}'"
                    )
        try:
            configs[check.id] = check.config_model.model_validate(section.config)
        except ValidationError as exc:
            problems.append(_format_validation_error(str(rules_path), ("checks", check.id, "config"), exc))
    all_outcomes = {f"{cid}.{o}" for cid, c in data.checks.items() for o in c.outcomes}
    for key in ("likely_legitimate_requires_any", "rogue_needs_critical_when_any"):
        for ref in getattr(data.scoring.verdicts, key):
            if ref not in all_outcomes:
                problems.append(f"{rules_path}: at scoring.verdicts.{key}: unknown finding '{ref}'")
    seen_entries: dict[str, str] = {}
    for kind, entries in data.evidence_kinds.items():
        for entry in entries:
            if entry in seen_entries:
                problems.append(f"{rules_path}: at evidence_kinds.{kind}: '{entry}' is already under {seen_entries[entry]}")
            seen_entries[entry] = kind
            if entry not in all_outcomes and entry not in data.checks:
                problems.append(f"{rules_path}: at evidence_kinds.{kind}: no check or finding '{entry}'")
    for ref in data.second_opinion.never_when_any:
        if ref not in all_outcomes:
            problems.append(f"{rules_path}: at second_opinion.never_when_any: unknown finding '{ref}'")
    for check_id, section in data.checks.items():
        for name, outcome in section.outcomes.items():
            for ref in outcome.forces_verdict_unless.except_outcomes if outcome.forces_verdict_unless else ():
                if ref not in all_outcomes:
                    problems.append(
                        f"{rules_path}: at checks.{check_id}.outcomes.{name}.forces_verdict_unless.except_outcomes: "
                        f"unknown finding '{ref}'"
                    )
    for advice in data.consumer_advice:
        for ref in advice.when_outcomes:
            if ref not in all_outcomes:
                problems.append(f"{rules_path}: at consumer_advice.{advice.id}.when_outcomes: unknown finding '{ref}'")
    if problems:
        raise RulesError("\n".join(problems))
    return Rules(data, configs, str(rules_path))


class ConfigModel(Strict):
    """Base class for a check's `config` section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


__all__ = ["Rules", "RulesError", "load_rules", "ConfigModel", "OutcomeRule", "Severity", "Verdict", "Field"]
