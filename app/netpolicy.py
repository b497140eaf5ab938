"""Which destinations pharmacheck may connect to.

pharmacheck fetches URLs typed by strangers, so it is a request-forgery target (cloud metadata endpoints,
services on the operator's own network). Every URL is checked here twice:

1. before any DNS (`check_url`): scheme, port, user info, length, control characters, special names, and host
   spellings. The host is normalised the way a browser would (percent-decoding, IDNA 2008 with UTS 46 mapping,
   the inet_aton numeric forms such as `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`), and the request is
   then made to the canonical URL, so no other URL parser downstream can read the host differently;
2. on the addresses a name resolves to (`is_blocked_address`), in the live transport, just before connecting.

The one exception is an operator's explicit `--resolve HOST:PORT:ADDRESS`: an exact name/port/address triple,
never a range, and never a cloud metadata address. A pinned name is never looked up in DNS on any port: on a port
no pin names, it is refused.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

import idna

from .invisible import encode_invisible
from .settings import ResolveEntry

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchError(Exception):
    """A fetch failed; `code` is a stable id shown in reports and API errors."""

    def __init__(self, code: str, message: str, *, status: int | None = None, url: str | None = None, https: bool | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        # What was learnt before the failure, for the page record: the answer's status, the address that failed,
        # and whether the certificate was found invalid on the way (a page read without it that then failed).
        self.status = status
        self.url = url
        self.https = https
        self.tls_valid: bool | None = None


# Refusal messages never name the address a host resolved to or say whether anything answered there: a caller
# probing the operator's network learns nothing beyond "refused".
BLOCKED_MESSAGE = "This address points to a private, local or reserved network, which pharmacheck never contacts."


def blocked(message: str = BLOCKED_MESSAGE) -> FetchError:
    return FetchError("blocked_destination", message)


def invalid(message: str) -> FetchError:
    return FetchError("invalid_url", message)


# An explicit table rather than `ipaddress` flags alone: the flags have changed between Python versions, and
# this list is what the service promises (special-purpose registries of IANA, RFC 6890 and successors).
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        "::/128", "::1/128", "::ffff:0:0/96", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
        "2001::/32", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16",
        "::ffff:0:0:0/96", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)
# The only IPv6 space IANA allocates for global unicast. Outside it, an address is reserved, local, multicast or
# a translation prefix whose meaning depends on the network it is used in, and `ipaddress` calls some of it
# global (4000::1, e000::1, ::ffff:0:7f00:1), so it is refused whatever the table says.
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")

# Instance-metadata endpoints hand out cloud credentials; not even an operator's --resolve may point at them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean...
        "169.254.169.253",  # AWS DNS resolver
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "168.63.129.16",  # Azure WireServer: a public address, answering only from inside Azure
        "fd00:ec2::254",  # AWS IPv6 metadata
        "fd00:ec2::253",  # AWS DNS resolver (IPv6)
        "fd00:ec2::23",  # AWS EKS pod identity (IPv6)
    )
)

# Names that only ever mean something on the operator's own network.
BLOCKED_NAMES = frozenset({
    "localhost", "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal",
    "host.docker.internal", "gateway.docker.internal", "kubernetes.default", "kubernetes.default.svc",
})
BLOCKED_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".svc.cluster.local")


def _ip(address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return address
    return ipaddress.ip_address(str(address).strip("[]"))


# NAT64 local-use prefix (RFC 8215): a network picks any prefix length inside it that RFC 6052 allows, so the
# IPv4 address may sit at any of the positions those lengths put it; each is unwrapped.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


# Where the 32 address bits sit for each prefix length (bit ranges from the left); bits 64-71 (the "u" octet)
# never carry any.
_RFC6052_BITS = {48: ((48, 64), (72, 88)), 56: ((56, 64), (72, 96)), 64: ((72, 104),), 96: ((96, 128),)}


def _rfc6052_candidates(value: int) -> list[ipaddress.IPv4Address]:
    bits = f"{value:0128b}"
    return [ipaddress.IPv4Address(int("".join(bits[a:b] for a, b in ranges), 2)) for ranges in _RFC6052_BITS.values()]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses carried inside an IPv6 address by the transition mechanisms that can route to them."""
    found = []
    value = int(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        found.append(ip.ipv4_mapped)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (deprecated IPv4-compatible)
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if value >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d (SIIT IPv4-translated, RFC 2765)
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if value >> 32 == int(ipaddress.IPv6Address("64:ff9b::")) >> 32:  # NAT64 well-known prefix
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if value >> 80 == int(_NAT64_LOCAL.network_address) >> 80:
        found.extend(_rfc6052_candidates(value))
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48
        found.append(ip.sixtofour)
    if ip.teredo is not None:  # (server, client)
        found.extend(ip.teredo)
    return found


def is_metadata_address(address) -> bool:
    try:
        ip = _ip(address)
    except ValueError:
        return False
    if ip in METADATA_ADDRESSES:
        return True
    return isinstance(ip, ipaddress.IPv6Address) and any(v4 in METADATA_ADDRESSES for v4 in embedded_ipv4(ip))


def is_blocked_address(address) -> bool:
    """True unless the address is an ordinary, globally routable unicast address (unparseable: blocked)."""
    try:
        ip = _ip(address)
    except ValueError:
        return True
    if ip in METADATA_ADDRESSES:  # not all of them are in private ranges
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        if any(is_blocked_address(v4) for v4 in embedded_ipv4(ip)):
            return True
        if ip not in GLOBAL_UNICAST_V6:
            return True
    if any(ip in net for net in BLOCKED_NETWORKS if net.version == ip.version):
        return True
    return not ip.is_global or ip.is_multicast


# --- URL and host normalisation -------------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_ASCII_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?$")
_NUMBER_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
# Control characters, whitespace of every script, bidi controls and zero-width marks: none belongs in a URL,
# and each has been used to make a URL read differently to a person and to a parser.
_FORBIDDEN_CHARS = re.compile(
    "[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffb]"
)
# Anywhere in a URL: controls and whitespace. Bidi and zero-width marks are refused in the host (above) but may
# appear in a path or query, where they change nothing about where the request goes; the canonical URL carries
# them percent-encoded.
_URL_FORBIDDEN_CHARS = re.compile("[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u205f\u3000]")


@dataclass(frozen=True)
class Destination:
    """A URL that passed the pre-DNS checks, in the canonical form the request is made with."""

    url: str
    scheme: str
    host: str  # ASCII: an IDNA-encoded name, a dotted-quad IPv4 or a bare IPv6 address
    port: int
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None  # set when the host is an address


def parse_ipv4_number_forms(host: str) -> ipaddress.IPv4Address | None:
    """The address a host spelt in inet_aton's forms stands for (None: not numeric; invalid_url: malformed).

    `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` and `0` all reach 127.0.0.0/8 or 0.0.0.0 through the
    system resolver and in browsers, so they are judged by that address rather than passed along as names.
    """
    parts = host.split(".")
    if not parts[-1] or not _NUMBER_PART.match(parts[-1]):
        return None
    if not all(_NUMBER_PART.match(p) for p in parts) or len(parts) > 4:
        raise invalid("The host looks like a numeric address but is not a valid one.")
    numbers = []
    for p in parts:
        try:
            if p[:2].lower() == "0x":
                numbers.append(int(p[2:], 16))  # a bare "0x" is refused, as inet_aton does
            elif len(p) > 1 and p.startswith("0"):
                numbers.append(int(p, 8))
            else:
                numbers.append(int(p, 10))
        except ValueError:
            raise invalid("The host looks like a numeric address but is not a valid one.") from None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        raise invalid("The host looks like a numeric address but is not a valid one.")
    value = last
    for i, n in enumerate(leading):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def normalise_host(raw: str) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None]:
    """(canonical ASCII host, address when the host is one). Raises invalid_url / blocked_destination."""
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise invalid("The address has an unterminated [IPv6] host.")
        inner = raw[1:-1]
        if "%" in inner:
            raise invalid("IPv6 zone identifiers are not accepted in addresses.")
        try:
            ip6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise invalid("The [IPv6] host is not a valid IPv6 address.") from None
        return str(ip6), ip6
    try:
        host = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise invalid("The host name contains an invalid percent-encoded byte.") from None
    if _FORBIDDEN_CHARS.search(host) or any(c in host for c in "/\\@:?#[]%<>^|\"'`{}"):
        raise invalid("The host name contains characters that are not allowed in a host name.")
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise invalid("The address has no host name.")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise invalid("The host name is not a valid internationalised domain name (IDNA 2008).") from None
        if host.endswith("."):
            host = host[:-1]
    host = host.lower()
    address = parse_ipv4_number_forms(host)
    if address is not None:
        return str(address), address
    if len(host) > MAX_HOST_LENGTH:
        raise invalid("The host name is too long.")
    labels = host.split(".")
    for label in labels:
        if not _ASCII_LABEL.match(label):
            raise invalid("The host name is not a valid domain name.")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError):
                raise invalid("The host name is not a valid internationalised domain name (IDNA 2008).") from None
    if host in BLOCKED_NAMES or host.endswith(BLOCKED_SUFFIXES):
        raise blocked("This host name only exists on local or internal networks; pharmacheck never contacts it.")
    if len(labels) < 2:
        raise blocked("A host name without a dot only exists on local networks; pharmacheck never contacts it.")
    return host, None


