"""The consumer web pages and the report cache, through the HTTP interface (no browser needed)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.api.headers import CONTENT_SECURITY_POLICY
from app.api.main import create_app
from app.cache import CheckerBusy, ReportCache, canonical_url
from app.netpolicy import FetchError
from app.report import CategoryOut, EvidenceOut, FindingOut, LinkOut, PageOut, Report
from app.settings import Settings, SettingsError

HTML = {"accept": "text/html,application/xhtml+xml"}
REL = {"noopener", "noreferrer", "nofollow"}


@pytest.fixture(scope="module")
def app(sites):
    return create_app(sites.settings())


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def counted_checks(app, monkeypatch):
    """Counts the site checks the pipeline really runs, to tell a kept report from a fresh one."""
    checker = app.state.checker
    calls: list[str] = []
    real = checker.check

    async def counting(url, progress=None):
        calls.append(url)
        return await real(url, progress=progress)

    monkeypatch.setattr(checker, "check", counting)
    return calls


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "lxml")


def assert_security_headers(response, *, noindex: bool) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    if noindex:
        assert "noindex" in response.headers["x-robots-tag"]
    else:
        assert "x-robots-tag" not in response.headers


def assert_no_inline_code(page: BeautifulSoup) -> None:
    """The strict policy would block inline script and styles, so the pages must not depend on any."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith("/static/") and not script.string
    assert not page.find_all("style")
    for tag in page.find_all(True):
        assert "style" not in tag.attrs, tag
        assert not any(name.startswith("on") for name in tag.attrs), tag


# Start page and bookmarklet page


def test_home_page_has_a_labelled_field_examples_and_strict_headers(client):
    r = client.get("/", headers=HTML)
    assert r.status_code == 200
    assert_security_headers(r, noindex=False)
    page = soup(r)
    field = page.find("input", id="url")
    assert field["name"] == "url" and page.find("label", attrs={"for": "url"}).get_text(strip=True)
    assert page.find("form")["action"] == "/report" and page.find("form")["method"] == "get"
    assert page.find("main") and page.find("header") and page.find("footer") and page.find("nav")
    assert page.html["lang"] == "en"
    assert "What we check" in r.text and "Examples" in r.text
    assert_no_inline_code(page)


def test_static_files_are_served_from_the_package(client):
    css = client.get("/static/style.css")
    js = client.get("/static/app.js")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "innerHTML" not in js.text  # text from checked sites is only ever set as text


def bookmarklet_target(href: str, page_url: str) -> str:
    """Where the bookmarklet sends the browser from `page_url`, worked out from its code."""
    assert href.startswith("javascript:")
    code = unquote(href[len("javascript:"):])
    prefix = code.split("window.location.href=", 1)[1].split("+encodeURIComponent", 1)[0]
    import json

    parts = urlsplit(page_url)
    return json.loads(prefix) + quote(f"{parts.scheme}://{parts.netloc}{parts.path}", safe="~()*!.'-_")


def test_bookmarklet_points_at_the_service_and_sends_only_the_address(client):
    r = client.get("/bookmarklet", headers=HTML)
    assert r.status_code == 200
    href = soup(r).find("a", id="bookmarklet")["href"]
    target = bookmarklet_target(href, "https://shop.example/cart?session=abc#token")
    assert target.startswith("http://testserver/report?url=")
    assert parse_qs(urlsplit(target).query)["url"] == ["https://shop.example/cart"]
    assert "session" not in target and "token" not in target


def test_bookmarklet_uses_the_configured_public_url(sites):
    app = create_app(sites.settings(public_url="https://check.example.org"))
    with TestClient(app) as c:
        href = soup(c.get("/bookmarklet")).find("a", id="bookmarklet")["href"]
    assert bookmarklet_target(href, "https://x.example/").startswith("https://check.example.org/report?url=")


def test_bookmarklet_refuses_a_host_header_that_is_not_a_plain_host(client):
    r = client.get("/bookmarklet", headers={"host": "evil.example';alert(1)//"})
    assert r.status_code == 200
    assert soup(r).find("a", id="bookmarklet") is None
    assert "alert(1)" not in r.text


def test_public_url_setting_is_read_and_checked():
    assert Settings.from_env({"PHARMACHECK_PUBLIC_URL": "https://check.example/"}).public_url == "https://check.example"
    with pytest.raises(SettingsError, match="PHARMACHECK_PUBLIC_URL"):
        Settings.from_env({"PHARMACHECK_PUBLIC_URL": "javascript:alert(1)"})


# Report pages


