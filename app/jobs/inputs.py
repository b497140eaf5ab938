"""The addresses of a job: a JSON list, or an uploaded CSV or text file; each canonicalised or refused."""

from __future__ import annotations

import csv
import io
import re

from app.cache import canonical_url
from app.domains import host_of, registrable_domain
from app.netpolicy import FetchError
from app.settings import Settings
from app.store.jobs import NewItem

# A header cell that names the column of addresses.
URL_COLUMN = re.compile(r"^\s*(url|urls|website|web ?site|site|domain|domain ?name|address|link|homepage)\s*$", re.I)


class InputError(ValueError):
    """The upload cannot be read as a list of addresses; the message says why."""


def decode_upload(data: bytes, what: str = "The file") -> str:
    try:
        # utf-8-sig: files saved by Windows editors start with a byte order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None


def text_lines(text: str) -> list[str]:
    """One address a line; blank lines and lines starting with # are skipped."""
    lines = (line.strip().lstrip("\ufeff") for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def csv_urls(text: str) -> list[str]:
    """The address column of a CSV file: the one whose header says url/website/domain/..., else the first.
    A first row that holds no address (no dot in the chosen cell) is taken as the header."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise InputError(f"The CSV file cannot be read: {exc}.") from None
    if not rows:
        return []
    column = 0
    header = rows[0]
    named = [i for i, cell in enumerate(header) if URL_COLUMN.match(cell)]
    if named:
        column, rows = named[0], rows[1:]
    elif "." not in header[0]:
        rows = rows[1:]
    urls = []
    for row in rows:
        cell = row[column].strip() if column < len(row) else ""
        if cell and not cell.startswith("#"):
            urls.append(cell)
    return urls


def upload_urls(data: bytes, filename: str | None, content_type: str | None) -> tuple[list[str], str]:
    """(addresses, "csv" or "txt") from an uploaded file, told apart by its name or type."""
    text = decode_upload(data)
    name = (filename or "").lower()
    kind = (content_type or "").split(";")[0].strip().lower()
    if name.endswith(".csv") or kind in ("text/csv", "application/csv", "application/vnd.ms-excel"):
        return csv_urls(text), "csv"
    return text_lines(text), "txt"


def prepare(urls: list[str], settings: Settings) -> list[NewItem]:
    """Every address as an item: its canonical spelling, or the refusal (an item of its own, never the job's)."""
    items = []
    for url in urls:
        try:
            key = canonical_url(url, settings.allowed_ports, settings.resolve)
        except FetchError as exc:
            items.append(NewItem(input_url=url, canonical_url=None, domain=None, error_code=exc.code,
                                 error_message=exc.message))
            continue
        items.append(NewItem(input_url=url, canonical_url=key, domain=site_of(key)))
    return items


def site_of(url: str) -> str:
    """The registrable domain a site lock is taken on (the host itself for an address or an odd name)."""
    try:
        return registrable_domain(url) or host_of(url)
    except Exception:
        return host_of(url)
