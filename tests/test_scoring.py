"""The score is deterministic and follows the published table in rules.yaml."""

from __future__ import annotations

import pytest

from app.page import page_from_text
from app.pipeline import judge_site, site_from_pages
from app.scoring import build_findings, score_findings, scoring_table
from checks.base import Outcome


def _score(rules, *pairs, fetched=True):
    findings = build_findings(rules, [(check, Outcome(outcome).add("https://x.example/", "…")) for check, outcome in pairs])
    return score_findings(rules, findings, fetched_anything=fetched)


def test_critical_finding_forces_likely_rogue_whatever_the_score(rules):
    scored = _score(
        rules,
        ("prescription", "no-prescription-offer"),
        ("accreditation", "pharmacy-tld"),
        ("accreditation", "verified-link"),
        ("contact", "address-street"),
    )
    assert scored.verdict == "likely_rogue"


def test_bonuses_are_not_counted_next_to_a_serious_failure(rules):
    scored = _score(rules, ("payment", "red-flag-only"), ("accreditation", "pharmacy-tld"), ("contact", "address-street"))
    positive = [f for f in scored.findings if f.points > 0]
    assert positive and all(f.counted_points == 0 for f in positive)
    assert scored.score == rules.data.scoring.baseline + rules.outcome_rule("payment", "red-flag-only").points


def test_score_is_baseline_plus_points(rules):
    scored = _score(rules, ("prescription", "required-with-verification"), ("contact", "address-street"))
    expected = (
        rules.data.scoring.baseline
        + rules.outcome_rule("prescription", "required-with-verification").points
        + rules.outcome_rule("contact", "address-street").points
    )
    assert scored.score == expected
    assert sum(f.counted_points for f in scored.findings) == expected - rules.data.scoring.baseline


def test_category_penalty_cap_bounds_one_area(rules):
    cap = rules.data.categories["domain"].max_penalty
    scored = _score(
        rules,
        ("marketing", "bonus-pills"),
        ("marketing", "no-questions-asked"),
        ("domain", "controlled-drug-in-domain"),
        ("domain", "rx-drug-in-domain"),
    )
    domain = next(c for c in scored.categories if c.id == "domain")
    assert domain.points == -cap


def test_undetermined_outcomes_move_nothing_and_lower_coverage(rules):
    scored = _score(rules, ("payment", "none-found"), ("contact", "address-street"))
    payment = next(c for c in scored.categories if c.id == "payment")
    assert payment.score is None
    assert scored.coverage < 1.0


def test_too_little_coverage_is_unknown(rules):
    scored = _score(rules, ("contact", "address-street"))
    assert scored.verdict == "unknown"


def test_nothing_fetched_is_unknown_without_a_score(rules):
    scored = _score(rules, fetched=False)
    assert scored.verdict == "unknown" and scored.score is None and scored.grade is None


def test_forced_not_a_pharmacy(rules):
    scored = _score(rules, ("storefront", "not-a-pharmacy"), ("transport", "https-valid"))
    assert scored.verdict == "not_a_pharmacy"
    assert scored.score is None and scored.grade is None


def test_a_valid_certificate_is_no_coverage_and_thin_evidence_has_no_score(rules):
    scored = _score(rules, ("transport", "https-valid"), ("contact", "address-street"))
    assert scored.verdict == "unknown" and scored.score is None and scored.grade is None
    assert scored.summary == rules.data.summaries["unknown"].strip()
    assert scored.coverage < 0.5


def test_unknown_says_whether_the_site_could_be_read(rules):
    unreadable = _score(rules, fetched=False)
    thin = _score(rules, ("contact", "address-street"))
    assert unreadable.summary == rules.data.summaries["unknown_unreadable"].strip()
    assert thin.summary == rules.data.summaries["unknown"].strip()
    assert unreadable.summary != thin.summary


def test_a_serious_red_flag_with_a_low_score_is_rogue_without_a_second_category(rules):
    scored = _score(rules, ("domain", "controlled-drug-in-domain"), ("transport", "https-valid"))
    assert scored.verdict == "likely_rogue" and scored.score is not None