def check_url(url: str, allowed_ports=(80, 443), resolve: tuple[ResolveEntry, ...] = ()) -> Destination:
    """Check a URL before any DNS and return its canonical form. Raises FetchError (invalid_url, blocked_destination).

    `allowed_ports` None lets any port through; only for fetches answered from an archive, which never connect.
    """
    if not isinstance(url, str) or not url.strip():
        raise invalid("The address is empty.")
    if len(url) > MAX_URL_LENGTH:
        raise invalid(f"The address is longer than {MAX_URL_LENGTH} characters.")
    if _URL_FORBIDDEN_CHARS.search(url):
        raise invalid("The address contains spaces or control characters.")
    m = _SCHEME.match(url)
    if not m:
        raise invalid("The address must start with http:// or https://.")
    scheme = m.group(1).lower()
    if scheme not in DEFAULT_PORTS:
        raise invalid("Only http:// and https:// addresses can be checked.")
    rest = url[m.end():]
    if not rest.startswith("//"):
        raise invalid("The address must start with http:// or https://.")
    rest = rest[2:]
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            end = min(end, i)
    authority, tail = rest[:end], rest[end:]
    if "\\" in authority:
        raise invalid("The address contains a backslash in its host part.")
    if "@" in authority:
        raise invalid("Addresses with a user name or password in them are not accepted.")
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise invalid("The address has an unterminated [IPv6] host.")
        raw_host, after = authority[: close + 1], authority[close + 1:]
        if after and not after.startswith(":"):
            raise invalid("The address has text after its [IPv6] host.")
        port_text = after[1:] if after else ""
    else:
        raw_host, _, port_text = authority.partition(":")
        if ":" in port_text:
            raise invalid("The address has more than one port.")
    if port_text:
        if not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5 or not 0 < int(port_text) < 65536:
            raise invalid("The address cannot be parsed: its port is not a number from 1 to 65535.")
        port = int(port_text)
    else:
        port = DEFAULT_PORTS[scheme]
    if allowed_ports is not None and port not in allowed_ports:
        raise invalid(f"Port {port} is not allowed; only {', '.join(map(str, allowed_ports))}.")
    host, address = normalise_host(raw_host)
    # A pinned name is never looked up in DNS, on any port: on a port its pins do not name it is refused here,
    # before anything could ask the system resolver about it.
    pinned_address(host, port, resolve)
    if address is not None and is_blocked_address(address):
        pinned = pinned_address(host, port, resolve)
        if pinned is None or is_metadata_address(address):
            raise blocked()
    tail = encode_invisible(tail.split("#", 1)[0].replace("\\", "%5C"))
    if not tail.startswith("/"):
        tail = "/" + tail
    url_host = f"[{host}]" if isinstance(address, ipaddress.IPv6Address) else host
    netloc = url_host if port == DEFAULT_PORTS[scheme] else f"{url_host}:{port}"
    canonical = f"{scheme}://{netloc}{tail}"
    # Percent-encoding an invisible character takes up to nine characters for one, and IDNA lengthens hosts:
    # the limit holds for the URL that is requested and reported, not only for what was typed.
    if len(canonical) > MAX_URL_LENGTH:
        raise invalid(f"The address is longer than {MAX_URL_LENGTH} characters once encoded.")
    return Destination(url=canonical, scheme=scheme, host=host, port=port, ip=address)


