"""The pipeline end to end on fixture sites: crawl, redirects, errors and evidence URLs."""

from __future__ import annotations

import asyncio

from app.pipeline import Checker


def _check(sites, host, path="/", **settings):
    async def run():
        async with Checker(sites.settings(**settings)) as checker:
            return await checker.check(sites.url(host, path))

    return asyncio.run(run())


def test_meta_refresh_start_page_is_followed(sites):
    report = _check(sites, "forwarding-pharmacy.test")
    assert report.final_url == sites.url("forwarding-pharmacy.test", "/store/")
    assert sites.url("forwarding-pharmacy.test", "/") in report.redirects
    assert report.verdict == "likely_rogue"


def test_missing_subpages_are_recorded_not_fatal(sites):
    report = _check(sites, "good-pharmacy.test")
    errors = {p.url: p.error for p in report.pages}
    assert errors[sites.url("good-pharmacy.test", "/about")] == "http_error"
    assert report.pages[0].error is None and report.pages[0].https and report.pages[0].tls_valid


def test_page_budget_is_respected(sites):
    report = _check(sites, "rogue-store.test", max_pages=1)
    assert len(report.pages) == 1


def test_unreachable_site_is_unknown_with_error(sites):
    from app.settings import ResolveEntry

    # Pinned to a loopback address where nothing listens: no DNS, and the connection is refused.
    closed = (ResolveEntry("closed-site.test", sites.port, "127.0.0.1"),)
    report = _check(sites, "closed-site.test", resolve=sites.settings().resolve + closed)
    assert report.verdict == "unknown" and report.score is None
    assert report.errors and report.errors[0].code == "connect_error"


def test_deep_start_page_also_reads_the_home_page_and_its_links(sites):
    report = _check(sites, "rogue-store.test", "/faq")
    kinds = {p.kind: p.url for p in report.pages}
    assert kinds["home"] == sites.url("rogue-store.test", "/")
    assert kinds["contact"] == sites.url("rogue-store.test", "/contact")
    assert report.verdict == "likely_rogue"


def test_a_missing_start_page_keeps_its_status_and_the_site_is_judged_from_its_home_page(sites):
    report = _check(sites, "good-pharmacy.test", "/no-such-page")
    start = report.pages[0]
    assert start.url == sites.url("good-pharmacy.test", "/no-such-page") and start.kind == "start"
    assert (start.error, start.status, start.https, start.tls_valid) == ("http_error", 404, True, True)
    home = next(p for p in report.pages if p.kind == "home")
    assert home.url == sites.url("good-pharmacy.test", "/") and home.error is None
    assert report.final_url == home.url
    assert report.verdict != "unknown" and report.findings


def test_a_bad_certificate_is_https_with_an_invalid_certificate(sites):
    from app.settings import ResolveEntry

    # The fixture certificate does not name this host, so the handshake fails verification; read past it, the
    # server has no such site (404), and the record keeps both.
    stranger = (ResolveEntry("stranger.test", sites.port, sites.address),)
    report = _check(sites, "stranger.test", resolve=sites.settings().resolve + stranger)
    start = report.pages[0]
    assert (start.error, start.status, start.https, start.tls_valid) == ("http_error", 404, True, False)
    assert report.verdict == "unknown"


def test_a_page_over_the_size_cap_is_analysed_and_marked_truncated(sites):
    report = _check(sites, "rogue-store.test", max_pages=1, max_bytes=300)
    start = report.pages[0]
    assert start.truncated and start.error is None and start.status == 200
    assert report.findings
    assert [(e.code, e.url) for e in report.errors] == [("too_large", start.url)]