def test_rogue_report_shows_verdict_first_then_grouped_findings_with_evidence(client, sites):
    url = sites.url("rogue-store.test")
    r = client.get("/report", params={"url": url}, headers=HTML)
    assert r.status_code == 200
    assert_security_headers(r, noindex=True)
    page = soup(r)
    assert_no_inline_code(page)
    label = page.select_one(".verdict-label")
    assert label["data-verdict"] == "likely_rogue" and "rogue" in label.get_text().lower()
    assert page.select_one(".verdict").find_next("p", class_="score").get_text().startswith("Score 0")
    areas = [s.find("h3")["id"] for s in page.select("section.area")]
    assert areas == ["area-prescription", "area-accreditation", "area-contact", "area-payment", "area-domain"]
    rx = page.select_one("#area-prescription").find_parent("section")
    assert rx.select_one(".badge-critical") and rx.select(".snippet") and rx.select_one(".todo")
    assert "No prescription needed" in rx.get_text()
    assert page.find(id="why-heading") and "starts at" in page.find(id="why-heading").find_parent("section").get_text()
    assert "When the package arrives" in r.text or "package arrives" in r.text
    registry = page.find(id="verify-heading").find_parent("section").find("a")
    assert registry["href"].startswith("https://") and set(registry["rel"]) == REL
    json_link = page.find("a", string="This report as JSON")["href"]
    assert json_link == "/report.json?url=" + quote(url, safe="")


def test_every_link_to_another_site_carries_rel_noopener_noreferrer_nofollow(client, sites):
    page = soup(client.get("/report", params={"url": sites.url("rogue-store.test")}))
    external = [a for a in page.find_all("a", href=True) if a["href"].startswith(("http://", "https://"))]
    assert external
    for a in external:
        assert set(a.get("rel", [])) == REL, a
    assert not page.find_all(["img", "iframe", "object", "embed", "link"], src=lambda s: s and "://" in s)


def test_legitimate_report_and_json_of_the_same_report(client, sites, counted_checks):
    url = sites.url("us-pharmacy.test")
    page = soup(client.get("/report", params={"url": url}))
    assert page.select_one(".verdict-label")["data-verdict"] == "likely_legitimate"
    assert page.select_one(".verdict-green") and page.select_one(".lamp-green.on")
    api = client.get(page.find("a", string="This report as JSON")["href"])
    assert api.status_code == 200 and api.json()["verdict"] == "likely_legitimate"
    assert api.json()["checked_at"] == client.get("/report.json", params={"url": url}).json()["checked_at"]
    again = client.get("/report", params={"url": url})
    assert soup(again).select_one(".checked-at").get_text() == page.select_one(".checked-at").get_text()
    assert len(counted_checks) <= 1  # at most the first view ran the pipeline; the JSON and the reload were kept


def test_pasted_forms_of_an_address_redirect_to_one_shareable_report_link(client, sites):
    pasted = "  " + sites.url("Good-Pharmacy.test", "").upper().replace("HTTPS://GOOD-PHARMACY.TEST", "https://GOOD-pharmacy.TEST") + "#reviews "
    r = client.get("/report", params={"url": pasted}, follow_redirects=False)
    assert r.status_code == 303
    assert parse_qs(urlsplit(r.headers["location"]).query)["url"] == [sites.url("good-pharmacy.test")]


@pytest.mark.parametrize(
    "given, reason",
    [
        ("", "Paste the address"),
        ("ftp://pharmacy.example/", "start with http:// or https://"),
        ("https://user:secret@pharmacy.example/", "user name or password"),
        ("https://pharmacy.example:8443/", "without a number such as \u201c:8443\u201d"),
        ("https://pharmacy example.com/", "no spaces"),
        ("https://" + "a" * 2100 + ".example/", "longer than"),
        ("javascript:alert(1)", "start with http:// or https://"),
        ("mailto:orders@pharmacy.example", "start with http:// or https://"),
    ],
)
def test_bad_addresses_get_an_error_page_with_the_reason_and_a_4xx(client, given, reason):
    r = client.get("/report", params={"url": given}, headers=HTML)
    assert r.status_code == 400
    assert_security_headers(r, noindex=True)
    page = soup(r)
    assert reason in page.find(class_="error-message").get_text()
    assert page.find("input", id="url")["value"] == given  # the form comes back filled in, to correct it
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    "given, plain, technical",
    [
        ("boots", "not a complete web address", "without a dot"),
        ("boots pharmacy", "no spaces", "control characters"),
        ("shop.com:8080", "without a number such as \u201c:8080\u201d", "Port 8080 is not allowed"),
        ("https://\U0001f48a.com/", "symbols or emoji", "IDNA 2008"),
        ("https://192.168.1.1/", "private or local network", "reserved network"),
        ("localhost", "private or local network", "internal networks"),
    ],
)
def test_a_refused_address_is_explained_in_plain_words_on_the_page_and_exactly_in_the_api(client, given, plain, technical):
    page = client.get("/report", params={"url": given}, headers=HTML)
    assert page.status_code == 400
    message = soup(page).find(class_="error-message").get_text()
    assert plain in message and technical not in page.text
    if "network" not in plain:
        assert "as it appears in your browser's address bar, for example boots.com" in message
    api = client.get("/api/v1/checks", params={"url": given})
    assert api.status_code == 400 and technical in api.json()["error"]["message"]


