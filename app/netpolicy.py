"""Which destinations pharmacheck may connect to.

pharmacheck fetches URLs typed by strangers, so every address it connects to is checked here first.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .settings import ResolveEntry

MAX_URL_LENGTH = 2048


class FetchError(Exception):
    """A fetch failed; `code` is a stable id shown in reports and API errors."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def is_blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def validate_url(url: str, allowed_ports: tuple[int, ...] = (80, 443)) -> str:
    """Refuse URLs that are malformed or point at obviously internal names, before any DNS."""
    if not isinstance(url, str) or not url.strip():
        raise FetchError("invalid_url", "The address is empty.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise FetchError("invalid_url", f"The address is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise FetchError("invalid_url", "The address contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError("invalid_url", f"The address cannot be parsed: {exc}.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("invalid_url", "Only http:// and https:// addresses can be checked.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise FetchError("invalid_url", "Addresses with a user name or password in them are not accepted.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchError("invalid_url", "The address has no host name.")
    effective_port = port or (443 if parts.scheme.lower() == "https" else 80)
    if effective_port not in allowed_ports:
        raise FetchError("invalid_url", f"Port {effective_port} is not allowed; only {', '.join(map(str, allowed_ports))}.")
    return url


def pinned_address(host: str, port: int, resolve: tuple[ResolveEntry, ...]) -> str | None:
    for entry in resolve:
        if entry.host == host.lower().rstrip(".") and entry.port == port:
            return entry.address
    return None