def validate_url(url: str, allowed_ports=(80, 443), resolve: tuple[ResolveEntry, ...] = ()) -> str:
    """The canonical form of `url`, or FetchError when it may not be fetched (checked before any DNS)."""
    return check_url(url, allowed_ports, resolve).url


def resolve_location(base: str, location: str, allowed_ports=(80, 443), resolve=()) -> Destination:
    """Where a redirect (or a meta refresh) leads, under the same policy as the URL the user gave."""
    location = location.strip()
    if not location:
        raise invalid("The site redirects to an empty address.")
    try:
        target = urljoin(base, location)
    except ValueError:
        raise invalid("The site redirects to an address that cannot be parsed.") from None
    m = _SCHEME.match(target)
    if not m or m.group(1).lower() not in DEFAULT_PORTS:
        raise invalid("The site redirects to an address that is not http:// or https://.")
    return check_url(target, allowed_ports, resolve)


def _entry_host(entry: ResolveEntry) -> str:
    try:
        return normalise_host(entry.host)[0]
    except FetchError:
        return entry.host


PINNED_ELSEWHERE_MESSAGE = (
    "This host is pinned by --resolve on other ports only. pharmacheck never looks a pinned name up in DNS, so it "
    "does not contact it on this port."
)


def pins_for(host: str, resolve: tuple[ResolveEntry, ...]) -> list[ResolveEntry]:
    """Every --resolve entry naming exactly this host (its canonical spelling; no subdomains, no wildcards)."""
    host = host.lower().rstrip(".").strip("[]")
    return [entry for entry in resolve if entry.host.strip("[]") == host or _entry_host(entry) == host]


def pinned_address(host: str, port: int, resolve: tuple[ResolveEntry, ...]) -> str | None:
    """The operator's --resolve address for exactly this host and port (never a metadata address).

    None when no pin names the host. A host pinned on other ports only is refused (blocked_destination): what a
    pin covers is its name on every port, so such a name is never handed to DNS, and its address only on the
    port the operator named.
    """
    pins = pins_for(host, resolve)
    if not pins:
        return None
    for entry in pins:
        if entry.port == port:
            if is_metadata_address(entry.address):
                raise blocked("Cloud metadata addresses can never be contacted, not even through --resolve.")
            return entry.address
    raise blocked(PINNED_ELSEWHERE_MESSAGE)
