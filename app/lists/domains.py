"""The one spelling of a domain that lists are stored and looked up in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import idna

from app.domains import registrable_domain

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def normalise_list_domain(text: str) -> str | None:
    """`Https://WWW.Example.com/shop?x` -> `example.com`; None when the text is no domain name.

    Lower case, IDNA (punycode) for international names, without scheme, user, port, path, trailing dot or a
    leading "www." (lists and sites differ on it, and it never names another business)."""
    value = (text or "").strip().strip("\"'<>").lower()
    if not value or len(value) > 2048:
        return None
    if "://" in value:
        try:
            value = urlsplit(value).hostname or ""
        except ValueError:
            return None
    else:
        value = re.split(r"[/?#\s]", value, maxsplit=1)[0]
        value = value.rsplit("@", 1)[-1]
        if value.count(":") == 1:
            value = value.split(":", 1)[0]
    value = value.strip(".")
    if value.startswith("www."):
        value = value[4:]
    if not value or "." not in value or _IPV4.match(value):
        return None
    if not value.isascii():
        try:
            value = idna.encode(value, uts46=True).decode("ascii")
        except idna.IDNAError:
            return None
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return value


def lookup_keys(host: str) -> list[tuple[str, str]]:
    """(key, what it is) for a host the site used: the host itself (without www.), then its registrable domain."""
    host = normalise_list_domain(host) or ""
    if not host:
        return []
    keys = [(host, "address")]
    domain = registrable_domain(host)
    if domain and domain != host:
        keys.append((domain, "registrable domain"))
    return keys
