"""The two verdict rules that keep words from deciding a verdict on their own (rules.yaml scoring.verdicts)."""

from __future__ import annotations

from app.scoring import build_findings, score_findings
from checks.base import Outcome


def _score(rules, *pairs):
    findings = build_findings(rules, [(check, Outcome(outcome).add("https://x.example/", "…")) for check, outcome in pairs])
    return score_findings(rules, findings, fetched_anything=True)


def test_words_alone_do_not_earn_likely_legitimate(rules):
    words = (
        ("prescription", "required-with-verification"),
        ("contact", "address-street"),
        ("contact", "phone-found"),
        ("payment", "cards-via-gateway"),
        ("transport", "https-valid"),
    )
    scored = _score(rules, *words)
    assert scored.score >= rules.data.scoring.verdicts.likely_legitimate_min
    assert scored.verdict == "caution"
    assert _score(rules, *words, ("accreditation", "pharmacy-tld")).verdict == "likely_legitimate"
    assert _score(rules, *words, ("accreditation", "verified-link")).verdict == "likely_legitimate"


def test_small_gaps_alone_do_not_accuse(rules):
    gaps = (("contact", "no-contact-found"), ("transport", "no-https"), ("domain", "sales-pitch-in-domain"),
            ("marketing", "worldwide-shipping"), ("marketing", "discreet-packaging"))
    scored = _score(rules, *gaps)
    assert scored.score <= rules.data.scoring.verdicts.likely_rogue_max
    assert scored.verdict == "caution"
    assert _score(rules, *gaps, ("marketing", "cross-border-shipping")).verdict == "likely_rogue"
