"""The reputation lists pharmacheck knows, where each is published, and a parser for each published form.

Each source names its official public address, what a listed domain means (rogue or legit) and how long the
list stays current (`fresh_days`): past that a report says the list is stale. Parsers take the bytes as
downloaded or as a file a user has, and return entries with the source's own row kept beside each.

Forms read:
- NABP Not Recommended sites: the HTML page on safe.pharmacy (a domain per list item, link or table cell; the
  page's modification date is the snapshot date), or a CSV/plain-text export of it.
- NABP accredited websites: the Excel workbook linked from safe.pharmacy's "Buy Safely" page (columns for the
  website, its type and the business name), or a CSV export of it.
- FDA Internet pharmacy warning letters: the HTML table on fda.gov (the domains each letter names, with its
  date; "Content current as of" is the snapshot date).
- Any of them, and a user's own list, as CSV `domain,label,source[,type]`: a `source` column that names the list
  (`nabp_not_recommended_2024-01-30`, `nabp_accredited_2023-02;type=Pharmacy`) keeps only that list's rows and
  gives the snapshot date and the NABP type, so one file holding several lists loads one list at a time.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from .domains import normalise_list_domain

LABELS = ("rogue", "legit")
# NABP's accredited-site types, as the workbook spells them, in the short form stored.
NABP_TYPES = {
    "pharmacy": "pharmacy",
    "digital pharmacy": "pharmacy",
    "veterinary pharmacy": "veterinary",
    "veterinary": "veterinary",
    "vet pharmacy": "veterinary",
    "pbm": "pbm",
    "pharmacy benefit manager": "pbm",
    "pharmacy benefits manager": "pbm",
}
MAX_ROW_TEXT = 1000
USER_PREFIX = "user:"
_USER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,59}$")


class ListFileError(ValueError):
    """A list file or download cannot be used; the message says which and why (the store is left as it was)."""


@dataclass
class ParsedEntry:
    domain: str
    label: str
    type: str = ""
    name: str = ""
    source_row: str = ""


@dataclass
class ParsedList:
    entries: list[ParsedEntry]
    snapshot_date: date | None = None
    skipped_invalid: int = 0  # rows whose domain is no domain name
    skipped_other: int = 0  # rows of another list in a file holding several
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    label: str  # rogue, legit, or mixed
    url: str  # the official public address `lists update` downloads from
    publisher: str
    fresh_days: int | None
    # The tag in a `source` column that marks this list's rows (domains-dev.csv style).
    csv_tag: str
    download: Callable  # (body, content_type, url) -> ParsedList for what `update` fetches
    description: str = ""


def _text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListFileError(f"{what}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def _snapshot_from_tag(tag: str) -> date | None:
    """`nabp_not_recommended_2024-01-30` -> 2024-01-30; `nabp_accredited_2023-02` -> 2023-02-01."""
    m = re.search(r"(20\d{2})-(\d{2})(?:-(\d{2}))?", tag)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        return None


def nabp_type(text: str) -> str:
    cleaned = " ".join((text or "").lower().replace("_", " ").split())
    if cleaned in NABP_TYPES:
        return NABP_TYPES[cleaned]
    return re.sub(r"[^a-z0-9]+", "-", cleaned).strip("-")[:40]


def _row_text(row) -> str:
    text = ",".join("" if v is None else str(v) for v in row) if not isinstance(row, str) else row
    return text[:MAX_ROW_TEXT]


# ---- CSV and plain text: every source, and the user's own lists ------------------------------------------------

def parse_table_file(body: bytes, source: Source | None, what: str, *, label: str | None = None) -> ParsedList:
    """A CSV with a header naming a domain column (domain, website, url, site), or plain text, one domain a line.

    With `source`, rows whose `source` column names another list are skipped, and the snapshot date and NABP
    type come from the column. Without it (a user's list) each row needs a label (rogue/legit), from its own
    `label` column or from `label`."""
    text = _text(body, what)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    header = [c.strip().lower() for c in next(csv.reader([first]))] if first else []
    domain_column = next((c for c in header if c in ("domain", "website", "url", "site", "web address", "domain name")), None)
    if domain_column is None:
        if "," in first:
            raise ListFileError(f"{what}: expected a CSV header with a domain column (domain,label,source) or one domain a line")
        return _plain_lines(lines, source, what, label)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    reader.fieldnames = [c.strip().lower() for c in reader.fieldnames or []]
    parsed = ParsedList([])
    snapshots: set[date] = set()
    for line_no, row in enumerate(reader, start=2):
        raw = (row.get(domain_column) or "").strip()
        if not raw or raw.startswith("#"):
            continue
        tag = (row.get("source") or "").strip()
        row_label = (row.get("label") or "").strip().lower()
        kind = (row.get("type") or row.get("category") or "").strip()
        if source is not None:
            if tag:
                parts = [p.strip() for p in tag.split(";")]
                if not any(p.startswith(source.csv_tag) for p in parts):
                    parsed.skipped_other += 1
                    continue
                mine = next(p for p in parts if p.startswith(source.csv_tag))
                snapshot = _snapshot_from_tag(mine)
                if snapshot:
                    snapshots.add(snapshot)
                typed = next((p.split("=", 1)[1] for p in parts if p.lower().startswith("type=")), "")
                kind = kind or typed
            elif row_label and source.label in LABELS and row_label != source.label:
                parsed.skipped_other += 1
                continue
            entry_label = source.label if source.label in LABELS else row_label
        else:
            entry_label = row_label or (label or "")
            if entry_label not in LABELS:
                raise ListFileError(f"{what}: line {line_no}: label must be rogue or legit, got {entry_label!r}"
                                    + ("" if row_label else " (give a label column or --label)"))
        domain = normalise_list_domain(raw)
        if domain is None:
            parsed.skipped_invalid += 1
            continue
        name = (row.get("name") or row.get("company") or row.get("business name") or "").strip()
        parsed.entries.append(ParsedEntry(domain, entry_label, nabp_type(kind) if kind else "", name[:300],
                                          _row_text([row.get(c) for c in reader.fieldnames])))
    if len(snapshots) == 1:
        parsed.snapshot_date = snapshots.pop()
    elif snapshots:
        parsed.snapshot_date = min(snapshots)
        parsed.notes.append(f"rows carry {len(snapshots)} snapshot dates; the oldest, {parsed.snapshot_date}, is kept")
    return parsed


def _plain_lines(lines: list[str], source: Source | None, what: str, label: str | None) -> ParsedList:
    entry_label = source.label if source is not None and source.label in LABELS else label
    if entry_label not in LABELS:
        raise ListFileError(f"{what}: a plain list of domains needs --label rogue or --label legit")
    parsed = ParsedList([])
    for line in lines:
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        domain = normalise_list_domain(raw)
        if domain is None:
            parsed.skipped_invalid += 1
            continue
        parsed.entries.append(ParsedEntry(domain, entry_label, "", "", raw[:MAX_ROW_TEXT]))
    return parsed


# ---- HTML pages: NABP Not Recommended, FDA warning letters ------------------------------------------------------

_PAGE_DATE_META = ("article:modified_time", "og:updated_time", "dcterms.modified", "last-modified", "article:published_time")
_DATE_FORMATS = ("%m/%d/%Y", "%B %d, %Y", "%b %d, %Y", "%Y-%m-%d", "%d %B %Y")
_DATE_TEXT = re.compile(
    r"(\d{1,2}/\d{1,2}/20\d{2}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, 20\d{2}|20\d{2}-\d{2}-\d{2})"
)
_DOMAIN_TOKEN = re.compile(r"(?<![\w@.-])(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,23}(?![\w@-])", re.I)
# File names and the like that look like domains in running text.
_NOT_DOMAIN_TLDS = {"pdf", "html", "htm", "php", "aspx", "jpg", "png", "gif", "js", "css", "doc", "docx", "xls", "xlsx"}


def parse_date(text: str) -> date | None:
    text = " ".join((text or "").replace(".", "").split()) if not re.match(r"^\d{4}-", text or "") else text[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text[:10]).date()
    except ValueError:
        return None


def _soup(body: bytes, content_type: str):
    from bs4 import BeautifulSoup

    from app.net.charset import decode_document

    return BeautifulSoup(decode_document(body, content_type).text, "lxml")


def _page_date(soup) -> date | None:
    for name in _PAGE_DATE_META:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag is not None and tag.get("content"):
            found = parse_date(str(tag["content"]))
            if found:
                return found
    return None


def _own_domains(url: str) -> set[str]:
    from app.domains import registrable_domain

    return {registrable_domain(url)} if url else set()


def parse_nabp_not_recommended(body: bytes, content_type: str = "text/html", url: str = "") -> ParsedList:
    """The Not Recommended page: each listed site is a domain written as the text of a list item, a link or a
    table cell in the page's content (the navigation and footer hold words, not domain names)."""
    if not _looks_html(body, content_type):
        return parse_table_file(body, SOURCES["nabp_not_recommended"], url or "download")
    soup = _soup(body, content_type)
    snapshot = _page_date(soup)
    for time_tag in soup.find_all("time", limit=20):
        snapshot = snapshot or parse_date(str(time_tag.get("datetime") or time_tag.get_text()))
    content = soup.find("main") or soup.find("article") or soup.find(class_=re.compile("entry-content|content")) or soup.body or soup
    for junk in content.find_all(["nav", "header", "footer", "script", "style", "form"]):
        junk.decompose()
    excluded = _own_domains(url) | {"safe.pharmacy", "nabp.pharmacy", "nabp.net"}
    parsed = ParsedList([], snapshot_date=snapshot)
    seen: set[str] = set()
    for node in content.find_all(["li", "td", "a", "p", "span", "div"]):
        if node.name in ("p", "span", "div") and node.find(["li", "td", "a", "p", "div"]):
            continue
        text = " ".join(node.get_text(" ").split())
        if not text or " " in text or len(text) > 253:
            continue
        domain = normalise_list_domain(text)
        if domain is None:
            if "." in text and len(text) < 80:
                parsed.skipped_invalid += 1
            continue
        if domain in seen or domain in excluded or domain.rsplit(".", 1)[-1] in _NOT_DOMAIN_TLDS:
            continue
        seen.add(domain)
        parsed.entries.append(ParsedEntry(domain, "rogue", "", "", str(node)[:MAX_ROW_TEXT]))
    return parsed


def parse_fda_warning_letters(body: bytes, content_type: str = "text/html", url: str = "") -> ParsedList:
    """FDA's table of warning letters to online sellers: every domain a row names (the seller's websites), with
    the letter's date kept in the row; "Content current as of" is the page's snapshot date."""
    if not _looks_html(body, content_type):
        return parse_table_file(body, SOURCES["fda_warning_letters"], url or "download")
    soup = _soup(body, content_type)
    snapshot = None
    current = soup.find(string=re.compile(r"content current as of", re.I))
    node = current
    for _ in range(3):  # the date sits in the same element or in the one around it
        if node is None:
            break
        m = _DATE_TEXT.search(" ".join((node.get_text(" ") if hasattr(node, "get_text") else str(node)).split()))
        if m:
            snapshot = parse_date(m.group(1))
            break
        node = node.parent
    snapshot = snapshot or _page_date(soup)
    excluded = _own_domains(url) | {"fda.gov", "hhs.gov", "usa.gov"}
    parsed = ParsedList([], snapshot_date=snapshot)
    seen: set[str] = set()
    rows = soup.select("table tr")
    if not rows:
        raise ListFileError(f"{url or 'the page'}: no table of warning letters found; the page's layout may have changed")
    for row in rows:
        if row.find("th") and not row.find("td"):
            continue
        text = " ".join(row.get_text(" ").split())
        hrefs = " ".join(str(a.get("href") or "") for a in row.find_all("a") if not str(a.get("href") or "").startswith("/"))
        for token in _DOMAIN_TOKEN.findall(text + " " + hrefs):
            domain = normalise_list_domain(token)
            if domain is None or domain in seen or domain.rsplit(".", 1)[-1] in _NOT_DOMAIN_TLDS:
                continue
            from app.domains import registrable_domain

            if registrable_domain(domain) in excluded:
                continue
            seen.add(domain)
            parsed.entries.append(ParsedEntry(domain, "rogue", "", "", text[:MAX_ROW_TEXT]))
    return parsed


def _looks_html(body: bytes, content_type: str) -> bool:
    if "html" in (content_type or "").lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


# ---- NABP accredited: the Excel workbook -------------------------------------------------------------------------

_WEBSITE_HEADERS = ("website", "web site", "url", "domain", "web address", "site", "website url", "websites")
_TYPE_HEADERS = ("type", "category", "program", "website type", "accreditation type")
_NAME_HEADERS = ("name", "company", "company name", "business name", "merchant", "merchant name", "organization")


def parse_nabp_accredited(body: bytes, content_type: str = "", url: str = "") -> ParsedList:
    """The accredited-websites workbook (.xlsx): the row naming a website column is the header; each row below is
    a site with its NABP type (Pharmacy, Veterinary Pharmacy, PBM, Resource...) and business name. A CSV export
    of it reads the same way."""
    if not body.startswith(b"PK"):
        if _looks_html(body, content_type):
            raise ListFileError(f"{url or 'the file'}: an HTML page, not the accredited-websites workbook")
        return parse_table_file(body, SOURCES["nabp_accredited"], url or "download")
    rows, modified = _xlsx_rows(body, url or "the workbook")
    header_at = None
    for i, row in enumerate(rows[:30]):
        cells = [str(c or "").strip().lower() for c in row]
        if any(c in _WEBSITE_HEADERS for c in cells):
            header_at = i
            break
    if header_at is None:
        raise ListFileError(f"{url or 'the workbook'}: no header row with a website column found in its first sheet")
    header = [str(c or "").strip().lower() for c in rows[header_at]]

    def column(names) -> int | None:
        return next((i for i, c in enumerate(header) if c in names), None)

    site_col, type_col, name_col = column(_WEBSITE_HEADERS), column(_TYPE_HEADERS), column(_NAME_HEADERS)
    parsed = ParsedList([], snapshot_date=modified)
    for row in rows[header_at + 1:]:
        cells = list(row) + [None] * (len(header) - len(row))
        raw = str(cells[site_col] or "").strip()
        if not raw:
            continue
        kind = nabp_type(str(cells[type_col] or "")) if type_col is not None else ""
        name = str(cells[name_col] or "").strip()[:300] if name_col is not None else ""
        # A cell may hold several addresses of one business.
        for part in re.split(r"[\s,;]+", raw):
            domain = normalise_list_domain(part)
            if domain is None:
                parsed.skipped_invalid += 1
                continue
            parsed.entries.append(ParsedEntry(domain, "legit", kind, name, _row_text(cells)))
    return parsed


def _xlsx_rows(body: bytes, what: str) -> tuple[list[tuple], date | None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ListFileError(f"{what}: not a readable Excel workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = [tuple(r) for r in sheet.iter_rows(values_only=True, max_row=200_000)]
        modified = workbook.properties.modified.date() if workbook.properties and workbook.properties.modified else None
    finally:
        workbook.close()
    return rows, modified


def find_workbook_link(body: bytes, content_type: str, url: str) -> str | None:
    """The accredited-websites download linked from the "Buy Safely" page ("download an Excel list")."""
    from urllib.parse import urljoin

    soup = _soup(body, content_type)
    best = None
    for a in soup.find_all("a", href=True):
        href = str(a["href"])
        if re.search(r"\.(xlsx|xls|csv)(?:$|\?)", href, re.I):
            text = (a.get_text(" ") + " " + href).lower()
            if "accredit" in text or "excel" in text or "download" in text or best is None:
                best = urljoin(url, href)
                if "accredit" in text:
                    break
    return best


# ---- the sources --------------------------------------------------------------------------------------------------

SOURCES: dict[str, Source] = {
    "nabp_not_recommended": Source(
        id="nabp_not_recommended",
        title="NABP Not Recommended sites",
        label="rogue",
        url="https://safe.pharmacy/not-recommended-sites/",
        publisher="National Association of Boards of Pharmacy (NABP)",
        # NABP adds sites as it reviews them; a month-old copy misses the newest rogue sites.
        fresh_days=30,
        csv_tag="nabp_not_recommended",
        download=parse_nabp_not_recommended,
        description="Websites NABP found out of compliance with pharmacy laws or practice standards.",
    ),
    "nabp_accredited": Source(
        id="nabp_accredited",
        title="NABP accredited websites",
        label="legit",
        url="https://safe.pharmacy/buy-safely/",
        publisher="National Association of Boards of Pharmacy (NABP)",
        fresh_days=30,
        csv_tag="nabp_accredited",
        download=parse_nabp_accredited,
        description="Websites NABP accredited (.pharmacy verified or accredited digital pharmacy), with their type.",
    ),
    "fda_warning_letters": Source(
        id="fda_warning_letters",
        title="FDA warning letters to online pharmacies",
        label="rogue",
        url="https://www.fda.gov/drugs/drug-supply-chain-integrity/internet-pharmacy-warning-letters",
        publisher="U.S. Food and Drug Administration (FDA)",
        # FDA posts letters in batches a few times a year.
        fresh_days=90,
        csv_tag="fda_internet_pharmacy_warning_letters",
        download=parse_fda_warning_letters,
        description="Domains named in FDA warning letters for selling unapproved or misbranded drugs online.",
    ),
}


def source_for(source_id: str) -> Source | None:
    """The known source, or None for a user's list (`user:NAME`); raises for anything else."""
    if source_id in SOURCES:
        return SOURCES[source_id]
    if source_id.startswith(USER_PREFIX) and _USER_NAME.match(source_id[len(USER_PREFIX):]):
        return None
    known = ", ".join(SOURCES)
    raise ListFileError(f"unknown list {source_id!r}: expected one of {known}, or user:NAME for a list of your own "
                        "(NAME: lower-case letters, digits, '-', '_' or '.')")


def parse_file(source_id: str, body: bytes, what: str, *, label: str | None = None) -> ParsedList:
    """A file the user has, for `lists import SOURCE FILE`."""
    source = source_for(source_id)
    if source is None:
        return parse_table_file(body, None, what, label=label)
    if source.id == "nabp_accredited" and body.startswith(b"PK"):
        return parse_nabp_accredited(body, "", what)
    if _looks_html(body, ""):
        return source.download(body, "text/html", "")
    return parse_table_file(body, source, what)
