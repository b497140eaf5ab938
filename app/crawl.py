"""Choose which same-site pages to read after the start page.

A careful investigator reads the contact, about, imprint, terms, shipping, payment, FAQ and prescription pages;
rules.yaml lists, in priority order, the link texts and path fragments that lead to each.
"""

from __future__ import annotations

from urllib.parse import urldefrag, urlsplit

from .domains import registrable_domain
from .page import Page
from .rules import CrawlTarget
from .textmatch import PhraseSet


def normalise(url: str) -> str:
    url, _ = urldefrag(url)
    return url.rstrip("/") or url


def _path_matches(url: str, fragments: list[str]) -> bool:
    path = urlsplit(url).path.lower()
    return any(f.lower() in path for f in fragments)


def choose_pages(pages: list[Page], domain: str, targets: list[CrawlTarget], budget: int, seen: set[str]) -> list[tuple[str, str]]:
    """(kind, url) pairs to fetch from the links of `pages`, at most `budget`, one per target kind, best first."""
    if budget <= 0:
        return []
    candidates = []
    for link in (link for page in pages for link in page.links):
        scheme = urlsplit(link.url).scheme.lower()
        if scheme not in ("http", "https"):
            continue
        if registrable_domain(link.url) != domain:
            continue
        candidates.append(link)

    chosen: list[tuple[str, str]] = []
    taken = set(seen)
    for target in targets:
        if len(chosen) >= budget:
            break
        by_text = PhraseSet(tuple(target.link_text))
        best = None
        for link in candidates:
            url = normalise(link.url)
            if url in taken:
                continue
            # Link text is the stronger signal: a "Contact us" link beats a path that merely contains "contact".
            if by_text and by_text.search(link.text):
                best = url
                break
            if best is None and target.path and _path_matches(link.url, target.path):
                best = url
        if best:
            chosen.append((target.kind, best))
            taken.add(best)
    return chosen
