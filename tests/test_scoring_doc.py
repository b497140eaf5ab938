"""The published scoring table in docs/ is generated from rules.yaml and every outcome is shown by a fixture."""

from __future__ import annotations

from checks import ALL_CHECKS
from tools.scoring_doc import DOC_PATH, fixtures_for, render

# Outcomes that depend on a live exchange rather than page markup: a registry's answer, a certificate, what the
# plain-HTTP address does. They are exercised against loopback servers (test_accreditation, test_fetch_*,
# test_contact_payment_sites) instead of by a static fixture.
LIVE_EXCHANGE_OUTCOMES = {
    "accreditation.registry-confirms",
    "accreditation.registry-denies",
    "accreditation.registry-unreachable",
    "accreditation.registry-inconclusive",
    "transport.tls-invalid",
    "transport.http-redirects-to-https",
    "transport.http-not-upgraded",
}


def test_docs_scoring_table_is_current(rules):
    assert DOC_PATH.read_text(encoding="utf-8") == render(rules), "run: python tools/scoring_doc.py"


def test_every_outcome_has_a_fixture_named_after_it():
    without = {f"{c.id}.{o}" for c in ALL_CHECKS for o in c.outcomes if not fixtures_for(o)}
    assert without == LIVE_EXCHANGE_OUTCOMES
