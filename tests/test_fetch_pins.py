"""What a --resolve pin covers: its name, on every port, never reaches DNS; its address only on the port it names.

Every test here uses a resolver that records each look-up and fails on any it did not expect, or counts the
system resolver's calls, so a leak to DNS (the plain-HTTP probe on port 80 once was one) fails the test.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import quote

import pytest

from app.netpolicy import FetchError, check_url, pinned_address
from app.pipeline import Checker
from app.settings import ResolveEntry
from tests.fetch_helpers import RecordingDialer, RecordingResolver, hostile_settings, make_fetcher


def _run(coro):
    return asyncio.run(coro)


def _check(settings, url, resolver, dialer=None):
    async def go():
        checker = Checker(settings, fetcher=make_fetcher(settings, resolver, dialer))
        try:
            return await checker.check(url)
        finally:
            await checker.aclose()

    return _run(go())


def test_a_check_of_a_pinned_https_site_on_another_port_asks_dns_nothing(sites):
    # The user's case: `check https://shop.example:8443/ --resolve shop.example:8443:ADDRESS`. The plain-HTTP
    # probe goes to port 80, which the pin does not name; it is refused before any look-up.
    resolver = RecordingResolver()
    dialer = RecordingDialer()
    report = _check(sites.settings(), sites.url("good-pharmacy.test"), resolver, dialer)
    assert report.pages[0].error is None and len(report.pages) > 1
    assert resolver.calls == []
    assert {port for _, port in dialer.attempts} == {sites.port}
    assert not {f.id for f in report.findings} & {"transport.http-redirects-to-https", "transport.http-not-upgraded"}


def test_the_command_line_check_of_a_pinned_site_never_calls_the_system_resolver(sites, monkeypatch, capsys):
    from app.cli import main
    from app.net import resolver as resolver_module

    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(resolver_module.socket, "getaddrinfo", recording_getaddrinfo)
    code = main(["check", sites.url("rogue-store.test"), *sites.cli_args()])
    assert code == 0 and capsys.readouterr().out.startswith("LIKELY ROGUE")
    assert looked_up == []


@pytest.mark.parametrize("target", ["http://hostile.test/", "https://hostile.test/", "http://hostile.test:8080/x"])
def test_a_redirect_to_another_port_of_a_pinned_name_is_refused_without_a_look_up(hostile, canary, target):
    settings = hostile_settings(hostile, canary, allowed_ports=(80, 443, 8080, hostile.port))
    resolver = RecordingResolver()

    async def go():
        fetcher = make_fetcher(settings, resolver)
        try:
            await fetcher.fetch(hostile.url(f"/redirect?code=302&to={quote(target, safe='')}"))
        except FetchError as exc:
            return exc.code
        finally:
            await fetcher.aclose()

    before = canary.connections
    assert _run(go()) == "blocked_destination"
    assert resolver.calls == [] and canary.connections == before


def test_the_plain_http_probe_of_a_pinned_name_is_refused_without_a_look_up(hostile):
    resolver = RecordingResolver()

    async def go():
        fetcher = make_fetcher(hostile_settings(hostile), resolver)
        try:
            return await fetcher.probe_redirect("http://hostile.test/")
        finally:
            await fetcher.aclose()

    assert _run(go()) is None
    assert resolver.calls == []


def test_a_pin_covers_its_exact_name_only_so_a_subdomain_is_looked_up(hostile):
    # Pins are exact names (curl's meaning): www.hostile.test is another name, resolved and checked as usual.
    resolver = RecordingResolver({"www.hostile.test": ["93.184.216.34"]})
    dialer = RecordingDialer(routes={"93.184.216.34": hostile.address})

    async def go():
        fetcher = make_fetcher(hostile_settings(hostile), resolver, dialer)
        try:
            return await fetcher.fetch(f"http://www.hostile.test:{hostile.port}/ok")
        finally:
            await fetcher.aclose()

    assert "Corner Pharmacy" in _run(go()).text
    assert resolver.calls == ["www.hostile.test"] and resolver.unexpected == []
    assert dialer.attempts == [("93.184.216.34", hostile.port)]


def test_every_spelling_of_a_pinned_name_is_the_pinned_name():
    pins = (ResolveEntry("shop.example", 8443, "127.0.0.2"),)
    for url in ("https://SHOP.example:8443/", "https://shop.example.:8443/", "https://shop%2eexample:8443/"):
        assert check_url(url, None, pins).host == "shop.example"
        assert pinned_address("shop.example", 8443, pins) == "127.0.0.2"
    for url in ("https://SHOP.example/", "http://shop.example./", "http://shop%2eexample:8080/"):
        with pytest.raises(FetchError) as refused:
            check_url(url, None, pins)
        assert refused.value.code == "blocked_destination" and "pinned" in refused.value.message


def test_an_address_host_pinned_on_one_port_is_refused_on_the_others():
    pins = (ResolveEntry("127.0.0.2", 8443, "127.0.0.2"),)
    assert check_url("http://127.0.0.2:8443/", None, pins).ip is not None
    with pytest.raises(FetchError):
        check_url("http://127.0.0.2/", None, pins)


def test_a_name_pinned_on_two_ports_reaches_each_address_on_its_own_port():
    pins = (ResolveEntry("shop.example", 8443, "127.0.0.2"), ResolveEntry("shop.example", 80, "127.0.0.3"))
    assert pinned_address("shop.example", 8443, pins) == "127.0.0.2"
    assert pinned_address("shop.example", 80, pins) == "127.0.0.3"
    with pytest.raises(FetchError):
        pinned_address("shop.example", 443, pins)
    assert pinned_address("other.example", 443, pins) is None
