"""Request forgery: every way of pointing pharmacheck at an internal address is refused without a connection.

The canary on 127.0.0.1 stands for an internal service; the recording dialer sees every connection the live
transport would make. Both must stay at zero for every refused vector.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from app.netpolicy import FetchError
from app.settings import ResolveEntry
from tests.fetch_helpers import FakeResolver, RecordingDialer, hostile_settings, make_fetcher
from tests.hostile_server import CANARY_ADDRESS

REFUSED = ("blocked_destination", "invalid_url")


def forged_urls(canary_port: int) -> list[str]:
    p = canary_port
    return [
        f"http://127.0.0.1:{p}/",
        f"http://2130706433:{p}/",
        f"http://0x7f000001:{p}/",
        f"http://0177.0.0.1:{p}/",
        f"http://0x7f.0.0.1:{p}/",
        f"http://127.1:{p}/",
        f"http://127.0.1:{p}/",
        f"http://0:{p}/",
        f"http://0.0.0.0:{p}/",
        f"http://[::1]:{p}/",
        f"http://[::]:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/",
        f"http://[::ffff:7f00:1]:{p}/",
        f"http://[::127.0.0.1]:{p}/",
        f"http://[64:ff9b::127.0.0.1]:{p}/",
        f"http://[2002:7f00:1::]:{p}/",
        f"http://localhost:{p}/",
        f"http://LOCALHOST.:{p}/",
        f"http://admin.localhost:{p}/",
        f"http://printer.local:{p}/",
        f"http://db.internal:{p}/",
        f"http://metadata:{p}/",
        f"http://metadata.google.internal:{p}/",
        f"http://instance-data:{p}/",
        f"http://host.docker.internal:{p}/",
        f"http://api.default.svc.cluster.local:{p}/",
        f"http://intranet:{p}/",
        f"http://127%2e0%2e0%2e1:{p}/",
        f"http://pharmacy.test\\@127.0.0.1:{p}/",
        f"http://127.0.0.1:{p}@pharmacy.test/",
        f"http://[::1]@pharmacy.test:{p}/",
        f"http://user:pass@pharmacy.test:{p}/",
        f"http://①②⑦.⓪.⓪.①:{p}/",
        f"http://127。0。0。1:{p}/",
        f"http://127．0．0．1:{p}/",
        f"http://１２７.０.０.１:{p}/",
        f"http://127.0.0.1:{p}\r\nHost: x/",
        f"http://127.0.0.1 :{p}/",
        f"http:///127.0.0.1:{p}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_x",
        "ftp://127.0.0.1/",
        "data:text/html,<p>hi</p>",
        "javascript:alert(1)",
        "http://" + "a" * 2100 + ".com/",
    ]


def _run(coro):
    return asyncio.run(coro)


async def _fetch_code(fetcher, url: str) -> str:
    try:
        await fetcher.fetch(url)
    except FetchError as exc:
        return exc.code
    return "fetched"


def test_forged_urls_are_refused_without_any_connection(hostile, canary):
    settings = hostile_settings(hostile, canary)
    dialer = RecordingDialer()
    resolver = FakeResolver({})
    before = canary.connections

    async def go():
        fetcher = make_fetcher(settings, resolver, dialer)
        try:
            return {u: await _fetch_code(fetcher, u) for u in forged_urls(canary.port)}
        finally:
            await fetcher.aclose()

    codes = _run(go())
    wrong = {u: c for u, c in codes.items() if c not in REFUSED}
    assert not wrong
    assert dialer.attempts == []
    assert resolver.calls == []  # all refused before any DNS
    assert canary.connections == before


def test_public_fixture_site_is_reached_through_the_exact_allowance(hostile, canary):
    settings = hostile_settings(hostile, canary)
    dialer = RecordingDialer()

    async def go():
        fetcher = make_fetcher(settings, FakeResolver({}), dialer)
        try:
            return await fetcher.fetch(hostile.url("/echo-host"))
        finally:
            await fetcher.aclose()

    result = _run(go())
    assert dialer.attempts == [(hostile.address, hostile.port)]
    assert f"host=hostile.test:{hostile.port}" in result.text  # the Host header stays on the name


def test_an_address_url_allowed_by_resolve_is_checked_not_refused_up_front(hostile, canary):
    from app.pipeline import Checker

    allowed = hostile_settings(hostile, canary, max_pages=1).with_(
        resolve=(ResolveEntry(hostile.address, hostile.port, hostile.address),)
    )
    url = f"http://{hostile.address}:{hostile.port}/ok"

    async def go(settings):
        checker = Checker(settings, fetcher=make_fetcher(settings))
        try:
            return await checker.check(url)
        finally:
            await checker.aclose()

    before = canary.connections
    report = _run(go(allowed))
    assert report.pages[0].error is None and report.final_url == url
    with pytest.raises(FetchError) as err:  # without the allowance, the same loopback address is refused
        _run(go(hostile_settings(hostile, canary, max_pages=1)))
    assert err.value.code == "blocked_destination"
    assert canary.connections == before


def test_allowance_is_exact_port_and_host(hostile, canary):
    # Same name on another port, or another name on the allowed port, gets no allowance and resolves normally.
    settings = hostile_settings(hostile, canary)
    resolver = FakeResolver({"hostile.test": ["127.0.0.2"], "other.test": ["127.0.0.2"]})
    dialer = RecordingDialer()

    async def go():
        fetcher = make_fetcher(settings, resolver, dialer)
        try:
            return [
                await _fetch_code(fetcher, f"http://hostile.test:{canary.port}/"),
                await _fetch_code(fetcher, f"http://other.test:{hostile.port}/"),
            ]
        finally:
            await fetcher.aclose()

    assert _run(go()) == ["blocked_destination", "blocked_destination"]
    assert dialer.attempts == []


def test_metadata_addresses_cannot_be_allowed_even_by_resolve(hostile):
    from app.settings import SettingsError, parse_resolve

    for address in (
        "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "168.63.129.16", "[fd00:ec2::254]",
        "::ffff:169.254.169.254", "::ffff:168.63.129.16",
        # NAT64 local-use prefix (RFC 8215), with the address where a /96 and a /48 prefix put it.
        "64:ff9b:1::a9fe:a9fe", "[64:ff9b:1::a9fe:a9fe]", "64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1::a83f:8110",
    ):
        with pytest.raises(SettingsError):
            parse_resolve(f"pharmacy.test:80:{address}")
    with pytest.raises(SettingsError):
        parse_resolve("*:80:127.0.0.2")
    with pytest.raises(SettingsError):
        parse_resolve("pharmacy.test:80:10.0.0.0/8")
    for zoned in ("[fe80::1%eth0]", "fe80::1%eth0", "fe80::1%25eth0", "[fe80::1%1]"):
        with pytest.raises(SettingsError):
            parse_resolve(f"pharmacy.test:80:{zoned}")
    # Built directly (not through the option parser), the fetcher still refuses.
    settings = hostile_settings(hostile).with_(resolve=(ResolveEntry("meta.test", 80, "169.254.169.254"),))
    dialer = RecordingDialer()

    async def go():
        fetcher = make_fetcher(settings, FakeResolver({}), dialer)
        try:
            return await _fetch_code(fetcher, "http://meta.test/")
        finally:
            await fetcher.aclose()

    assert _run(go()) == "blocked_destination"
    assert dialer.attempts == []


@pytest.mark.parametrize("answers", [
    ["93.184.216.34", "10.0.0.1"],
    ["93.184.216.34", "127.0.0.1"],
    ["2606:2800:220:1::1", "::1"],
    ["93.184.216.34", "::ffff:127.0.0.1"],
    ["93.184.216.34", "fe80::1%1"],
    ["93.184.216.34", "169.254.169.254"],
    ["100.64.1.1"],
    ["168.63.129.16"],
    ["93.184.216.34", "::ffff:0:7f00:1"],
])
def test_dns_answer_with_any_private_address_is_refused(hostile, canary, answers):
    settings = hostile_settings(hostile, canary)
    # Were the public-looking Azure WireServer address ever dialled, it would reach the canary, not Azure.
    dialer = RecordingDialer(routes={"93.184.216.34": hostile.address, "168.63.129.16": CANARY_ADDRESS})
    resolver = FakeResolver({"mixed.test": answers})

    async def go():
        fetcher = make_fetcher(settings, resolver, dialer)
        try:
            return await _fetch_code(fetcher, f"http://mixed.test:{hostile.port}/")
        finally:
            await fetcher.aclose()

    assert _run(go()) == "blocked_destination"
    assert dialer.attempts == []
    assert resolver.calls == ["mixed.test"]


def test_public_answer_connects_to_the_checked_address(hostile):
    settings = hostile_settings(hostile)
    dialer = RecordingDialer(routes={"93.184.216.34": hostile.address})
    resolver = FakeResolver({"shop.test": ["93.184.216.34"]})

    async def go():
        fetcher = make_fetcher(settings, resolver, dialer)
        try:
            return await fetcher.fetch(f"http://shop.test:{hostile.port}/echo-host")
        finally:
            await fetcher.aclose()

    result = _run(go())
    assert dialer.attempts == [("93.184.216.34", hostile.port)]
    assert resolver.calls == ["shop.test"]  # resolved once
    assert f"host=shop.test:{hostile.port}" in result.text


def test_rebinding_resolver_cannot_switch_to_an_internal_address(hostile, canary):
    settings = hostile_settings(hostile, canary)
    dialer = RecordingDialer(routes={"93.184.216.34": hostile.address})
    resolver = FakeResolver({"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})

    async def go():
        fetcher = make_fetcher(settings, resolver, dialer)
        try:
            first = await fetcher.fetch(f"http://rebind.test:{hostile.port}/ok")
            second = await _fetch_code(fetcher, f"http://rebind.test:{hostile.port}/ok")
            return first, second
        finally:
            await fetcher.aclose()

    before = canary.connections
    first, second = _run(go())
    assert "Corner Pharmacy" in first.text
    assert second == "blocked_destination"
    assert dialer.attempts == [("93.184.216.34", hostile.port)]
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert canary.connections == before


def _redirect_targets(canary_port: int) -> list[str]:
    p = canary_port
    return [
        f"http://127.0.0.1:{p}/",
        f"http://2130706433:{p}/",
        f"http://0x7f000001:{p}/",
        f"http://0177.0.0.1:{p}/",
        f"http://127.1:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/",
        f"http://localhost:{p}/",
        f"http://127.0.0.1:{p}@pharmacy.test/",
        f"http://①②⑦.⓪.⓪.①:{p}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_x",
        "data:text/html,<p>hi</p>",
        f"//127.0.0.1:{p}/",  # scheme-relative
    ]


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirects_to_forbidden_targets_are_refused(hostile, canary, code):
    settings = hostile_settings(hostile, canary)
    dialer = RecordingDialer()
    before = canary.connections

    async def go():
        fetcher = make_fetcher(settings, FakeResolver({}), dialer)
        try:
            return {
                t: await _fetch_code(fetcher, hostile.url(f"/redirect?code={code}&to={quote(t, safe='')}"))
                for t in _redirect_targets(canary.port)
            }
        finally:
            await fetcher.aclose()

    codes = _run(go())
    assert {t: c for t, c in codes.items() if c not in REFUSED} == {}
    # Only the hostile site itself was contacted, once per redirect.
    assert set(dialer.attempts) == {(hostile.address, hostile.port)}
    assert canary.connections == before


def test_redirect_into_a_name_that_resolves_inside_is_refused(hostile, canary):
    settings = hostile_settings(hostile, canary)
    dialer = RecordingDialer()
    resolver = FakeResolver({"evil.test": ["127.0.0.1"]})
    target = quote(f"http://evil.test:{canary.port}/", safe="")

    async def go():
        fetcher = make_fetcher(settings, resolver, dialer)
        try:
            return await _fetch_code(fetcher, hostile.url(f"/redirect?code=307&to={target}"))
        finally:
            await fetcher.aclose()

    before = canary.connections
    assert _run(go()) == "blocked_destination"
    assert resolver.calls == ["evil.test"]
    assert canary.connections == before


def test_meta_refresh_and_links_go_through_the_same_policy(hostile, canary):
    from app.pipeline import Checker

    settings = hostile_settings(hostile, canary)
    dialer = RecordingDialer()
    target = quote(f"http://127.0.0.1:{canary.port}/admin", safe="")

    async def go():
        fetcher = make_fetcher(settings, FakeResolver({}), dialer)
        checker = Checker(settings, fetcher=fetcher)
        try:
            report = await checker.check(hostile.url(f"/refresh?to={target}"))
            code = await _fetch_code(fetcher, f"http://127.0.0.1:{canary.port}/admin")
            return report, code
        finally:
            await checker.aclose()

    before = canary.connections
    report, code = _run(go())
    assert code == "blocked_destination"
    assert report.final_url.startswith(f"http://hostile.test:{hostile.port}/")
    assert canary.connections == before


def test_tls_certificate_is_checked_on_the_name_not_the_pinned_address(sites):
    host = sites.hosts[0]
    settings = sites.settings(page_timeout=3.0).with_(
        resolve=sites.settings().resolve + (ResolveEntry("impostor.test", sites.port, sites.address),)
    )

    async def go():
        fetcher = make_fetcher(settings)
        try:
            good = await fetcher.fetch(sites.url(host))
            bad = await _fetch_code(fetcher, f"https://impostor.test:{sites.port}/")
            return good, bad
        finally:
            await fetcher.aclose()

    good, bad = _run(go())
    assert good.status == 200 and good.https
    assert bad == "tls_invalid"


def test_proxy_environment_is_ignored(hostile, monkeypatch, canary):
    proxy = f"http://127.0.0.1:{canary.port}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    settings = hostile_settings(hostile)
    before = canary.connections

    async def go():
        fetcher = make_fetcher(settings)
        try:
            return await fetcher.fetch(hostile.url("/ok"))
        finally:
            await fetcher.aclose()

    assert "Corner Pharmacy" in _run(go()).text
    assert canary.connections == before


def test_policy_applies_to_any_transport_such_as_archive_replay():
    import httpx

    from app.fetch import Fetcher
    from app.settings import Settings

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/go-inside":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<title>archived</title>")

    transport = httpx.MockTransport(answer)
    transport.from_archive = True

    async def go():
        fetcher = Fetcher(Settings(), transport=transport)
        try:
            codes = [await _fetch_code(fetcher, u) for u in ("http://127.0.0.1/", "http://localhost/", "http://shop.example/go-inside")]
            result = await fetcher.fetch("https://SHOP.example")
            return codes, result
        finally:
            await fetcher.aclose()

    codes, result = _run(go())
    assert codes == ["blocked_destination", "blocked_destination", "blocked_destination"]
    assert seen == ["http://shop.example/go-inside", "https://shop.example/"]
    assert result.from_archive and result.url == "https://shop.example/"


def test_probe_redirect_reports_where_a_site_sends_plain_http_and_never_follows_inside(hostile, canary):
    settings = hostile_settings(hostile, canary)
    inside = quote(f"http://127.0.0.1:{canary.port}/", safe="")
    upgrade = quote(f"https://hostile.test:{hostile.port}/", safe="")

    async def go():
        fetcher = make_fetcher(settings)
        try:
            return (
                await fetcher.probe_redirect(hostile.url(f"/redirect?code=301&to={upgrade}")),
                await fetcher.probe_redirect(hostile.url(f"/redirect?code=301&to={inside}")),
                await fetcher.probe_redirect(hostile.url("/ok")),
                await fetcher.probe_redirect(f"http://127.0.0.1:{canary.port}/"),
            )
        finally:
            await fetcher.aclose()

    before = canary.connections
    assert _run(go()) == (f"https://hostile.test:{hostile.port}/", None, None, None)
    assert canary.connections == before


def test_the_length_limit_holds_for_the_canonical_url_not_only_the_typed_one():
    from app.netpolicy import MAX_URL_LENGTH, validate_url

    # 2,014 characters typed; each U+202E becomes nine in the canonical URL, which came to 18,014.
    typed = "https://pharmacy.example/?" + "\u202e" * (2014 - len("https://pharmacy.example/?"))
    assert len(typed) <= MAX_URL_LENGTH
    with pytest.raises(FetchError) as err:
        validate_url(typed)
    assert err.value.code == "invalid_url"
    fits = "https://pharmacy.example/?" + "\u202e" * 200
    assert len(validate_url(fits)) <= MAX_URL_LENGTH


def test_the_plain_http_probe_of_an_ipv6_site_keeps_the_brackets():
    from app.netpolicy import validate_url
    from app.pipeline import _plain_http_home

    assert _plain_http_home("https://[2606:4700::1111]:8443/shop?x=1") == "http://[2606:4700::1111]/"
    assert validate_url(_plain_http_home("https://[2606:4700::1111]/")) == "http://[2606:4700::1111]/"
    assert _plain_http_home("https://Shop.Example:8443/a") == "http://shop.example/"
