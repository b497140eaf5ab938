"""The published scoring table in docs/ is generated from rules.yaml and every outcome is shown by a fixture."""

from __future__ import annotations

from checks import ALL_CHECKS
from tools.scoring_doc import DOC_PATH, fixtures_for, render

# Outcomes that depend on a registry's live answer rather than page markup. They are exercised against loopback
# servers (test_accreditation) instead of by a static fixture. The transport outcomes that depend on the fetch
# have fixtures that carry the fetch's result (tests/fixtures/transport, test_transport_fixtures).
LIVE_EXCHANGE_OUTCOMES = {
    "accreditation.registry-confirms",
    "accreditation.registry-confirms-number",
    "accreditation.registry-denies",
    "accreditation.registry-unreachable",
    "accreditation.registry-inconclusive",
}


def test_docs_scoring_table_is_current(rules):
    assert DOC_PATH.read_text(encoding="utf-8") == render(rules), "run: python tools/scoring_doc.py"


def test_every_outcome_has_a_fixture_named_after_it():
    without = {f"{c.id}.{o}" for c in ALL_CHECKS for o in c.outcomes if not fixtures_for(o)}
    assert without == LIVE_EXCHANGE_OUTCOMES