def test_a_serious_or_prescription_finding_cancels_not_a_pharmacy(rules):
    high = _score(rules, ("storefront", "not-a-pharmacy"), ("prescription", "rx-drugs-without-requirement"), ("transport", "https-valid"))
    assert high.verdict != "not_a_pharmacy"
    stated = _score(rules, ("storefront", "not-a-pharmacy"), ("prescription", "required-stated"), ("contact", "address-street"))
    assert stated.verdict != "not_a_pharmacy"
    # A small gap elsewhere does not: a bakery without a phone number is still a bakery.
    small = _score(rules, ("storefront", "not-a-pharmacy"), ("contact", "phone-not-found"), ("transport", "https-valid"))
    assert small.verdict == "not_a_pharmacy"


def test_buy_viagra_with_a_strength_is_judged_as_a_pharmacy(rules):
    page = page_from_text("Buy Viagra 100mg online at the lowest price. Worldwide shipping.", "https://deals.example/")
    report = judge_site(rules, site_from_pages("https://deals.example/", [page]))
    ids = {f.id for f in report.findings}
    assert "prescription.rx-drugs-without-requirement" in ids and "storefront.not-a-pharmacy" not in ids
    assert report.verdict != "not_a_pharmacy"


def test_online_doctor_questionnaire_is_penalised_once(rules):
    text = "Buy Viagra online: complete a short online questionnaire and our doctor will issue your prescription."
    report = judge_site(rules, site_from_pages("https://clinic.example/", [page_from_text(text, "https://clinic.example/")]))
    prescription = [f.id for f in report.findings if f.category == "prescription" and f.points]
    assert prescription == ["prescription.questionnaire-only"]
    assert report.verdict != "likely_rogue"


def test_grade_follows_table(rules):
    scored = _score(rules, ("prescription", "required-with-verification"), ("accreditation", "pharmacy-tld"))
    table = rules.data.scoring.grades
    expected = next(g.grade for g in table if scored.score >= g.min_score)
    assert scored.grade == expected


def test_judging_is_deterministic(rules):
    page = page_from_text("Buy Xanax online, no prescription needed. Pay with Bitcoin.", "https://pills.example/")
    a = judge_site(rules, site_from_pages("https://pills.example/", [page]))
    b = judge_site(rules, site_from_pages("https://pills.example/", [page]))
    assert a.model_dump(exclude={"checked_at", "elapsed_ms"}) == b.model_dump(exclude={"checked_at", "elapsed_ms"})
    assert a.verdict == "likely_rogue"


def test_published_table_lists_every_outcome(rules):
    table = scoring_table(rules)
    ids = {o["id"] for o in table["outcomes"]}
    for check_id, section in rules.data.checks.items():
        for name in section.outcomes:
            assert f"{check_id}.{name}" in ids
    assert table["algorithm_version"] == rules.algorithm_version
    assert "baseline" in table["scoring"]


def test_critical_domain_finding_stands_when_nothing_could_be_read(rules):
    scored = _score(rules, ("domain", "no-prescription-in-domain"), fetched=False)
    assert scored.verdict == "likely_rogue" and scored.score is None


def test_users_rogue_list_stands_when_nothing_could_be_read(rules):
    scored = _score(rules, ("known_sites", "listed-rogue"), fetched=False)
    assert scored.verdict == "likely_rogue"
    assert _score(rules, ("domain", "rx-drug-in-domain"), fetched=False).verdict == "unknown"


def test_overlapping_snippets_of_one_sentence_are_shown_once(rules):
    sentence = "Buy Viagra 100mg, Cialis 20mg, Xanax 2mg and Tramadol 50mg online. No prescription needed! Free bonus pills."
    outcome = (
        Outcome("controlled-without-process")
        .add("https://x.example/", "Home Best prices " + sentence[:80] + "…")
        .add("https://x.example/", "…prices " + sentence[10:110] + "…")
        .add("https://x.example/other", "…prices " + sentence[10:110] + "…")
        .add("https://x.example/", "Oxycodone 30mg · $9.00")
    )
    (finding,) = build_findings(rules, [("prescription", outcome)])
    # The second window repeats the first on the same page; on another page it is evidence of its own.
    assert [e.url for e in finding.evidence] == ["https://x.example/", "https://x.example/other", "https://x.example/"]
    assert finding.evidence[0].snippet.startswith("Home") and finding.evidence[2].snippet.startswith("Oxycodone")


