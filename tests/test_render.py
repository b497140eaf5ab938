"""Rendering pages that build themselves with JavaScript (app/browser.py), in Debian's Chromium.

Few checks, each doing a lot: a render costs about a second on an idle machine and many on a busy one, so the
time limits here are generous and only the test of the time cap itself uses a short one. In CI (CI=true) a missing
browser is a failure; elsewhere the tests that need one skip and say why. The test without a browser always runs.
"""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import quote

import pytest

from app.browser import unavailable_reason
from app.page import looks_script_built, parse_page
from app.pipeline import Checker
from app.settings import Settings
from tests.fetch_helpers import RecordingResolver, hostile_settings, make_fetcher
from tests.test_fetch_forgery import forged_urls


def _browser_or_skip():
    problem = unavailable_reason(Settings())
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"rendering must be tested in CI, but {problem}")
        pytest.skip(problem)


def _check_all(settings, urls, fetcher=None):
    async def go():
        checker = Checker(settings, fetcher=fetcher or make_fetcher(settings))
        try:
            return [await checker.check(u) for u in urls], checker.renderer
        finally:
            await checker.aclose()

    return asyncio.run(go())


def _ids(report) -> set[str]:
    return {f.id for f in report.findings}


def test_what_looks_script_built():
    shell = parse_page(b'<html><body><div id="root"></div><script src="/app.js"></script></body></html>', "https://x.example/")
    assert "app root (root)" in looks_script_built(shell)
    bare = parse_page(b"<html><body><p>Loading</p><script>start()</script></body></html>", "https://x.example/")
    assert "no links" in looks_script_built(bare)
    # A short page the server wrote, with links of its own and a script, is read as sent.
    short = b'<html><body><p>Online pharmacy</p><a href="/contact">Contact</a><script>track()</script></body></html>'
    assert not looks_script_built(parse_page(short, "https://x.example/"))
    # No scripts: nothing to run, whatever little it says. Plenty of text: the server wrote it.
    assert not looks_script_built(parse_page(b'<html><body><div id="root"></div></body></html>', "https://x.example/"))
    wordy = b'<html><body><div id="app"></div><p>' + b"Our pharmacy. " * 60 + b"</p><script>x()</script></body></html>"
    assert not looks_script_built(parse_page(wordy, "https://x.example/"))


def test_a_storefront_built_in_javascript_is_judged_the_same_as_its_static_twin(sites):
    _browser_or_skip()
    resolver = RecordingResolver()
    settings = sites.settings(screenshots=True, render_timeout=20.0, check_timeout=60.0)
    fetcher = make_fetcher(settings, resolver)
    (scripted, static), _ = _check_all(settings, [sites.url("script-pills.test"), sites.url("static-pills.test")], fetcher)
    assert scripted.rendering == "rendered" and static.rendering == "not_needed", (scripted.errors, scripted.pages)
    assert all(p.rendered for p in scripted.pages if p.error is None) and not any(p.rendered for p in static.pages)
    assert [p.kind for p in scripted.pages] == [p.kind for p in static.pages] == ["start", "contact", "faq"]
    assert "prescription.no-prescription-offer" in _ids(scripted) and "payment.red-flag-only" in _ids(scripted)
    assert _ids(scripted) == _ids(static)
    assert (scripted.verdict, scripted.score) == (static.verdict, static.score) == ("likely_rogue", 0)
    assert not scripted.refused_requests and not [e for e in scripted.errors if e.code.startswith("render")]
    # Both start pages pictured, small; the browser asked DNS nothing (every request went through the fetcher).
    for report in (scripted, static):
        assert report.screenshot and (report.screenshot.width, report.screenshot.height) == (640, 400)
    assert scripted.screenshot.sha256 != static.screenshot.sha256
    assert resolver.calls == []


def test_a_rendered_page_that_calls_private_addresses_has_every_request_refused(hostile, canary):
    _browser_or_skip()
    inside = [f"http://127.0.0.1:{canary.port}/admin", f"http://[::1]:{canary.port}/", f"http://localhost:{canary.port}/"]
    # And every forged spelling from the forgery tests, as sub-resources of the page.
    forged = [u for u in forged_urls(canary.port) if u.startswith("http") and "\r" not in u and " " not in u][:16]
    redirect_inside = hostile.url("/redirect?code=302&to=" + quote(inside[0], safe=""))
    query = "&".join("to=" + quote(u, safe="") for u in [*inside, redirect_inside, *forged])
    settings = hostile_settings(hostile, canary, max_pages=1, check_timeout=60.0, page_timeout=5.0, render_timeout=30.0)
    before = canary.connections
    (report,), _ = _check_all(settings, [hostile.url("/spa/forgery?" + query)])
    time.sleep(0.5)  # anything still on its way to the canary arrives
    assert canary.connections == before
    assert report.pages[0].rendered and "prescription.no-prescription-offer" in _ids(report), report.errors
    refused = {(r.url, r.code) for r in report.refused_requests}
    codes = {code for _, code in refused}
    assert (inside[0], "blocked_destination") in refused
    assert (redirect_inside, "blocked_destination") in refused
    assert "method_not_allowed" in codes  # the form POST, the beacon, the PUT: a rendered page sends nothing
    assert {r.page for r in report.refused_requests} == {report.pages[0].url}


