"""End-to-end checks of fixture sites on loopback (HTTPS with a test CA), through the same Checker the CLI uses.

Each site stands for a kind of pharmacy a user meets: a rogue storefront, a legitimate US pharmacy, a
legitimate UK pharmacy, a cross-border seller with mixed signals, a site whose only red flag is on a sub-page,
and a site that is not a pharmacy at all.
"""

from __future__ import annotations

import asyncio

import pytest

from app.pipeline import Checker


@pytest.fixture(scope="module")
def reports(sites):
    hosts = ["rogue-store.test", "us-pharmacy.test", "uk-chemist.test", "maple-meds.test", "quiet-pharmacy.test", "corner-bakery.test",
             "offshore-pills.test", "calm-wellness-blog.test"]

    async def check_all():
        async with Checker(sites.settings(check_timeout=20.0)) as checker:
            return await asyncio.gather(*(checker.check(sites.url(h)) for h in hosts))

    return dict(zip(hosts, asyncio.run(check_all())))


def finding(report, finding_id):
    return next((f for f in report.findings if f.id == finding_id), None)


def ids(report) -> set[str]:
    return {f.id for f in report.findings}


def test_rogue_storefront(reports, sites):
    report = reports["rogue-store.test"]
    assert report.verdict == "likely_rogue"
    home = sites.url("rogue-store.test")
    offer = finding(report, "prescription.no-prescription-offer")
    assert offer and offer.severity == "critical"
    assert [e.url for e in offer.evidence] == [home]
    controlled = finding(report, "prescription.controlled-without-process")
    assert controlled and controlled.evidence[0].url == home
    assert {"marketing.bonus-pills", "marketing.discreet-packaging", "marketing.worldwide-shipping"} <= ids(report)


def test_drugs_listed_with_strengths_under_a_price_heading_are_an_offer(reports, sites):
    # Its home page lists "Sildenafil 100 mg, Tadalafil 20 mg, ..." under "Generic medications at low prices" and
    # never mentions a prescription: the shop layout puts the price cue on its own line.
    report = reports["offshore-pills.test"]
    offered = finding(report, "prescription.rx-drugs-without-requirement")
    assert offered and offered.severity == "high"
    assert offered.evidence[0].url == sites.url("offshore-pills.test")
    assert "Sildenafil 100 mg" in offered.evidence[0].snippet


def test_legitimate_us_pharmacy(reports, sites):
    report = reports["us-pharmacy.test"]
    assert report.verdict == "likely_legitimate"
    process = finding(report, "prescription.required-with-verification")
    assert process and process.counted_points > 0
    assert sites.url("us-pharmacy.test", "/how-it-works") in {e.url for e in process.evidence}
    assert "accreditation.verified-link" in ids(report)
    # Its FAQ says "No" to buying without a prescription and explains OTC medicines: neither is an offer.
    assert not [f for f in report.findings if f.severity in ("critical", "high")]
    assert not [f for f in report.findings if f.check == "marketing"]


def test_legitimate_uk_pharmacy(reports, sites):
    report = reports["uk-chemist.test"]
    # No registry link pharmacheck can verify, so words alone do not earn "likely legitimate"; nothing accuses it.
    assert report.verdict in ("likely_legitimate", "caution")
    assert "prescription.required-with-verification" in ids(report)
    assert "prescription.no-prescription-offer" not in ids(report)
    assert not [f for f in report.findings if f.severity in ("critical", "high")]
    assert not [f for f in report.findings if f.check == "marketing"]


def test_cross_border_seller_with_mixed_signals(reports, sites):
    report = reports["maple-meds.test"]
    cross = finding(report, "marketing.cross-border-shipping")
    assert cross and cross.evidence[0].url == sites.url("maple-meds.test", "/shipping")
    process = finding(report, "prescription.required-with-verification")
    assert process is not None
    # A described prescription process does not buy back a high-severity finding.
    assert process.counted_points == 0
    assert report.verdict == "likely_rogue"


def test_red_flag_only_on_a_sub_page(reports, sites):
    report = reports["quiet-pharmacy.test"]
    assert report.verdict == "likely_rogue"
    offer = finding(report, "prescription.no-prescription-offer")
    assert offer is not None
    assert [e.url for e in offer.evidence] == [sites.url("quiet-pharmacy.test", "/faq")]
    assert "No prescription needed" in offer.evidence[0].snippet


def test_site_that_is_not_a_pharmacy(reports):
    report = reports["corner-bakery.test"]
    assert report.verdict == "not_a_pharmacy"
    assert "storefront.not-a-pharmacy" in ids(report)
    assert not [f for f in report.findings if f.severity in ("critical", "high", "medium")]


def test_health_blog_with_an_about_page_is_not_a_pharmacy(reports):
    # It writes about medication, sleeping pills and pharmacists, and has an about and a contact page, but nothing
    # on it sells or dispenses: no cart, prices, ordering, delivery or prescriptions to fill.
    report = reports["calm-wellness-blog.test"]
    assert report.verdict == "not_a_pharmacy"
    assert report.score is None
    blog = finding(report, "storefront.not-a-pharmacy")
    assert any("no page read sells or dispenses" in e.snippet for e in blog.evidence)