@pytest.mark.parametrize(
    "pairs, verdict, rule",
    [
        ((("prescription", "no-prescription-offer"), ("accreditation", "pharmacy-tld")), "likely_rogue", "critical-finding"),
        ((("prescription", "required-with-verification"), ("contact", "address-street"), ("payment", "cards-via-gateway")),
         "caution", "high-score-unverified"),
        ((("prescription", "required-with-verification"), ("contact", "address-street"), ("accreditation", "pharmacy-tld")),
         "likely_legitimate", "verified-and-high-score"),
        ((("prescription", "required-stated"),), "unknown", "too-few-areas"),
        ((("prescription", "required-stated"), ("contact", "address-street")), "caution", "middle-score"),
    ],
)
def test_every_verdict_names_the_rule_that_decided_it_and_says_why(rules, pairs, verdict, rule):
    scored = _score(rules, *pairs)
    assert (scored.verdict, scored.verdict_rule) == (verdict, rule)
    assert "{" not in scored.verdict_reason and scored.verdict_reason.endswith(".")


def test_the_reason_names_the_findings_that_decided(rules):
    scored = _score(rules, ("prescription", "no-prescription-offer"), ("contact", "address-street"))
    assert rules.outcome_rule("prescription", "no-prescription-offer").title.rstrip(".") in scored.verdict_reason
    assert rules.outcome_rule("contact", "address-street").title not in scored.verdict_reason
    nothing = _score(rules, fetched=False)
    assert nothing.verdict_rule == "nothing-read" and nothing.verdict == "unknown"


def test_a_reason_with_an_unknown_placeholder_is_refused_at_load(tmp_path):
    import yaml

    from app.rules import RulesError, load_rules

    data = yaml.safe_load(open(load_rules().path, encoding="utf-8"))
    data["verdict_reasons"]["middle-score"] = "The score is {points}."
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_rules(str(path))
    assert "verdict_reasons.middle-score" in str(err.value) and "{points}" in str(err.value)


def test_a_serious_sign_short_of_critical_does_not_accuse_a_site_nabp_vouches_for(rules):
    # NABP grants .pharmacy names only after checking the pharmacy; a site writes its own seal links.
    serious = ("payment", "red-flag-only")
    vouched = _score(rules, serious, ("accreditation", "pharmacy-tld"), ("prescription", "required-stated"))
    assert (vouched.verdict, vouched.verdict_rule) == ("caution", "verified-with-serious-finding")
    self_written = _score(rules, serious, ("accreditation", "verified-link"), ("prescription", "required-stated"))
    assert self_written.verdict == "likely_rogue"
    critical = _score(rules, ("prescription", "no-prescription-offer"), ("accreditation", "pharmacy-tld"))
    assert critical.verdict == "likely_rogue"


def test_an_invalid_certificate_costs_points_and_bonuses_but_never_accuses_on_its_own(rules):
    # A legitimate pharmacy whose certificate lapsed, with small gaps: the score falls low, but poor upkeep is no
    # evidence of illegal selling, so the verdict stays at caution.
    gaps = (("contact", "address-withheld"), ("contact", "phone-withheld"), ("contact", "email-free-mail-only"))
    scored = _score(rules, ("transport", "tls-invalid"), ("prescription", "required-with-verification"), *gaps)
    assert scored.score <= rules.data.scoring.verdicts.likely_rogue_max
    assert scored.verdict == "caution" and scored.verdict_rule == "low-score-without-serious-finding"
    assert all(f.counted_points == 0 for f in scored.findings if f.points > 0)
    # Beside a finding that does accuse, the low score makes the site likely rogue as before.
    worse = _score(rules, ("transport", "tls-invalid"), ("payment", "red-flag-only"), *gaps)
    assert worse.verdict == "likely_rogue"
