"""One small HTML fixture per outcome of the prescription, domain, marketing, storefront and known-sites checks.

A fixture named after an outcome (`no-prescription-offer.html`, or `no-prescription-offer--variant.html`) must
produce it. A `false-friend--*.html` fixture is a legitimate page that shares words with a rogue one; its
`<meta name="forbid">` lists outcomes it must not produce and `<meta name="expect">` those it must. A fixture is
read at `<meta name="fixture-url">` when it has one (domain outcomes depend on the address), otherwise at a
neutral address.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from app.known_sites import load_known_sites
from app.page import parse_page
from app.pipeline import site_from_pages
from checks import domain, known_sites, marketing, prescription, storefront

FIXTURES = Path(__file__).parent / "fixtures"
CHECKS = {c.id: c for c in (prescription.CHECK, domain.CHECK, marketing.CHECK, storefront.CHECK, known_sites.CHECK)}
NEUTRAL_URL = "https://www.riverside-example.com/page"


def _meta(html: str, name: str) -> list[str]:
    tag = BeautifulSoup(html, "lxml").find("meta", attrs={"name": name})
    return str(tag["content"]).split() if tag else []


def run_fixture(path: Path, rules) -> list[str]:
    html = path.read_text(encoding="utf-8")
    url = (_meta(html, "fixture-url") or [NEUTRAL_URL])[0]
    known = load_known_sites(str(FIXTURES / "known_sites" / "known-sites.csv")) if path.parent.name == "known_sites" else None
    site = site_from_pages(url, [parse_page(html, url)], known_sites=known)
    check = CHECKS[path.parent.name]
    return [o.outcome for o in check.run(site, rules.config_for(check.id))]


def _fixtures(kind: str) -> list[Path]:
    return sorted(p for d in CHECKS for p in (FIXTURES / d).glob("*.html") if p.name.startswith("false-friend--") == (kind == "false"))


@pytest.mark.parametrize("path", _fixtures("outcome"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_produces_its_outcome(path, rules):
    expected = path.stem.split("--")[0]
    assert expected in run_fixture(path, rules)


@pytest.mark.parametrize("path", _fixtures("false"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_false_friend_is_not_flagged(path, rules):
    html = path.read_text(encoding="utf-8")
    forbidden, expected = _meta(html, "forbid"), _meta(html, "expect")
    assert forbidden, "a false-friend fixture must say which outcomes it must not produce"
    got = run_fixture(path, rules)
    assert not set(forbidden) & set(got), got
    assert set(expected) <= set(got), got


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_outcome_has_a_fixture(check_id):
    named = {p.stem.split("--")[0] for p in (FIXTURES / check_id).glob("*.html")}
    assert set(CHECKS[check_id].outcomes) <= named, set(CHECKS[check_id].outcomes) - named


def test_known_site_finding_cites_the_list(rules):
    path = FIXTURES / "known_sites" / "listed-rogue.html"
    html = path.read_text(encoding="utf-8")
    url = _meta(html, "fixture-url")[0]
    site = site_from_pages(url, [parse_page(html, url)], known_sites=load_known_sites(str(FIXTURES / "known_sites" / "known-sites.csv")))
    (outcome,) = known_sites.CHECK.run(site, rules.config_for("known_sites"))
    assert outcome.facts["source"] == "Example regulator warning list 2026-01"
    assert "Example regulator warning list 2026-01" in outcome.evidence[0].snippet


def test_offer_evidence_is_the_offer_sentence(rules):
    site = site_from_pages(NEUTRAL_URL, [parse_page((FIXTURES / "prescription" / "no-prescription-offer.html").read_text(), NEUTRAL_URL)])
    offer = next(o for o in prescription.CHECK.run(site, rules.config_for("prescription")) if o.outcome == "no-prescription-offer")
    assert offer.evidence[0].url == NEUTRAL_URL
    assert "No prescription needed" in offer.evidence[0].snippet


def test_controlled_drugs_are_named_with_their_schedule_in_rules(rules):
    drugs = rules.config_for("prescription").drugs
    controlled = [d for d in drugs if d.status == "controlled"]
    assert controlled and all(d.schedule for d in controlled)
    assert {"oxycodone", "alprazolam", "zolpidem", "phentermine", "phenobarbital", "amphetamine"} <= {d.name for d in controlled}
