"""Who the client is: the connection's address, or behind trusted reverse proxies the address they forward.

A forwarded address is believed only when the connection comes from a trusted proxy, and only as far as the
chain of trusted proxies goes: reading X-Forwarded-For (or Forwarded) from the right, each hop that is itself a
trusted proxy is skipped and the first one that is not is the client. Anything to its left was written by the
client and may be made up. Only the one header the proxies are configured to write is read.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_FORWARDED_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)', re.IGNORECASE)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def parse_hop(token: str) -> IPAddress | None:
    """One hop as proxies write it: 203.0.113.7, 203.0.113.7:4711, [2001:db8::1]:4711 or 2001:db8::1; None for
    anything else ("unknown", an obfuscated "_hidden" name, garbage)."""
    text = token.strip().strip('"').strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def forwarded_hops(headers: Iterable[tuple[bytes, bytes]], header: str) -> list[str]:
    """The hops of every `header` line, left to right, in the order the lines arrived."""
    name = header.lower().encode()
    hops: list[str] = []
    for key, value in headers:
        if key.lower() != name:
            continue
        text = value.decode("latin-1")
        if header == "forwarded":
            for element in text.split(","):
                match = _FORWARDED_FOR.search(element)
                hops.append(match.group(1) if match else "")
        else:
            hops.extend(part.strip() for part in text.split(","))
    return hops


def _trusted(address: IPAddress | None, trusted: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in trusted)


def client_address(peer: str | None, headers: Iterable[tuple[bytes, bytes]], trusted: tuple[IPNetwork, ...],
                   header: str = "x-forwarded-for") -> str:
    """The client's address for this connection (`peer` is the connection's own address)."""
    peer_address = parse_hop(peer) if peer else None
    if not peer:
        return "unknown"
    if not trusted or not _trusted(peer_address, trusted):
        return str(peer_address) if peer_address else peer
    nearest = peer_address
    for hop in reversed(forwarded_hops(headers, header)):
        address = parse_hop(hop)
        if address is None:
            # A trusted proxy that could not name the client ("unknown"): the client is whoever that proxy is
            # serving, counted as the proxy, never as the name a client might have typed.
            return str(nearest)
        if not _trusted(address, trusted):
            return str(address)
        nearest = address
    # Every hop is a trusted proxy (a health check from the proxies themselves): the left-most one.
    return str(nearest)


def bucket_of(address: str) -> str:
    """The rate-limit bucket of a client address: the address itself, or for IPv6 its /64, which one customer
    line gets whole (one household could otherwise take a new address for every request)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
