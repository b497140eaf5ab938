"""What a check sees: the pages that were read, how they were fetched, and run-time context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from .lists.model import ListMatch, ListsConsulted
from .page import Page


@dataclass(frozen=True)
class KnownSite:
    domain: str
    label: str
    source: str


@dataclass
class PageRecord:
    """One fetch attempt, successful or not, as it appears in the report."""

    url: str
    final_url: str = ""
    status: int | None = None
    bytes: int = 0
    elapsed_ms: int = 0
    https: bool = False
    tls_valid: bool | None = None
    content_type: str = ""
    truncated: bool = False
    truncated_by: str | None = None  # "size", "timeout" or "incomplete" (see fetch.FetchResult)
    kind: str = "start"
    error: str | None = None
    error_message: str = ""
    from_archive: bool = False
    encoding_note: str = ""  # a declared charset that was not used, and why
    # Why the certificate of a page that was read anyway failed verification (tls_valid False).
    tls_problem: str = ""
    rendered: bool = False  # read from the DOM a browser built
    # A page that looked built by JavaScript but was not rendered, or whose rendering failed: the code and why.
    render_error: str | None = None
    render_message: str = ""
    language: str = ""  # the language the page was read in


@dataclass
class Site:
    requested_url: str
    final_url: str
    domain: str  # registrable domain of the final URL
    host: str
    pages: list[Page] = field(default_factory=list)
    records: list[PageRecord] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    # Whether the plain-HTTP address of the site was seen redirecting to HTTPS (None: not observed).
    http_upgrades_to_https: bool | None = None
    # Every list entry for this site (stored lists and a --known-sites file), and which lists were consulted.
    list_matches: list[ListMatch] = field(default_factory=list)
    lists_consulted: ListsConsulted = field(default_factory=ListsConsulted)
    # What the identity graph knows of sites sharing this one's identity facts (app/graph.py); None: not asked.
    identity: object | None = None
    # Results of checks' optional outside look-ups, by check id (see checks.base.Check.enrich).
    enrichments: dict[str, object] = field(default_factory=dict)
    # Hosts whose certificate failed verification in this check: their pages are read without it (GET only).
    unverified_hosts: set[str] = field(default_factory=set)
    # Rendering (app/browser.py): "rendered", "not_needed", "off" or "unavailable"; the requests rendered pages
    # made that were refused; a picture of the start page (JPEG bytes, width, height).
    rendering: str = ""
    refused_requests: list = field(default_factory=list)
    screenshot: tuple[bytes, int, int] | None = None

    @property
    def start_page(self) -> Page | None:
        return self.pages[0] if self.pages else None

    @property
    def pages_read(self) -> list[str]:
        return [p.url for p in self.pages]

    def texts(self) -> Iterator[tuple[Page, str]]:
        for page in self.pages:
            if page.text:
                yield page, page.text
