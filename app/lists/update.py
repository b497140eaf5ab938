"""`lists update`: download each list from its official public address through the project's fetcher."""

from __future__ import annotations

from dataclasses import dataclass

from app.fetch import Fetcher
from app.netpolicy import FetchError
from app.settings import Settings

from .model import ListInfo
from .sources import SOURCES, ListFileError, ParsedList, find_workbook_link
from .store import ListStore

# The lists are far larger than a pharmacy page (NABP's Not Recommended page names tens of thousands of sites).
MAX_LIST_BYTES = 64 * 1024 * 1024
LIST_TIMEOUT = 120.0


@dataclass
class Updated:
    info: ListInfo
    parsed: ParsedList
    url: str


def download_settings(settings: Settings) -> Settings:
    return settings.with_(max_bytes=MAX_LIST_BYTES, max_decoded_bytes=MAX_LIST_BYTES, page_timeout=LIST_TIMEOUT,
                          read_timeout=60.0, check_timeout=LIST_TIMEOUT)


async def fetch_list(fetcher: Fetcher, source_id: str, url: str | None = None) -> tuple[ParsedList, str, bytes]:
    """Download and parse one source; raises ListFileError with a one-line reason."""
    source = SOURCES[source_id]
    address = url or source.url
    try:
        result = await fetcher.fetch(address, require_html=False, timeout=LIST_TIMEOUT)
        if result.truncated:
            raise ListFileError(f"{source_id}: {address} is larger than {MAX_LIST_BYTES // (1024 * 1024)} MiB; not loaded")
        if result.status >= 400:
            raise ListFileError(f"{source_id}: {address} answered HTTP {result.status}")
        body, content_type, final = result.body, result.content_type, result.url
        if source_id == "nabp_accredited" and not body.startswith(b"PK") and "html" in (content_type or "").lower():
            # The "Buy Safely" page links the workbook; follow the link.
            link = find_workbook_link(body, content_type, final)
            if link is None:
                raise ListFileError(f"{source_id}: {final} links no accredited-websites workbook; the page may have changed")
            result = await fetcher.fetch(link, require_html=False, timeout=LIST_TIMEOUT)
            if result.status >= 400:
                raise ListFileError(f"{source_id}: {link} answered HTTP {result.status}")
            body, content_type, final = result.body, result.content_type, result.url
    except FetchError as exc:
        raise ListFileError(f"{source_id}: could not download {address}: {exc.message}") from None
    return source.download(body, content_type, final), final, body


async def update(settings: Settings, store: ListStore, source_ids: list[str], urls: dict[str, str]) -> list[Updated | ListFileError]:
    """Each source in turn; one that fails is reported and keeps the list it had."""
    fetcher = Fetcher(download_settings(settings))
    results: list[Updated | ListFileError] = []
    try:
        for source_id in source_ids:
            try:
                parsed, final, body = await fetch_list(fetcher, source_id, urls.get(source_id))
                if not parsed.entries:
                    raise ListFileError(f"{source_id}: {final} lists no domains; the page's layout may have changed "
                                        "(the list in the store is unchanged)")
                info = store.replace(source_id, parsed, origin=final, method="update", content=body)
                results.append(Updated(info, parsed, final))
            except ListFileError as exc:
                results.append(exc)
    finally:
        await fetcher.aclose()
    return results
