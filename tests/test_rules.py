"""rules.yaml is validated at load: errors name the file, the path inside it and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.rules import DEFAULT_RULES_PATH, RulesError, load_rules
from checks import ALL_CHECKS


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_shipped_rules_load_and_cover_every_declared_outcome():
    rules = load_rules()
    for check in ALL_CHECKS:
        assert set(rules.data.checks[check.id].outcomes) == set(check.outcomes)


def test_every_outcome_has_consumer_wording():
    rules = load_rules()
    for check_id, section in rules.data.checks.items():
        for name, outcome in section.outcomes.items():
            assert outcome.title.strip(), f"{check_id}.{name} has no title"
            assert len(outcome.explanation.split()) >= 5, f"{check_id}.{name} needs a real explanation"
            if outcome.severity in ("critical", "high"):
                assert outcome.points < 0 or outcome.forces_verdict, f"{check_id}.{name} is serious but costs nothing"
            if outcome.severity == "positive":
                assert outcome.points >= 0


def test_every_red_flag_says_what_to_do():
    # A finding that takes points off leaves the reader asking "so what do I do?"; the report must answer.
    rules = load_rules()
    without = [
        f"{check_id}.{name}"
        for check_id, section in rules.data.checks.items()
        for name, outcome in section.outcomes.items()
        if outcome.severity in ("critical", "high", "medium", "low") and not (outcome.advice or "").strip()
    ]
    assert not without, f"outcomes without advice: {without}"


def test_unknown_key_is_reported_with_path(tmp_path):
    path = _write(tmp_path, lambda d: d["scoring"].update(baselin=10))
    with pytest.raises(RulesError) as err:
        load_rules(path)
    message = str(err.value)
    assert str(path) in message and "scoring.baselin" in message


def test_wrong_type_is_reported_with_path_and_expectation(tmp_path):
    def mutate(d):
        first_check = next(iter(d["checks"].values()))
        first_outcome = next(iter(first_check["outcomes"].values()))
        first_outcome["points"] = "lots"

    path = _write(tmp_path, mutate)
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert ".points" in str(err.value) and "integer" in str(err.value)


def test_bad_severity_is_reported(tmp_path):
    path = _write(tmp_path, lambda d: d["checks"]["prescription"]["outcomes"]["no-prescription-offer"].update(severity="awful"))
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert "checks.prescription.outcomes.no-prescription-offer.severity" in str(err.value)


def test_missing_outcome_and_unknown_outcome_are_reported(tmp_path):
    def mutate(d):
        outcomes = d["checks"]["prescription"]["outcomes"]
        outcomes["no-such-outcome"] = outcomes.pop("no-prescription-offer")

    path = _write(tmp_path, mutate)
    with pytest.raises(RulesError) as err:
        load_rules(path)
    message = str(err.value)
    assert "missing outcome 'no-prescription-offer'" in message
    assert "no-such-outcome" in message


def test_check_config_is_validated_by_the_checks_own_model(tmp_path):
    path = _write(tmp_path, lambda d: d["checks"]["prescription"]["config"].update(unexpected_list=["x"]))
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert "checks.prescription.config.unexpected_list" in str(err.value)


def test_unknown_category_is_reported(tmp_path):
    path = _write(tmp_path, lambda d: d["checks"]["prescription"].update(category="astrology"))
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert "unknown category 'astrology'" in str(err.value)


def test_missing_file_and_bad_yaml_are_clear(tmp_path):
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scoring: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)


def test_verdict_rule_naming_an_unknown_finding_is_reported(tmp_path):
    path = _write(tmp_path, lambda d: d["scoring"]["verdicts"].update(likely_legitimate_requires_any=["accreditation.gold-star"]))
    with pytest.raises(RulesError, match="unknown finding 'accreditation.gold-star'"):
        load_rules(path)


def test_certificates_are_named_in_plain_words():
    # "Certificate" alone means nothing to most people; "security certificate, its proof of identity" does.
    rules = load_rules()
    for name, outcome in rules.data.checks["transport"].outcomes.items():
        for text in (outcome.title, outcome.explanation, outcome.advice or ""):
            bare = text.lower().replace("security certificate", "")
            assert "certificate" not in bare and "tls" not in bare.split(), f"transport.{name}: {text}"


def _set(path: str, value):
    def mutate(data):
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return mutate


@pytest.mark.parametrize(
    "mutate, where, expected",
    [
        (_set("categories.payment.weight", -3), "categories.payment.weight", "greater than or equal to 0"),
        (_set("categories.domain.max_penalty", -5), "categories.domain.max_penalty", "greater than or equal to 0"),
        (_set("scoring.verdicts.likely_rogue_max", 250), "scoring.verdicts.likely_rogue_max", "less than or equal to 100"),
        (_set("scoring.verdicts.likely_legitimate_min", 10), "scoring.verdicts", "must be above likely_rogue_max"),
        (_set("scoring.grades", [{"grade": "A", "min_score": 85}, {"grade": "A", "min_score": 0}]), "scoring", "each grade once"),
        (_set("scoring.grades", [{"grade": "A", "min_score": 50}, {"grade": "B", "min_score": 50}, {"grade": "F", "min_score": 0}]),
         "scoring", "each min_score once"),
        (_set("scoring.grades", [{"grade": "A", "min_score": 85}, {"grade": "B", "min_score": 40}]), "scoring", "min_score 0"),
        (_set("scoring.baseline", 150), "scoring.baseline", "less than or equal to 100"),
        (_set("crawl.max_pages", 0), "crawl.max_pages", "greater than or equal to 1"),
        (_set("checks.prescription.outcomes.no-prescription-offer.points", 60),
         "checks.prescription.outcomes.no-prescription-offer", "cannot add points"),
        (_set("checks.transport.outcomes.https-valid.points", -2),
         "checks.transport.outcomes.https-valid", "cannot take points off"),
    ],
)
def test_values_out_of_range_are_reported_with_file_path_and_expectation(tmp_path, mutate, where, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(RulesError) as err:
        load_rules(path)
    message = str(err.value)
    assert str(path) in message and f"at {where}" in message and expected in message, message
