"""The web page and the bookmarklet in a real browser: Debian's Chromium, headless, driven by Playwright.

The service runs on loopback with uvicorn and checks the fixture pharmacy sites; the browser reaches the
fixture sites by the same names (a host-resolver rule) and is told to accept their test certificate. Screenshots
of the start page and of a rogue and a legitimate report are written to test-artifacts/.

In CI (CI=true) a missing browser is a failure; elsewhere these tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.api.headers import CONTENT_SECURITY_POLICY
from app.api.main import create_app

CHROMIUM = os.environ.get("PHARMACHECK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def _browser_or_skip():
    in_ci = os.environ.get("CI", "").lower() == "true"
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright Python package is not installed (pip install playwright)"
        sync_playwright = None
    if problem is None and not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PHARMACHECK_CHROMIUM)"
    if problem:
        if in_ci:
            pytest.fail(f"browser tests must run in CI, but {problem}")
        pytest.skip(problem)
    return sync_playwright


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class _Service:
    """pharmacheck served by uvicorn in a thread on loopback."""

    def __init__(self, app):
        import uvicorn

        self.app = app
        self.port = _free_port("127.0.0.1")
        self.origin = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.05)

    def close(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def playwright_api():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_api, sites):
    # The fixture sites' names lead to their loopback address, as --resolve does for the service.
    rules = ",".join(f"MAP {host} {sites.address}" for host in sites.hosts)
    browser = playwright_api.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [f"--host-resolver-rules={rules}"]
    )
    yield browser
    browser.close()


def _start_service(sites, data_dir) -> _Service:
    # A store of its own: a report another test kept would answer at once, and no waiting page would show.
    app = create_app(sites.settings(data_dir=str(data_dir)))
    # Always show the waiting page first, so the browser goes through it even on fast fixture sites.
    app.state.web_first_wait = 0
    return _Service(app)


@pytest.fixture(scope="module")
def service(sites, tmp_path_factory):
    running = _start_service(sites, tmp_path_factory.mktemp("browser-service"))
    yield running
    running.close()


@pytest.fixture
def fresh_service(sites, tmp_path):
    """A service that has checked nothing yet."""
    running = _start_service(sites, tmp_path)
    yield running
    running.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, ignore_https_errors=True)
    page = context.new_page()
    page.dialogs = []
    page.csp_errors = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text))
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _check_through_the_form(page, service, address: str) -> str:
    page.goto(service.origin + "/")
    page.get_by_label("Pharmacy website address").fill(address)
    page.get_by_label("Pharmacy website address").press("Enter")
    page.wait_for_selector(".verdict-label")
    return page.locator(".verdict-label").inner_text()


def test_start_page_and_its_content_security_policy(page, service):
    response = page.goto(service.origin + "/")
    assert response.status == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["referrer-policy"] == "no-referrer"
    assert page.get_by_role("main").is_visible()
    assert page.get_by_role("button", name="Check this pharmacy").is_visible()
    # The stylesheet is applied (it is the only one, and it comes from the service itself).
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") == "rgb(29, 58, 95)"
    _screenshot(page, "home.png")
    page.set_viewport_size({"width": 390, "height": 844})
    _screenshot(page, "home-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Keyboard: the first Tab reaches the skip link, which leads to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.csp_errors == []


def test_paste_an_address_and_read_the_verdict(page, service, sites):
    verdict = _check_through_the_form(page, service, sites.url("us-pharmacy.test"))
    assert verdict == "Likely legitimate"
    assert "Score" in page.locator(".score").inner_text()
    assert page.locator("section.area").count() == 5
    assert parse_qs(urlsplit(page.url).query)["url"] == [sites.url("us-pharmacy.test")]
    _screenshot(page, "report-legitimate.png")
    # The JSON of the same report is one click away.
    with page.expect_response(lambda r: "/report.json?" in r.url) as answer:
        page.get_by_role("link", name="This report as JSON").click()
    assert answer.value.json()["verdict"] == "likely_legitimate"
    assert page.csp_errors == []


def test_with_javascript_the_waiting_page_follows_the_check_page_by_page(page, service, sites, monkeypatch):
    fetcher = service.app.state.checker.fetcher
    real_fetch = fetcher.fetch

    async def slow_fetch(url, *args, **kwargs):  # a slow pharmacy, so that there is time to watch
        import asyncio

        await asyncio.sleep(0.8)
        return await real_fetch(url, *args, **kwargs)

    monkeypatch.setattr(fetcher, "fetch", slow_fetch)
    address = sites.url("rogue-store.test", "/?from=slow")
    page.goto(service.origin + "/")
    page.get_by_label("Pharmacy website address").fill(address)
    page.get_by_label("Pharmacy website address").press("Enter")
    page.wait_for_selector("#progress")
    # The script replaces the "Opening" line by "Reading" and lists the pages as the check reaches them.
    page.locator("#progress-stage", has_text="Reading").wait_for()
    assert page.locator("#progress-page").inner_text().startswith(sites.url("rogue-store.test"))
    assert page.locator("#progress-pages li").count() >= 2
    assert page.get_by_role("status").is_visible()
    _screenshot(page, "progress.png")
    page.wait_for_selector(".verdict-label")
    assert page.locator(".verdict-label").get_attribute("data-verdict") == "likely_rogue"
    assert page.csp_errors == []


def test_without_javascript_the_waiting_page_refreshes_into_the_report(browser, fresh_service, sites):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    try:
        response = page.goto(fresh_service.origin + "/report?url=" + sites.url("rogue-store.test"))
        assert response.status == 202
        assert "Checking" in page.locator("h1").inner_text()
        _screenshot(page, "progress-no-javascript.png")
        page.wait_for_selector(".verdict-label", timeout=20_000)
        assert page.locator(".verdict-label").inner_text() == "Likely rogue: do not buy here"
        assert page.locator(".verdict-red").is_visible()
        _screenshot(page, "report-rogue.png")
        page.set_viewport_size({"width": 390, "height": 844})
        _screenshot(page, "report-rogue-phone.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_bookmarklet_opens_the_report_for_the_page_it_is_pressed_on(page, service, sites):
    page.goto(service.origin + "/bookmarklet")
    href = page.locator("#bookmarklet").get_attribute("href")
    assert href.startswith("javascript:")
    assert page.locator("#bookmarklet-code").input_value() == href
    _screenshot(page, "bookmarklet.png")

    shop_page = sites.url("rogue-store.test", "/?session=s3cret#basket")
    response = page.goto(shop_page)
    assert response.status == 200 and "Best prices" in page.content()
    # Pressing a bookmarklet runs its code in the page it is pressed on, which is what evaluate does.
    from urllib.parse import unquote

    with page.expect_navigation():
        page.evaluate(unquote(href[len("javascript:"):]))
    page.wait_for_selector(".verdict-label")
    landed = urlsplit(page.url)
    assert f"{landed.scheme}://{landed.netloc}" == service.origin and landed.path == "/report"
    assert parse_qs(landed.query)["url"] == [sites.url("rogue-store.test", "/")]  # no query, no fragment
    assert page.locator(".verdict-label").get_attribute("data-verdict") == "likely_rogue"


def test_pressing_the_bookmarklet_on_its_own_page_says_to_drag_it(page, service):
    page.goto(service.origin + "/bookmarklet")
    hint = "Drag this button to your bookmarks bar; then press it on a pharmacy's site"
    assert hint in page.locator("#bookmarklet-hint").inner_text()  # also there without the script
    page.get_by_role("link", name="Check with pharmacheck").click()
    message = page.get_by_role("status")
    message.filter(has_text=hint).wait_for()
    assert page.url == service.origin + "/bookmarklet"
    _screenshot(page, "bookmarklet-pressed.png")
    assert page.csp_errors == []


def test_the_bookmarklet_works_on_a_page_whose_own_policy_blocks_every_script(page, service, sites):
    """A bookmark is run by the browser, not by the page, so the page's Content-Security-Policy does not apply.

    Playwright cannot press a bookmark, and `page.evaluate` runs code through DevTools, which no page policy
    blocks either, so it proves nothing here. The closest real thing is a browser-initiated navigation of the tab
    to the `javascript:` address, which is what a bookmark (or typing it in the address bar) does: DevTools'
    `Page.navigate`. The test first shows the page's policy is in force (its inline script and a `javascript:`
    link the page itself follows are both blocked), then navigates to the bookmarklet and lands on the report.
    What is not covered: a browser's bookmark bar itself, and browsers other than Chromium.
    """
    page.goto(service.origin + "/bookmarklet")
    href = page.locator("#bookmarklet").get_attribute("href")

    shop_page = sites.url("rogue-store.test", "/strict-csp?order=77#pay")
    response = page.goto(shop_page)
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.title() == "Rogue store checkout"  # the page's inline script was blocked
    page.csp_errors.clear()
    page.click("#page-javascript-link")
    page.wait_for_timeout(300)
    assert page.title() == "Rogue store checkout" and page.url == shop_page
    assert any("javascript" in e.lower() for e in page.csp_errors), page.csp_errors

    session = page.context.new_cdp_session(page)
    with page.expect_navigation(url=lambda u: u.startswith(service.origin + "/report")):
        session.send("Page.navigate", {"url": href})
    page.wait_for_selector(".verdict-label")
    landed = urlsplit(page.url)
    assert parse_qs(landed.query)["url"] == [sites.url("rogue-store.test", "/strict-csp")]  # no query, no fragment


def test_a_hostile_page_title_shows_as_text(page, service, sites):
    address = sites.url("hostile-title.test", "/?ref=\u202egpj.exe")
    _check_through_the_form(page, service, address)
    assert page.dialogs == []
    assert page.title() != "owned"
    # The odd characters of the address are shown percent-encoded, as the canonical address carries them, not obeyed.
    checked = page.locator(".checked-site").inner_text()
    assert "\u202e" not in checked and "%E2%80%AEgpj.exe" in checked
    notes = page.locator("details.notes summary")
    for i in range(notes.count()):  # open every "Also noted" with the keyboard
        notes.nth(i).focus()
        page.keyboard.press("Enter")
    _screenshot(page, "report-hostile.png")
    text = page.locator("main").inner_text()
    assert '<script>alert("title")</script><img src=x onerror=alert(1)>' in text
    assert "<img src=x onerror=alert(2)>" in text
    assert page.locator("main img, main script").count() == 0
    for href in page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert not href.lower().startswith(("javascript:", "data:"))
    assert page.csp_errors == []


def test_a_bad_address_gets_a_page_that_says_what_was_wrong(page, service):
    page.goto(service.origin + "/")
    field = page.get_by_label("Pharmacy website address")
    field.fill("ftp://pharmacy.example/")
    with page.expect_navigation() as navigation:
        field.press("Enter")
    assert navigation.value.status == 400
    assert "start with http:// or https://" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Pharmacy website address").input_value() == "ftp://pharmacy.example/"
    _screenshot(page, "error.png")


def _phone_screenshot(page, name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _screenshot(page, name)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_address_on_a_private_network_gets_a_plain_refusal(page, service):
    response = page.goto(service.origin + "/report?url=https://192.168.1.1/")
    assert response.status == 400
    assert page.get_by_role("heading", level=1).inner_text() == "This address cannot be checked"
    alert = page.get_by_role("alert").inner_text()
    assert "private or local network" in alert and "not to a public website" in alert
    assert "reserved" not in page.locator("main").inner_text()
    assert page.get_by_label("Pharmacy website address").input_value() == "https://192.168.1.1/"
    _screenshot(page, "error-blocked.png")
    _phone_screenshot(page, "error-blocked-phone.png")
    assert page.csp_errors == []


def test_too_many_new_checks_get_a_page_that_says_when_to_try_again(browser, sites):
    app = create_app(sites.settings(rate_limit_anonymous="1/minute"))
    limited = _Service(app)
    context = browser.new_context(viewport={"width": 1100, "height": 900}, ignore_https_errors=True)
    try:
        page = context.new_page()
        assert page.goto(limited.origin + "/report?url=" + sites.url("good-pharmacy.test", "/?n=limit-1")).ok
        page.wait_for_selector(".verdict-label")
        response = page.goto(limited.origin + "/report?url=" + sites.url("good-pharmacy.test", "/?n=limit-2"))
        assert response.status == 429 and int(response.headers["retry-after"]) > 0
        assert page.get_by_role("heading", level=1).inner_text() == "Too many checks"
        assert "Try again in" in page.get_by_role("alert").inner_text()
        assert page.get_by_role("link", name="Go to the start page").is_visible()
        _screenshot(page, "rate-limited.png")
    finally:
        context.close()
        limited.close()


def test_a_site_that_does_not_exist_gets_a_report_that_says_so_plainly(page, service):
    page.goto(service.origin + "/report?url=https://no-such-shop.test/")
    page.wait_for_selector(".verdict-label")
    assert page.locator(".verdict-label").inner_text() == "We could not tell"
    text = page.locator("main").inner_text()
    assert "This address does not exist or is not online" in text
    assert "no page of this site could be opened" in text
    assert "Not enough to judge" not in text and "on the pages we read" not in text
    assert "could not be resolved" not in text and "has no addresses" not in text
    _screenshot(page, "report-unreadable.png")
    _phone_screenshot(page, "report-unreadable-phone.png")
    assert page.csp_errors == []


def test_a_site_that_is_not_a_pharmacy_shows_no_score_and_no_points(page, service, sites):
    page.goto(service.origin + "/report?url=" + sites.url("corner-bakery.test"))
    page.wait_for_selector(".verdict-label")
    assert page.locator(".verdict-label").inner_text() == "Not an online pharmacy"
    assert page.locator(".score").inner_text().startswith("No score")
    assert "points" not in page.locator("main").inner_text()
    _screenshot(page, "report-not-a-pharmacy.png")
    _phone_screenshot(page, "report-not-a-pharmacy-phone.png")
    assert page.csp_errors == []
