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