def test_spaces_after_the_site_name_are_encoded_by_the_page_but_refused_by_the_api(client):
    given = "pharmacy.example/my basket/item 2?q=cold cream"
    r = client.get("/report", params={"url": given}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert parse_qs(urlsplit(r.headers["location"]).query)["url"] == ["https://pharmacy.example/my%20basket/item%202?q=cold%20cream"]
    assert client.get("/api/v1/checks", params={"url": given}).status_code == 400


def test_a_refused_destination_found_during_the_check_is_a_4xx_page(client):
    # Loopback is refused when the address is looked up, not by its spelling, so the check itself refuses it.
    r = client.get("/report", params={"url": "https://127.0.0.1/"}, headers=HTML)
    assert r.status_code == 400
    assert soup(r).find(class_="error-message").get_text().strip()
    api = client.get("/api/v1/checks", params={"url": "https://127.0.0.1/"})
    assert api.status_code == 400 and api.json()["error"]["code"]


def test_unknown_pages_are_html_for_browsers_and_json_for_programs(client):
    page = client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and "Page not found" in page.text and page.headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/no-such-thing", headers=HTML)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def hostile_report(url: str) -> Report:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> \u202egpj.exe'
    return Report(
        url=url, final_url=url, checked_at="2026-01-01T00:00:00+00:00", algorithm_version="test", verdict="caution",
        score=50, grade="D", summary="A summary.", coverage=0.2,
        categories=[CategoryOut(id="contact", title="Contact and identity", score=50, weight=1.0, points=0, findings=1)],
        findings=[
            FindingOut(
                id="contact.email-found", check="contact", category="contact", outcome="email-found", severity="info",
                points=0, counted_points=0, title="An email address is given", explanation="Seen.", advice="",
                evidence=[
                    EvidenceOut(url="javascript:alert(2)", snippet=evil),
                    EvidenceOut(url="data:text/html,<b>x</b>", snippet="data link"),
                    EvidenceOut(url="https://shop.example/ok", snippet="plain"),
                ],
                verification_links=[LinkOut(label="Register <b>look-up</b>", url="javascript:alert(3)")],
            )
        ],
        pages=[
            PageOut(url=url, status=200, bytes=10, elapsed_ms=1, error=None),
            PageOut(url="https://shop.example/\u202eevil", status=200, bytes=10, elapsed_ms=1, kind="contact", error=None),
        ],
        redirects=[], errors=[],
    )


def test_text_from_the_checked_site_is_shown_as_text_and_only_web_links_are_links(app, client):
    url = "https://hostile.example/"
    app.state.reports.put(url, hostile_report(url))
    r = client.get("/report", params={"url": url})
    assert r.status_code == 200
    assert '<script>alert("x")' not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert "\u202e" not in r.text and "[U+202E]" in r.text
    page = soup(r)
    assert_no_inline_code(page)
    hrefs = [a["href"] for a in page.find_all("a", href=True)]
    assert not [h for h in hrefs if h.lower().startswith(("javascript:", "data:"))]
    assert "https://shop.example/ok" in hrefs and not [h for h in hrefs if "\u202e" in h]
    assert "javascript:alert(2)" in page.get_text()  # shown, as text
    assert "Register <b>look-up</b>" in page.get_text()


def test_the_same_site_asked_twice_is_checked_once_for_page_and_api(app, client, sites, counted_checks):
    url = sites.url("good-pharmacy.test", "/?from=cache-test")
    first = client.get("/report", params={"url": url})
    assert first.status_code == 200
    started = time.monotonic()
    api = client.get("/api/v1/checks", params={"url": url})
    assert api.status_code == 200 and time.monotonic() - started < 1.0
    post = client.post("/api/v1/checks", json={"url": url.replace("https://good-pharmacy", "https://GOOD-pharmacy")})
    assert post.json()["checked_at"] == api.json()["checked_at"]
    assert counted_checks == [url]


def test_check_again_runs_a_new_check_only_for_a_report_old_enough(app, client, sites, counted_checks):
    url = sites.url("good-pharmacy.test", "/?from=again-test")
    client.get("/report", params={"url": url})
    r = client.get("/report", params={"url": url, "again": "1"}, follow_redirects=False)
    assert r.status_code == 303 and "again" not in parse_qs(urlsplit(r.headers["location"]).query)
    client.get(r.headers["location"])
    assert len(counted_checks) == 1  # too recent to fetch the site again
    app.state.reports._reports[url].stored -= 3600
    client.get("/report", params={"url": url, "again": "1"})
    assert len(counted_checks) == 2


def test_a_slow_check_shows_a_waiting_page_naming_the_page_being_read(app, client, sites, monkeypatch):
    fetcher = app.state.checker.fetcher
    real_fetch = fetcher.fetch

    async def slow_fetch(url, *args, **kwargs):
        await asyncio.sleep(0.4)
        return await real_fetch(url, *args, **kwargs)

    monkeypatch.setattr(fetcher, "fetch", slow_fetch)
    monkeypatch.setattr(app.state, "web_first_wait", 0.1, raising=False)
    url = sites.url("rogue-store.test", "/?from=slow-test")
    first = client.get("/report", params={"url": url}, headers=HTML)
    assert first.status_code == 202
    assert first.headers["cache-control"] == "no-store" and "noindex" in first.headers["x-robots-tag"]
    page = soup(first)
    refresh = page.find("noscript").find("meta", attrs={"http-equiv": "refresh"})
    assert refresh and "/report?url=" in refresh["content"]
    assert int(refresh["content"].split(";")[0]) >= 5  # a reload restarts screen readers: not every 2 seconds
    assert page.find("a", string="Refresh now")["href"] == "/report?url=" + quote(url, safe="")
    box = page.find(id="progress")
    assert box.find(attrs={"role": "status"}) and box["data-status-url"].startswith("/report/status?url=")
    assert page.find(id="progress-page").get_text() == url  # "Opening <the address>"
    status = client.get(box["data-status-url"]).json()
    assert status["state"] == "running" and status["page"] and status["pages"][0] == url
    deadline = time.monotonic() + 15
    while client.get(box["data-status-url"]).json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    final = client.get("/report", params={"url": url}, headers=HTML)
    assert final.status_code == 200 and soup(final).select_one(".verdict-label")["data-verdict"] == "likely_rogue"


def test_before_the_first_page_opens_the_waiting_page_names_the_site_in_plain_words():
    from app.api.routes_web import progress_line
    from app.cache import CheckJob

    job = CheckJob(key="https://pharmacy.example/shop?x=1", loop=None)
    assert progress_line(job, job.key) == ("Checking", "pharmacy.example\u2026")
    job.stage, job.current_url = "fetching", "https://pharmacy.example/shop?x=1"
    assert progress_line(job, job.key) == ("Opening", "https://pharmacy.example/shop?x=1")


def test_status_of_an_address_nobody_asked_about(client):
    assert client.get("/report/status", params={"url": "https://never-asked.example/"}).json()["state"] == "none"
    assert client.get("/report/status", params={"url": "ftp://x"}).status_code == 400


def test_too_many_checks_at_once_is_a_503_with_retry_after(app, client, monkeypatch):
    monkeypatch.setattr(app.state.reports, "max_running", 0)
    page = client.get("/report", params={"url": "https://busy.example/"}, headers=HTML)
    assert page.status_code == 503 and page.headers["retry-after"]
    api = client.get("/api/v1/checks", params={"url": "https://busy.example/"})
    assert api.status_code == 503 and api.json()["error"]["code"] == "busy"


# Cross-origin API


def test_api_answers_cross_origin_gets_without_credentials(client, sites):
    r = client.get("/api/v1/checks", params={"url": sites.url("rogue-store.test")}, headers={"origin": "https://elsewhere.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert "noindex" in r.headers["x-robots-tag"]
    pre = client.options("/api/v1/checks", headers={"origin": "https://elsewhere.example", "access-control-request-method": "GET"})
    assert pre.status_code == 204 and "GET" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in pre.headers
    err = client.get("/api/v1/checks", params={"url": "ftp://x"}, headers={"origin": "https://elsewhere.example"})
    assert err.status_code == 400 and err.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in client.get("/", headers={"origin": "https://elsewhere.example"}).headers


# The cache itself


@pytest.mark.parametrize(
    "given, key",
    [
        ("example.com", "https://example.com/"),
        ("  HTTPS://Example.COM.:443/Path?q=A#frag ", "https://example.com/Path?q=A"),
        ("http://example.com:80", "http://example.com/"),
        ("https://[2606:4700:0::1111]/", "https://[2606:4700::1111]/"),  # 2001:db8::/32 is refused before DNS
    ],
)
def test_canonical_url(given, key):
    assert canonical_url(given) == key
    assert canonical_url(key) == key


def test_canonical_url_refuses_what_cannot_be_checked():
    with pytest.raises(FetchError):
        canonical_url("mailto:someone@example.com")


class _StubChecker:
    """Stands in for the pipeline to test what the cache does with its answers and its timing."""

    def __init__(self, settings=Settings()):
        self.settings = settings
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.fail: FetchError | None = None

    async def check(self, url, progress=None):
        self.calls.append(url)
        if progress:
            progress("fetching", url)
        await self.release.wait()
        if self.fail:
            raise self.fail
        return hostile_report(url)


def test_cache_joins_running_checks_and_expires_reports():
    now = [1000.0]

    async def scenario():
        stub = _StubChecker()
        cache = ReportCache(stub, ttl=600, clock=lambda: now[0])
        waiting = [asyncio.create_task(cache.check("example.com")) for _ in range(3)]
        for _ in range(3):  # let the waiting tasks and the check they started run up to the wait
            await asyncio.sleep(0)
        job = cache.job("https://example.com/")
        assert job.state == "running" and job.stage == "fetching" and job.pages == ["https://example.com/"]
        stub.release.set()
        reports = await asyncio.gather(*waiting)
        assert stub.calls == ["https://example.com/"] and reports[0] is reports[1] is reports[2]
        assert await cache.check("https://EXAMPLE.com") is reports[0]
        now[0] += 601
        assert cache.get("https://example.com/") is None
        await cache.check("example.com")
        assert len(stub.calls) == 2
        await cache.aclose()

    asyncio.run(scenario())


def test_cache_keeps_a_refusal_briefly_and_never_as_a_report():
    async def scenario():
        stub = _StubChecker()
        stub.fail = FetchError("blocked_destination", "That address is on a private network.")
        stub.release.set()
        cache = ReportCache(stub, ttl=600)
        with pytest.raises(FetchError, match="private network"):
            await cache.check("https://intranet.example/")
        assert cache.get("https://intranet.example/") is None
        assert cache.job("https://intranet.example/").error_code == "blocked_destination"
        assert len(cache) == 0

    asyncio.run(scenario())


def test_cache_limits_how_many_sites_are_checked_at_once():
    async def scenario():
        stub = _StubChecker()
        cache = ReportCache(stub, ttl=600, max_running=1)
        cache.start("https://one.example/")
        assert cache.start("https://one.example/") is cache.job("https://one.example/")  # joining is always allowed
        with pytest.raises(CheckerBusy):
            cache.start("https://two.example/")
        await cache.aclose()

    asyncio.run(scenario())


def test_cache_evicts_the_least_recently_used_report():
    cache = ReportCache(_StubChecker(), ttl=600, max_entries=2)
    for name in ("a", "b", "c"):
        cache.put(f"https://{name}.example/", hostile_report(f"https://{name}.example/"))
    assert cache.get("https://a.example/") is None and cache.get("https://c.example/") is not None


def test_without_kept_reports_a_finished_check_is_still_found_by_the_reloading_page():
    now = [0.0]

    async def scenario():
        stub = _StubChecker()
        stub.release.set()
        cache = ReportCache(stub, ttl=0, clock=lambda: now[0])
        job = cache.start("https://example.com/")
        await cache.wait(job, 5)
        assert cache.get("https://example.com/") is None
        assert cache.start("https://example.com/") is job and job.report is not None
        assert len(stub.calls) == 1
        now[0] += 61
        await cache.wait(cache.start("https://example.com/"), 5)
        assert len(stub.calls) == 2

    asyncio.run(scenario())


def test_cache_ttl_is_read_from_the_environment():
    assert Settings.from_env({"PHARMACHECK_CACHE_TTL": "0"}).cache_ttl == 0
    with pytest.raises(SettingsError, match="PHARMACHECK_CACHE_TTL"):
        Settings.from_env({"PHARMACHECK_CACHE_TTL": "soon"})


def test_the_page_limits_new_checks_per_visitor_but_not_kept_reports(sites):
    app = create_app(sites.settings(rate_limit_anonymous="2/minute"))
    with TestClient(app) as c:
        for n in (1, 2):
            assert c.get("/report", params={"url": sites.url("good-pharmacy.test", f"/?n={n}")}).status_code == 200
        again = c.get("/report", params={"url": sites.url("good-pharmacy.test", "/?n=1")})
        assert again.status_code == 200  # a kept report costs nothing
        over = c.get("/report", params={"url": sites.url("good-pharmacy.test", "/?n=3")}, headers=HTML)
        assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
        assert "Try again in" in soup(over).find(class_="error-message").get_text()


def test_with_api_keys_the_page_works_without_one_but_its_json_needs_one(sites):
    app = create_app(sites.settings(api_keys=("s3cret-key",)))
    url = sites.url("rogue-store.test")
    with TestClient(app) as c:
        page = soup(c.get("/report", params={"url": url}))
        assert page.select_one(".verdict-label")["data-verdict"] == "likely_rogue"
        # /report.json is a JSON answer like any other: with keys required it needs one, so the page, which
        # works without a key by design, does not offer a link that would answer 401.
        assert page.find("a", string="This report as JSON") is None
        refused = c.get("/report.json", params={"url": url})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_required"
        data = c.get("/report.json", params={"url": url}, headers={"X-API-Key": "s3cret-key"})
        assert data.status_code == 200 and data.json()["verdict"] == "likely_rogue"
        assert c.get("/api/v1/checks", params={"url": url}).status_code == 401
        missing = c.get("/report.json", params={"url": "https://never-checked.example/"}, headers={"X-API-Key": "s3cret-key"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_checked"


def test_a_site_that_cannot_be_reached_gets_a_report_that_says_so(sites):
    import socket

    from app.settings import ResolveEntry

    with socket.socket() as s:  # a port on the fixture address that nothing listens on
        s.bind((sites.address, 0))
        closed = s.getsockname()[1]
    settings = sites.settings()
    settings = settings.with_(
        resolve=settings.resolve + (ResolveEntry("closed-shop.test", closed, sites.address),),
        allowed_ports=settings.allowed_ports + (closed,),
    )
    with TestClient(create_app(settings)) as c:
        r = c.get("/report", params={"url": f"https://closed-shop.test:{closed}/"}, headers=HTML)
    assert r.status_code == 200
    page = soup(r)
    assert page.select_one(".verdict-label")["data-verdict"] == "unknown"
    assert page.select_one(".verdict-grey") and "No score" in page.select_one(".score").get_text()
    assert "could not read any page" in page.find(id="why-heading").find_parent("section").get_text()
    pages = page.find(id="pages-heading").find_parent("section").get_text()
    assert "not read: The site did not let us in" in pages and "Could not connect" not in pages
    assert_nothing_read_says_so_once(page)


def assert_nothing_read_says_so_once(page) -> None:
    found = page.find(id="findings-heading").find_parent("section")
    assert not found.select(".area") and "Not enough to judge" not in found.get_text()
    assert "no page of this site could be opened" in found.get_text()
    assert "on the pages we read" not in page.get_text()


def test_an_address_that_does_not_exist_is_explained_in_plain_words(client):
    r = client.get("/report", params={"url": "https://no-such-shop.test/"}, headers=HTML)
    page = soup(r)
    assert page.select_one(".verdict-label")["data-verdict"] == "unknown"
    why = page.find(id="why-heading").find_parent("section").get_text()
    assert "This address does not exist or is not online" in why
    assert "has no addresses" not in r.text and "could not be resolved" not in r.text
    assert_nothing_read_says_so_once(page)
    api = client.get("/api/v1/checks", params={"url": "https://no-such-shop.test/"}).json()
    assert api["errors"][0]["code"] == "dns_error"  # the technical reason stays in the JSON


from hypothesis import given, settings as hypothesis_settings, strategies as st

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTPS", ""]),
    labels=st.lists(_label, min_size=1, max_size=3),
    port=st.sampled_from(["", ":80", ":443", ":8443"]),
    path=st.text(alphabet="abc/%.-_~?=&#", max_size=20),
    spaces=st.sampled_from(["", " ", "\t"]),
)
def test_canonical_url_is_stable_and_refuses_like_the_pipeline(scheme, labels, port, path, spaces):
    given_url = f"{spaces}{scheme + '://' if scheme else ''}{'.'.join(labels)}{port}{path}{spaces}"
    try:
        key = canonical_url(given_url)
    except FetchError:
        return
    assert canonical_url(key) == key
    assert "#" not in key and key == key.strip()


# API docs, HEAD and the JSON report across origins


def test_api_docs_page_loads_nothing_from_elsewhere_and_keeps_the_strict_policy(client):
    r = client.get("/docs", headers=HTML)
    assert r.status_code == 200
    assert_security_headers(r, noindex=False)
    page = soup(r)
    assert_no_inline_code(page)
    for tag in page.find_all(["script", "link", "img", "iframe"]):
        ref = tag.get("src") or tag.get("href") or ""
        assert ref.startswith("/"), tag
    listed = {code.get_text() for code in page.select("dt code")}
    assert {"GET /api/v1/checks", "POST /api/v1/checks", "POST /api/v1/batches", "GET /api/v1/rules"} <= listed
    assert page.find("a", href="/openapi.json")
    assert client.get("/openapi.json").json()["paths"]["/api/v1/checks"]
    assert client.get("/redoc").status_code == 404
    footer_link = soup(client.get("/", headers=HTML)).find("a", string="JSON API for programs")
    assert footer_link["href"] == "/docs"


def test_api_docs_show_inline_code_from_the_descriptions_as_code(client):
    page = soup(client.get("/docs", headers=HTML))
    post = next(dt for dt in page.select("dt") if dt.get_text() == "POST /api/v1/checks").find_next_sibling("dd")
    assert "`" not in post.get_text()
    assert '{"url": ...}' in [code.get_text() for code in post.find_all("code")]
    assert "`" not in page.select_one("dl.endpoints").get_text()


def test_inline_code_escapes_before_it_marks_code():
    from app.api.templating import inline_code

    assert str(inline_code('Send `{"url": "<b>"}` & wait')) == 'Send <code>{&#34;url&#34;: &#34;&lt;b&gt;&#34;}</code> &amp; wait'
    assert str(inline_code("`<script>alert(1)</script>`")) == "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"
    assert str(inline_code("one ` stray backtick")) == "one ` stray backtick"
    assert str(inline_code("``")) == "``"


@pytest.mark.parametrize("path", ["/", "/bookmarklet", "/docs"])
def test_pages_answer_head(client, path):
    r = client.head(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_the_json_report_answers_cross_origin_gets_without_credentials(client, sites):
    url = sites.url("rogue-store.test")
    client.get("/report", params={"url": url}, headers=HTML)
    r = client.get("/report.json", params={"url": url}, headers={"origin": "https://elsewhere.example"})
    assert r.status_code == 200 and r.json()["verdict"]
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    missing = client.get("/report.json", params={"url": "https://never-asked.example/"}, headers={"origin": "https://elsewhere.example"})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "*"


def test_a_site_read_but_too_thin_to_judge_says_so_instead_of_could_not_read(rules):
    from app.api.routes_web import report_view
    from app.page import page_from_text
    from app.pipeline import judge_site, site_from_pages

    url = "https://quiet.example/terms"
    report = judge_site(rules, site_from_pages(url, [page_from_text("Pharmacy terms of use. These terms govern ordering medicines from our online pharmacy.", url)]))
    assert report.verdict == "unknown" and report.score is None
    assert report.summary == rules.data.summaries["unknown"].strip()
    assert "too little" in report_view(report, rules, url)["no_score_reason"]


def test_the_page_marks_every_invisible_character_the_report_strips():
    # One set of invisible characters for page strings and for the page that shows them: a tag character or a
    # Mongolian vowel separator in a checked address is shown as a mark, not passed to the screen.
    from app.api.templating import visible
    from app.invisible import INVISIBLE_RANGES

    for first, last in INVISIBLE_RANGES:
        for code in {first, last}:
            shown = str(visible(f"a{chr(code)}b"))
            assert f"[U+{code:04X}]" in shown and chr(code) not in shown, hex(code)


# Security headers on every answer, errors included


def assert_headers_everywhere(response, *, api: bool) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    if api:
        assert response.headers["access-control-allow-origin"] == "*"


def test_an_oversized_body_is_refused_with_the_usual_headers(client):
    r = client.post("/api/v1/checks", content=b"{" + b" " * 2_000_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    assert_headers_everywhere(r, api=True)


def test_a_preflight_carries_the_full_set_of_headers(client):
    pre = client.options("/api/v1/checks", headers={"origin": "https://elsewhere.example", "access-control-request-method": "POST"})
    assert pre.status_code == 204
    assert_headers_everywhere(pre, api=True)


def test_static_files_carry_the_headers(client):
    r = client.get("/static/app.js")
    assert r.status_code == 200
    assert_headers_everywhere(r, api=False)


@pytest.fixture
def failing_app(sites):
    app = create_app(sites.settings())

    async def boom():
        raise RuntimeError("secret detail of the failure")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    return app


def test_a_crash_is_the_error_object_or_page_with_the_headers(failing_app):
    with TestClient(failing_app) as c:
        api = c.get("/api/v1/boom", headers=HTML)
        page = c.get("/boom", headers=HTML)
    assert api.status_code == 500 and api.json()["error"]["code"] == "internal_error"
    assert_headers_everywhere(api, api=True)
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in soup(page).find("h1").get_text()
    assert_headers_everywhere(page, api=False)
    assert "secret detail" not in api.text + page.text


def test_a_crash_before_any_answer_is_still_answered_with_the_headers():
    from app.api.headers import SecurityHeadersMiddleware

    async def broken(scope, receive, send):
        raise RuntimeError("failed before answering")

    c = TestClient(SecurityHeadersMiddleware(broken))  # not entered: the stand-in app has no start-up
    api = c.get("/api/v1/checks")
    page = c.get("/report", headers=HTML)
    assert api.status_code == 500 and api.json()["error"]["code"] == "internal_error"
    assert_headers_everywhere(api, api=True)
    assert page.status_code == 500 and "Something went wrong" in page.text
    assert_headers_everywhere(page, api=False)


def test_a_site_that_is_not_a_pharmacy_has_no_points_anywhere_on_its_page(client, sites):
    page = soup(client.get("/report", params={"url": sites.url("corner-bakery.test")}, headers=HTML))
    assert page.select_one(".verdict-label")["data-verdict"] == "not_a_pharmacy"
    assert page.select_one(".score").get_text().startswith("No score")
    why = page.find(id="why-heading").find_parent("section").get_text()
    assert "do not apply" in why
    assert "points" not in page.find("main").get_text()


@pytest.mark.parametrize("site", ["rogue-store.test", "us-pharmacy.test", "uk-chemist.test"])
def test_report_landmarks_and_headings_serve_a_screen_reader(client, sites, site):
    page = soup(client.get("/report", params={"url": sites.url(site)}, headers=HTML))
    article, verdict = page.find("article"), page.select_one("section.verdict")
    assert article["aria-labelledby"] != verdict["aria-labelledby"]
    assert page.find(id=article["aria-labelledby"]) and page.find(id=verdict["aria-labelledby"])
    # Named sections are landmark regions; the five areas are not, so the page keeps a short list of them.
    regions = [s for s in page.find_all("section") if s.get("aria-labelledby") or s.get("aria-label")]
    assert len(regions) <= 7 and not [s for s in page.select("section.area") if s.get("aria-labelledby") or s.get("aria-label")]
    for area in page.select("section.area"):
        for item in area.select("li.finding"):
            title = item.find(class_="finding-title")
            assert title.name == "h4" and title.find_previous(["h3", "h2"]).name == "h3"
            todo, links = item.find(class_="todo"), item.find(class_="finding-links")
            if todo and "below" in todo.get_text():
                assert links and links in todo.find_all_next(class_="finding-links"), todo.get_text()


def test_some_finding_advice_points_down_to_its_registry_link(client, sites):
    advice = []
    for site in ("rogue-store.test", "us-pharmacy.test", "uk-chemist.test", "maple-meds.test", "offshore-pills.test"):
        page = soup(client.get("/report", params={"url": sites.url(site)}, headers=HTML))
        advice += [t.get_text() for t in page.select("li.finding .todo") if "below" in t.get_text()]
    assert advice  # otherwise the ordering test above proves nothing


def test_api_docs_show_the_limits_the_error_codes_and_curl_examples(sites, tmp_path):
    from app.api.error_codes import ERROR_CODES

    app = create_app(sites.settings(data_dir=str(tmp_path), rate_limit_anonymous="12/minute", api_quota="5000/month"))
    with TestClient(app) as c:
        page = soup(c.get("/docs", headers=HTML))
        assert_no_inline_code(page)
        limits = page.select_one("ul.limits").get_text(" ", strip=True)
        assert "12 checks per minute" in limits and "600 checks per minute" in limits and "5000/month" in limits
        rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in page.select("table.error-codes tbody tr")]
        assert [(int(r[0]), r[1]) for r in rows] == [(e.status, e.code) for e in ERROR_CODES]
        examples = [pre.get_text() for pre in page.select("pre code")]
        assert any("curl" in e and "/api/v1/checks" in e and "X-API-Key" in e for e in examples)
        assert any("/api/v1/batches" in e for e in examples) and any("/api/v1/usage" in e for e in examples)
        assert all("http://testserver" in e for e in examples if "curl" in e)  # this service's own address
        assert "optional" in page.find(id="keys-heading").find_parent("section").get_text()
    with TestClient(create_app(sites.settings(data_dir=str(tmp_path / "keyed"), api_keys=("k",)))) as c:
        keys = soup(c.get("/docs", headers=HTML)).find(id="keys-heading").find_parent("section").get_text(" ", strip=True)
        assert "needs an API key on every JSON answer" in keys and "/report/status" in keys and "/healthz" in keys
