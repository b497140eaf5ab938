"""A site whose certificate does not verify is still read (GET only, nothing sent) and judged, with the invalid
certificate as a high-severity finding, instead of a report with nothing in it.

The sites here are the fixture pharmacies served with a certificate from a CA that pharmacheck does not trust.
"""

from __future__ import annotations

import asyncio

import pytest

from app.pipeline import Checker
from tests.fixture_server import FixtureSites


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory):
    server = FixtureSites(tmp_path_factory.mktemp("untrusted-tls"), hosts=["rogue-store.test", "good-pharmacy.test", "us-pharmacy.test"])
    yield server
    server.close()


def _check(untrusted, host, path="/", **changes):
    # No --cacert: the certificate chains to a CA nobody trusts.
    settings = untrusted.settings(**changes).with_(cacert=None)

    async def go():
        async with Checker(settings) as checker:
            return await checker.check(untrusted.url(host, path))

    return asyncio.run(go())


def test_a_rogue_site_with_an_invalid_certificate_is_read_and_judged(untrusted):
    report = _check(untrusted, "rogue-store.test")
    ids = {f.id for f in report.findings}
    assert report.verdict == "likely_rogue"
    assert "transport.tls-invalid" in ids and "prescription.no-prescription-offer" in ids
    assert "transport.https-valid" not in ids
    tls = next(f for f in report.findings if f.id == "transport.tls-invalid")
    assert tls.severity == "high" and tls.evidence and "not valid" in tls.evidence[0].snippet
    read = [p for p in report.pages if p.error is None]
    assert len(read) >= 2 and all(p.https and p.tls_valid is False for p in read)
    assert "tls_invalid" not in {e.code for e in report.errors}


def test_nothing_but_gets_without_cookies_reach_a_site_read_past_its_certificate(untrusted):
    untrusted.server.requests.clear()
    _check(untrusted, "rogue-store.test")
    requests = list(untrusted.server.requests)
    assert requests, "the site was never read"
    assert {method for method, *_ in requests} == {"GET"}
    # The start page sets a cookie; no later request sends it back.
    assert not any("Cookie" in headers or "cookie" in headers for *_, headers in requests)
    assert not any(headers.get("Content-Length") not in (None, "0") for *_, headers in requests)


def test_a_legitimate_pharmacy_with_an_invalid_certificate_is_not_accused(untrusted):
    for host in ("good-pharmacy.test", "us-pharmacy.test"):
        report = _check(untrusted, host)
        assert "transport.tls-invalid" in {f.id for f in report.findings}
        assert report.verdict != "likely_rogue", (host, report.verdict_reason)
        assert report.verdict != "likely_legitimate"


def test_the_text_report_names_the_invalid_certificate_as_a_high_severity_finding(untrusted):
    from app.render import render_text

    report = _check(untrusted, "good-pharmacy.test")
    text = render_text(report)
    assert "[high] The site's security certificate is not valid" in text