def test_a_page_that_never_settles_is_cut_at_the_render_time(hostile):
    _browser_or_skip()
    settings = hostile_settings(hostile, max_pages=1, check_timeout=30.0, page_timeout=3.0, render_timeout=6.0)
    started = time.monotonic()
    (busy,), renderer = _check_all(settings, [hostile.url("/spa/busy")])
    took = time.monotonic() - started
    assert renderer.available
    # What the page built before its time was up is read, and the cut is named.
    assert busy.pages[0].rendered and "prescription.no-prescription-offer" in _ids(busy), busy.errors
    assert [e.code for e in busy.errors if e.code.startswith("render")] == ["render_timeout"]
    # Cut at its own time, not at the check's 30 s: the page's 6 s, the grace for reading it, closing its context
    # and starting the browser, each seconds at most on a busy machine.
    assert took < 25, f"the check took {took:.1f} s"


def test_a_page_whose_scripts_eat_memory_is_stopped_and_the_browser_serves_the_next(hostile):
    _browser_or_skip()
    settings = hostile_settings(hostile, max_pages=1, check_timeout=60.0, page_timeout=3.0, render_timeout=30.0,
                                render_max_js_heap=64 * 1024 * 1024)
    (hog, after), _ = _check_all(settings, [hostile.url("/spa/hog"), hostile.url("/spa/plain")])
    hog_errors = [e for e in hog.errors if e.code.startswith("render")]
    assert hog_errors and hog_errors[0].code in ("render_memory", "render_failed"), hog.errors
    # The hog's page is still judged, from the HTML the server sent.
    assert hog.pages[0].error is None and not hog.pages[0].rendered and hog.findings
    assert after.pages[0].rendered and not [e for e in after.errors if e.code.startswith("render")], after.errors


def test_a_browser_that_dies_is_started_again(hostile):
    _browser_or_skip()
    import signal

    from app.browser import browser_pids

    settings = hostile_settings(hostile, max_pages=1, render="always", check_timeout=60.0, render_timeout=30.0)

    async def go():
        checker = Checker(settings, fetcher=make_fetcher(settings))
        try:
            first = await checker.check(hostile.url("/spa/plain"))
            for pid in browser_pids():  # the browser this test started (a child of this process), as a crash would
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            await asyncio.sleep(0.5)
            second = await checker.check(hostile.url("/spa/plain"))
            third = await checker.check(hostile.url("/spa/plain"))
            return first, second, third
        finally:
            await checker.aclose()

    first, second, third = asyncio.run(go())
    assert first.pages[0].rendered and third.pages[0].rendered, (first.errors, second.errors, third.errors)


def test_without_a_browser_script_built_pages_are_read_as_sent_and_the_report_says_so(sites):
    settings = sites.settings(chromium_path="/nonexistent/chromium", screenshots=True)
    (report,), renderer = _check_all(settings, [sites.url("script-pills.test")])
    assert not renderer.available and report.rendering == "unavailable" and report.screenshot is None
    assert report.pages[0].error is None and not report.pages[0].rendered
    not_rendered = [e for e in report.errors if e.code == "not_rendered"]
    assert not_rendered and "no browser" in not_rendered[0].message and not_rendered[0].url == report.pages[0].url
    (off,), renderer = _check_all(sites.settings(render="off"), [sites.url("script-pills.test")])
    assert renderer is None and off.rendering == "off"
    assert "turned off" in next(e.message for e in off.errors if e.code == "not_rendered")


def test_the_start_page_picture_is_kept_in_the_store_and_shown_small_on_the_report_page(sites, tmp_path):
    _browser_or_skip()
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.store import ScreenshotStore, open_database

    settings = sites.settings(screenshots=True, data_dir=str(tmp_path), render_timeout=20.0, check_timeout=60.0)
    app = create_app(settings)
    app.state.web_first_wait = 90  # the report page waits for the check instead of showing the waiting page
    with TestClient(app) as client:
        page = client.get("/report", params={"url": sites.url("good-pharmacy.test")})
        assert page.status_code == 200, page.text[:300]
        report = client.get("/report.json", params={"url": sites.url("good-pharmacy.test")}).json()
        shot = report["screenshot"]
        assert shot and (shot["width"], shot["height"]) == (640, 400)
        src = f'/screenshots/{shot["sha256"]}.jpg'
        assert f'src="{src}"' in page.text and 'width="320"' in page.text
        image = client.get(src)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content[:3] == b"\xff\xd8\xff" and image.headers["x-content-type-options"] == "nosniff"
        assert client.get("/screenshots/" + "0" * 64 + ".jpg").status_code == 404
        assert client.get("/screenshots/..%2Fsecret.jpg").status_code == 404
    stored = ScreenshotStore(open_database(settings.effective_database_url)).get(shot["sha256"])
    assert stored is not None and stored.data == image.content


def test_render_asked_for_without_a_browser_is_a_clear_usage_error(sites, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("PHARMACHECK_CHROMIUM", "/nonexistent/chromium")
    code = main(["check", sites.url("script-pills.test"), "--render", *sites.cli_args()])
    err = capsys.readouterr().err
    assert code == 2 and "--render" in err and "/nonexistent/chromium" in err and err.count("\n") == 1
