"""The destination policy on its own: the blocked table, host spellings, and property tests that every spelling
of a blocked address is refused while the same spellings of a public address reach that public address."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.fetch import PinningBackend
from app.netpolicy import (
    BLOCKED_NETWORKS,
    GLOBAL_UNICAST_V6,
    METADATA_ADDRESSES,
    FetchError,
    check_url,
    is_blocked_address,
    is_metadata_address,
    parse_ipv4_number_forms,
)
from app.net.resolver import MAX_ANSWERS
from app.settings import Settings
from tests.fetch_helpers import FakeResolver

BLOCKED_V4 = [n for n in BLOCKED_NETWORKS if n.version == 4]
BLOCKED_V6 = [n for n in BLOCKED_NETWORKS if n.version == 6]


@pytest.mark.parametrize("address", [
    "0.0.0.0", "10.1.2.3", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.254", "169.254.169.254",
    "172.16.0.1", "172.31.255.255", "192.0.0.170", "192.0.2.1", "192.88.99.1", "192.168.0.1", "198.18.0.1",
    "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.251", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "::", "::1", "::ffff:10.0.0.1", "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::8.8.8.8",
    "64:ff9b:1::1", "100::1", "2001::1", "2001:10::1", "2001:20::1", "2001:db8::1", "2002:0808:0808::1",
    "fc00::1", "fd00:ec2::254", "fe80::1", "fec0::1", "ff02::1", "fe80::1%eth0", "not an address",
    # outside 2000::/3, which ipaddress calls global
    "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe", "::ffff:0:808:808", "4000::1", "1::1", "e000::1", "64:ff9b:2::1",
    "5f00::1", "3fff::1", "3fff:fff:ffff::1",
    "168.63.129.16", "::ffff:168.63.129.16", "169.254.0.23", "fd00:ec2::253",
])
def test_blocked_addresses(address):
    assert is_blocked_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_are_allowed(address):
    assert not is_blocked_address(address)


def test_metadata_addresses_are_known_in_every_spelling():
    for a in (
        "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "168.63.129.16", "fd00:ec2::254",
        "::ffff:169.254.169.254", "::ffff:168.63.129.16", "64:ff9b::168.63.129.16", "::ffff:0:a9fe:a9fe",
    ):
        assert is_metadata_address(a) and is_blocked_address(a)
    assert not is_metadata_address("127.0.0.2")


@pytest.mark.parametrize("url,code", [
    ("http://pharmacy.test\\@127.0.0.1/", "invalid_url"),
    ("http://127.0.0.1:80@pharmacy.test/", "invalid_url"),
    ("http://[::1]@pharmacy.test/", "invalid_url"),
    ("http://①②⑦.⓪.⓪.①/", "blocked_destination"),
    ("http://127。0。0。1/", "blocked_destination"),
    ("http://example.com:8080/", "invalid_url"),
    ("http://example.com:0/", "invalid_url"),
    ("http://example.com:99999/", "invalid_url"),
    ("http://example.com:１２/", "invalid_url"),
    ("http://exa mple.com/", "invalid_url"),
    ("http://exam\u202eple.com/", "invalid_url"),
    ("http://exam\u200bple.com/", "invalid_url"),
    ("http://example.com/\u2028", "invalid_url"),
    ("http://☃.com/", "invalid_url"),
    ("http://xn--zz.com/", "invalid_url"),
    ("http://a..com/", "invalid_url"),
    ("http://-a.com/", "invalid_url"),
    ("http://1.2.3.4.5/", "invalid_url"),
    ("http://256.1.1.1/", "invalid_url"),
    ("http://089.1.1.1/", "invalid_url"),
    ("http://[fe80::1%25eth0]/", "invalid_url"),
    ("http://[::1/", "invalid_url"),
    ("http://example.com" + "/a" * 1100, "invalid_url"),
    ("", "invalid_url"),
    ("example.com", "invalid_url"),
    ("https:example.com", "invalid_url"),
])
def test_url_tricks(url, code):
    with pytest.raises(FetchError) as err:
        check_url(url)
    assert err.value.code == code


@pytest.mark.parametrize("url,canonical", [
    ("HTTPS://Example.COM", "https://example.com/"),
    ("http://example.com.:80/a?b#frag", "http://example.com/a?b"),
    ("http://bücher.de/", "http://xn--bcher-kva.de/"),
    ("http://faß.de/", "http://xn--fa-hia.de/"),
    ("http://134744072/", "http://8.8.8.8/"),
    ("http://0x08080808/", "http://8.8.8.8/"),
    ("http://8.8.2056/", "http://8.8.8.8/"),
    ("http://[2606:4700:0::1111]/", "http://[2606:4700::1111]/"),
    ("http://example.com/a\\b", "http://example.com/a%5Cb"),
    ("http://exa_mple.com/", "http://exa_mple.com/"),
    ("http://example.com/a\u202eb?q=\u200b&r=\u00e9", "http://example.com/a%E2%80%AEb?q=%E2%80%8B&r=\u00e9"),
    ("http://example.com/\U000e0041\u2066x", "http://example.com/%F3%A0%81%81%E2%81%A6x"),
])
def test_canonical_form_is_what_gets_requested(url, canonical):
    assert check_url(url).url == canonical


# --- property tests ------------------------------------------------------------------------------------------

_fullwidth = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _spellings(ip: ipaddress.IPv4Address, style: int, draw_int) -> str:
    o = ip.packed
    value = int(ip)
    if style == 0:
        return str(ip)
    if style == 1:
        return str(value)
    if style == 2:
        return hex(value)
    if style == 3:
        return ".".join("0%o" % b for b in o)
    if style == 4:  # a.b.c with a 16-bit last part
        return f"{o[0]}.{o[1]}.{(o[2] << 8) | o[3]}"
    if style == 5:  # a.b with a 24-bit last part
        return f"{o[0]}.{(o[1] << 16) | (o[2] << 8) | o[3]}"
    if style == 6:  # each part in a random base
        parts = []
        for b in o:
            base = draw_int(0, 2)
            parts.append(str(b) if base == 0 else ("0%o" % b) if base == 1 else hex(b))
        return ".".join(parts)
    if style == 7:
        return f"[::ffff:{ip}]"
    if style == 8:
        return f"[::ffff:{value >> 16:x}:{value & 0xFFFF:x}]"
    if style == 9:
        return f"[64:ff9b::{ip}]"
    if style == 10:
        return f"[2002:{value >> 16:x}:{value & 0xFFFF:x}::1]"
    if style == 11:
        return str(ip).translate(_fullwidth)
    if style == 16:  # IPv4-compatible
        return f"[::{ip}]"
    if style == 17:  # SIIT IPv4-translated
        return f"[::ffff:0:{ip}]"
    if style == 18:  # Teredo: server, then the client address inverted
        server = draw_int(0, 2**32 - 1)
        client = value ^ 0xFFFFFFFF
        return f"[2001:0:{server >> 16:x}:{server & 0xFFFF:x}:0:{draw_int(0, 0xFFFF):x}:{client >> 16:x}:{client & 0xFFFF:x}]"
    if style == 19:  # Teredo with the blocked address as its server
        return f"[2001:0:{value >> 16:x}:{value & 0xFFFF:x}::1]"
    if style == 12:
        return str(ip).replace(".", "。")
    if style == 13:
        return str(ip).replace(".", "%2e")
    if style == 14:
        return str(ip) + "."
    return str(ip).replace("1", "①") if "1" in str(ip) else str(ip)


@st.composite
def blocked_v4(draw):
    net = draw(st.sampled_from(BLOCKED_V4))
    offset = draw(st.integers(0, net.num_addresses - 1))
    return net.network_address + offset


@st.composite
def blocked_v6(draw):
    net = draw(st.sampled_from(BLOCKED_V6))
    offset = draw(st.integers(0, net.num_addresses - 1))
    return net.network_address + offset


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ip=blocked_v4(), style=st.integers(0, 19), data=st.data(), port=st.sampled_from(["", ":80", ":443"]))
def test_every_spelling_of_a_blocked_ipv4_address_is_refused(ip, style, data, port):
    host = _spellings(ip, style, lambda lo, hi: data.draw(st.integers(lo, hi)))
    with pytest.raises(FetchError) as err:
        check_url(f"http://{host}{port}/")
    assert err.value.code in ("blocked_destination", "invalid_url")


@settings(max_examples=200, deadline=None)
@given(ip=blocked_v6(), port=st.sampled_from(["", ":80", ":443"]))
def test_every_blocked_ipv6_address_is_refused(ip, port):
    with pytest.raises(FetchError) as err:
        check_url(f"http://[{ip}]{port}/")
    assert err.value.code == "blocked_destination"
    with pytest.raises(FetchError):
        check_url(f"http://[{ip.exploded}]{port}/")


_WRAPPED_STYLES = [7, 8, 9, 10, 16, 17, 18, 19]


@settings(max_examples=200, deadline=None)
@given(ip=blocked_v4(), style=st.sampled_from(_WRAPPED_STYLES), data=st.data())
def test_a_blocked_ipv4_address_inside_any_ipv6_form_is_blocked(ip, style, data):
    wrapped = _spellings(ip, style, lambda lo, hi: data.draw(st.integers(lo, hi))).strip("[]")
    assert is_blocked_address(wrapped)


@settings(max_examples=100, deadline=None)
@given(ip=st.sampled_from(sorted(a for a in METADATA_ADDRESSES if a.version == 4)), style=st.sampled_from(_WRAPPED_STYLES), data=st.data())
def test_a_metadata_address_inside_any_ipv6_form_is_still_a_metadata_address(ip, style, data):
    wrapped = _spellings(ip, style, lambda lo, hi: data.draw(st.integers(lo, hi))).strip("[]")
    assert is_metadata_address(wrapped)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address).filter(lambda ip: ip not in GLOBAL_UNICAST_V6))
def test_ipv6_outside_global_unicast_space_is_blocked(ip):
    assert is_blocked_address(ip)


_public_v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(lambda ip: not is_blocked_address(ip))


@settings(max_examples=200, deadline=None)
@given(ip=_public_v4, style=st.sampled_from([0, 1, 2, 3, 4, 5, 11, 12, 13, 14]), data=st.data())
def test_spellings_of_a_public_address_reach_that_address(ip, style, data):
    host = _spellings(ip, style, lambda lo, hi: data.draw(st.integers(lo, hi)))
    destination = check_url(f"http://{host}/")
    assert destination.ip == ip and destination.url == f"http://{ip}/"


@settings(max_examples=100, deadline=None)
@given(
    ip=st.one_of(blocked_v4(), blocked_v6()), public=_public_v4, count=st.integers(0, 200), data=st.data(),
)
def test_a_resolver_answer_with_any_blocked_address_is_refused_before_connecting(ip, public, count, data):
    # However many answers there are, and wherever the blocked one is (16 used to be the last one checked).
    position = data.draw(st.integers(0, count))

    class Resolver:
        async def resolve(self, host):
            answers = [str(public)] * count
            answers.insert(position, str(ip))
            return answers

    class NoDialer:
        async def connect_tcp(self, *args, **kwargs):  # pragma: no cover - reaching it is the failure
            raise AssertionError("connected")

    backend = PinningBackend(Settings(), Resolver(), NoDialer())
    with pytest.raises(FetchError) as err:
        asyncio.run(backend.addresses_for("shop.example", 443))
    assert err.value.code == "blocked_destination"


@pytest.mark.parametrize("answers", [
    ["93.184.216.34"] * 16 + ["127.0.0.1"],
    ["93.184.216.34"] * 900 + ["::ffff:0:7f00:1"],
    ["93.184.216.34"] * (MAX_ANSWERS + 1),  # too many to vouch for: refused without a connection
])
def test_every_dns_answer_is_checked(answers):
    class NoDialer:
        async def connect_tcp(self, *args, **kwargs):  # pragma: no cover - reaching it is the failure
            raise AssertionError("connected")

    backend = PinningBackend(Settings(), FakeResolver({"shop.example": answers}), NoDialer())
    with pytest.raises(FetchError) as err:
        asyncio.run(backend.addresses_for("shop.example", 443))
    assert err.value.code == ("dns_error" if len(answers) > MAX_ANSWERS else "blocked_destination")


def test_the_system_resolver_returns_every_answer(monkeypatch):
    import socket

    from app.net.resolver import SystemResolver

    infos = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"93.184.216.{i}", 0)) for i in range(40)]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos)
    assert len(asyncio.run(SystemResolver(1.0).resolve("shop.example"))) == 40


@given(st.text(alphabet="0123456789xXabcdef.", min_size=1, max_size=30))
@settings(max_examples=300, deadline=None)
def test_numeric_host_parser_agrees_with_inet_aton(text):
    import socket

    try:
        mine = parse_ipv4_number_forms(text)
    except FetchError:
        mine = "invalid"
    if mine is None:
        return  # not a numeric form: treated as a name
    try:
        theirs = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        theirs = "invalid"
    if mine != "invalid":
        assert mine == theirs  # whatever we accept means what the system resolver would connect to
    if theirs == "invalid":
        assert mine == "invalid"


def test_service_settings_from_environment():
    from app.settings import SettingsError

    s = Settings.from_env({"PHARMACHECK_ALLOW_PORTS": "8443", "PHARMACHECK_RESOLVE": "shop.test:8443:127.0.0.2"})
    assert s.allowed_ports == (80, 443, 8443)
    assert check_url("https://shop.test:8443/", s.allowed_ports, s.resolve).port == 8443
    for bad in ({"PHARMACHECK_ALLOW_PORTS": "70000"}, {"PHARMACHECK_RESOLVE": "shop.test:80:169.254.169.254"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)
