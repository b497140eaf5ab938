"""Registrable-domain arithmetic with tldextract's bundled public suffix list.

tldextract would otherwise try to download a fresh suffix list at run time, which a checker that runs in
locked-down networks (and in tests) must never do, so the extractor is built with no list URLs and no cache.

The list's private part (myshopify.com, github.io, netlify.app, blogspot.com...) counts as suffixes: every shop
on a hosting platform is its own site, with its own owner, so `mypharm.myshopify.com` and
`otherpharm.myshopify.com` are two sites for identity comparisons, crawling and the user's site lists.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@lru_cache(maxsize=4096)
def split_host(host: str) -> tuple[str, str, str]:
    """(subdomain, domain label, suffix) of a host name."""
    parts = _extract(host.strip(".").lower())
    return parts.subdomain, parts.domain, parts.suffix


def registrable_domain(host_or_url: str) -> str:
    """example.co.uk for shop.example.co.uk; the host itself for IP addresses and unknown suffixes."""
    host = urlsplit(host_or_url).hostname if "//" in host_or_url else host_or_url
    host = (host or "").strip(".").lower()
    if not host:
        return ""
    sub, domain, suffix = split_host(host)
    if domain and suffix:
        return f"{domain}.{suffix}"
    if _is_ip(host):
        return host
    # A suffix the public list does not know (an intranet or reserved name): treat the last two labels as the
    # registrable part, which is what such names almost always mean.
    return ".".join(host.split(".")[-2:])


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def same_site(url: str, domain: str) -> bool:
    return bool(domain) and registrable_domain(url) == domain


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
