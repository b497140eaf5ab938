"""Evidence archives in the standard WARC format (ISO 28500), written and read with warcio.

Rogue pharmacy sites change or vanish within days, so a report is only as good as the copy of what was seen.
Two transports plug into `Fetcher(settings, transport=...)`:

- `RecordingTransport` wraps the live transport and writes every request, every response (status line, headers
  and body bytes exactly as they came off the wire, still content-encoded, so a replay goes through the same
  decoding path) and every failed fetch into a WARC file; the service adds the JSON report as a record of its
  own. The file opens in ordinary web-archive tools (pywb, ReplayWeb.page, warcio).
- `ReplayTransport` answers every fetch from one or more WARC files and never touches the network or DNS; an
  address that is not in the archive fails with the page error `not_in_archive`.

Records pharmacheck adds besides requests and responses:
- `metadata` records with Content-Type `application/vnd.pharmacheck.fetch-error+json` for fetches that failed
  (DNS, TLS, connection), so a replay reproduces the same page error instead of calling the page missing, each
  with the `request` record of what was asked (`WARC-Concurrent-To` links them);
- `resource` records at `urn:pharmacheck:report:<checked URL>` holding the JSON report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import httpx
from warcio.archiveiterator import WARCIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import __version__
from .fetch import TLS_VERIFIED
from .netpolicy import FetchError
from .settings import SettingsError

REPORT_URI_PREFIX = "urn:pharmacheck:report:"
REPORT_CONTENT_TYPE = "application/json"
FETCH_ERROR_CONTENT_TYPE = "application/vnd.pharmacheck.fetch-error+json"
# WARC has no field for "the certificate was verified"; pharmacheck writes its own on HTTPS responses whose
# certificate it verified, so a replay can say so. Archives from other tools lack it: not checked.
TLS_VERIFIED_HEADER = "Pharmacheck-TLS-Verified"
WARC_SUFFIXES = (".warc", ".warc.gz")
# Hop-by-hop framing that httpcore has already removed from the body; keeping the header would make archive
# readers try to de-chunk bytes that are no longer chunked.
_FRAMING_HEADERS = {"transfer-encoding"}


class ArchiveError(SettingsError):
    """An archive given with --record or --replay cannot be used; the message names the file and why."""


def archive_key(url: str) -> str:
    """The form of a URL used to match a fetch against the archive: what httpx would send, minus the fragment."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return url
    return str(parsed.copy_with(fragment=None))


def report_uri(url: str) -> str:
    return REPORT_URI_PREFIX + url


# --------------------------------------------------------------------------------------------------- recording


class WarcRecorder:
    """Appends records to one WARC file. Writes are synchronous and small, so concurrent checks never interleave."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: BinaryIO = open(self.path, "wb")
        except (OSError, ValueError) as exc:
            raise ArchiveError(f"--record {path}: cannot write: {getattr(exc, 'strerror', None) or exc}") from None
        self._writer = WARCWriter(self._file, gzip=self.path.name.endswith(".gz"))
        self._write(self._writer.create_warcinfo_record(self.path.name, {
            "software": f"pharmacheck/{__version__}",
            "format": "WARC File Format 1.0",
            "description": "Evidence behind pharmacheck reports: every request and response of each check, "
                           f"and each JSON report as a resource record at {REPORT_URI_PREFIX}<checked URL>.",
        }))

    def _write(self, record) -> None:
        if self._file.closed:
            return
        self._writer.write_record(record)
        self._file.flush()

    def write_exchange(
        self, request: httpx.Request, response: httpx.Response, body: bytes, truncated: bool, address: str | None = None
    ) -> None:
        uri = str(request.url)
        version = response.extensions.get("http_version", b"HTTP/1.1").decode("ascii", "replace")
        reason = response.extensions.get("reason_phrase", b"").decode("latin-1", "replace")
        status_line = f"{response.status_code} {reason}".strip()
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in response.headers.raw
            if k.decode("latin-1").lower() not in _FRAMING_HEADERS
        ]
        warc_headers = {"WARC-Truncated": "length"} if truncated else {}
        if address:  # which machine served the page is evidence too (hosting, shared rogue networks)
            warc_headers["WARC-IP-Address"] = address
        verified = response.extensions.get(TLS_VERIFIED)
        if isinstance(verified, bool) and request.url.scheme == "https":
            # "false": the page was read although its certificate failed, so a replay still knows it did.
            warc_headers[TLS_VERIFIED_HEADER] = "true" if verified else "false"
        response_record = self._writer.create_warc_record(
            uri, "response", payload=BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders(status_line, headers, protocol=version),
            warc_headers_dict=warc_headers,
        )
        request_record = self._request_record(request, version, response_record.rec_headers.get_header("WARC-Record-ID"))
        self._write(response_record)
        self._write(request_record)

    def write_fetch_error(self, request: httpx.Request, error: FetchError) -> None:
        payload = json.dumps({"code": error.code, "message": error.message}).encode("utf-8")
        metadata = self._writer.create_warc_record(
            str(request.url), "metadata", payload=BytesIO(payload), length=len(payload),
            warc_content_type=FETCH_ERROR_CONTENT_TYPE,
        )
        # What was asked is evidence even when nothing answered.
        self._write(metadata)
        self._write(self._request_record(request, "HTTP/1.1", metadata.rec_headers.get_header("WARC-Record-ID")))

    def _request_record(self, request: httpx.Request, version: str, concurrent_to: str):
        target = request.url.raw_path.decode("ascii", "replace")
        request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        return self._writer.create_warc_record(
            str(request.url), "request", payload=BytesIO(b""), length=0,
            http_headers=StatusAndHeaders(f"{request.method} {target} {version}", request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Concurrent-To": concurrent_to},
        )

    def write_report(self, report) -> None:
        """The JSON report as a resource record, findable by the URL that was checked."""
        payload = report.model_dump_json(indent=2).encode("utf-8")
        self._write(self._writer.create_warc_record(
            report_uri(report.url), "resource", payload=BytesIO(payload), length=len(payload),
            warc_content_type=REPORT_CONTENT_TYPE,
        ))

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _server_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    try:
        peer = stream.get_extra_info("server_addr") if stream is not None else None
    except Exception:  # a transport that cannot say: the record simply has no address
        return None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


class _TeeStream(httpx.AsyncByteStream):
    """Passes the body through untouched while keeping a bounded copy; writes the exchange when it closes."""

    def __init__(self, inner: httpx.AsyncByteStream, limit: int, on_close):
        self._inner = inner
        self._limit = limit
        self._on_close = on_close
        self._chunks: list[bytes] = []
        self._size = 0
        self._complete = False
        self._overflow = False
        self._closed = False

    async def __aiter__(self):
        async for chunk in self._inner:
            if self._size < self._limit:
                keep = chunk[: self._limit - self._size]
                self._chunks.append(keep)
                self._size += len(keep)
                self._overflow = self._overflow or len(keep) < len(chunk)
            else:
                self._overflow = True
            yield chunk
        self._complete = True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._inner.aclose()
        finally:
            self._on_close(b"".join(self._chunks), self._complete, self._overflow)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps another transport and writes everything it sends and receives to a WARC file."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: WarcRecorder, max_body_bytes: int):
        self._inner = inner
        self.recorder = recorder
        self._max_body = max_body_bytes
        # Recording a replay copies records from one archive to another; recording a live check is live.
        self.from_archive = getattr(inner, "from_archive", False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from .fetch import _classify  # the fetcher's own mapping of transport failures to page-error codes

        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            self.recorder.write_fetch_error(request, _classify(exc))
            raise
        declared = response.headers.get("content-length")
        address = _server_address(response)  # asked now: once the body is read the connection may be gone

        def on_close(body: bytes, complete: bool, overflow: bool) -> None:
            # A body the fetcher stopped reading (size cap) is marked truncated; an unread empty body is not.
            unread = not complete and (declared is None or not declared.isdigit() or int(declared) > len(body))
            self.recorder.write_exchange(request, response, body, truncated=overflow or unread, address=address)

        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TeeStream(response.stream, self._max_body, on_close),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self.recorder.close()


# ------------------------------------------------------------------------------------------------------ replay


@dataclass(frozen=True)
class _Entry:
    path: str
    offset: int
    kind: str  # "response" or "fetch-error"


def warc_files(paths: tuple[str, ...] | list[str]) -> list[Path]:
    """The WARC files named by --replay: files as given, folders searched (recursively) for *.warc[.gz]."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(WARC_SUFFIXES)))
        elif path.is_file():
            files.append(path)
        else:
            raise ArchiveError(f"--replay {raw}: no such file or folder")
    return files


class ArchiveIndex:
    """Where in which file the answer for each URL is. Later records win, so a re-recorded page replaces the old."""

    def __init__(self, entries: dict[str, _Entry], files: list[Path]):
        self._entries = entries
        self.files = files

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, url: str) -> bool:
        return archive_key(url) in self._entries

    @classmethod
    def load(cls, paths: tuple[str, ...] | list[str]) -> "ArchiveIndex":
        files = warc_files(paths)
        entries: dict[str, _Entry] = {}
        for file in files:
            try:
                with open(file, "rb") as handle:
                    iterator = WARCIterator(handle)
                    seen_any = False
                    for record in iterator:
                        seen_any = True
                        kind = _record_kind(record)
                        uri = record.rec_headers.get_header("WARC-Target-URI")
                        if kind and uri:
                            entries[archive_key(uri)] = _Entry(str(file), iterator.get_record_offset(), kind)
            except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
                raise ArchiveError(f"--replay {file}: not a readable WARC file ({exc})") from None
            if not seen_any:
                raise ArchiveError(f"--replay {file}: not a readable WARC file (it holds no records)")
        return cls(entries, files)

    def lookup(self, url: str | httpx.URL) -> _Entry | None:
        if not self._entries:
            return None
        if isinstance(url, httpx.URL):  # already in httpx's normal form: only the fragment may need to go
            return self._entries.get(str(url).split("#", 1)[0])
        return self._entries.get(archive_key(url))


def _record_kind(record) -> str | None:
    if record.rec_type == "response" and record.http_headers is not None:
        return "response"
    if record.rec_type == "metadata" and (record.content_type or "").startswith(FETCH_ERROR_CONTENT_TYPE):
        return "fetch-error"
    return None


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers from WARC files only: no sockets, no DNS."""

    from_archive = True

    def __init__(self, index: ArchiveIndex, max_body_bytes: int):
        self.index = index
        self._max_body = max_body_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        entry = self.index.lookup(request.url) if request.method in ("GET", "HEAD") else None
        if entry is None:
            raise FetchError("not_in_archive", f"{url} is not in the archive being replayed.")
        with open(entry.path, "rb") as handle:
            handle.seek(entry.offset)
            record = next(iter(WARCIterator(handle)))
            if entry.kind == "fetch-error":
                recorded = json.loads(record.content_stream().read(64 * 1024) or b"{}")
                raise FetchError(recorded.get("code", "connect_error"), recorded.get("message", "The fetch failed when this archive was recorded."))
            http = record.http_headers
            headers = [(k, v) for k, v in http.headers]
            if (http.get_header("transfer-encoding") or "").lower() == "chunked":
                # Archives from other tools may keep the chunked framing; warcio undoes it along with the
                # content-encoding, so both headers go.
                body = record.content_stream().read(self._max_body)
                headers = [(k, v) for k, v in headers if k.lower() not in ("transfer-encoding", "content-encoding")]
            else:
                body = record.raw_stream.read(self._max_body)
            verified = (record.rec_headers.get_header(TLS_VERIFIED_HEADER) or "").strip().lower()
        status = int((http.get_statuscode() or "0").split()[0] or 0)
        extensions = {"http_version": http.protocol.encode("ascii", "replace") if http.protocol else b"HTTP/1.1"}
        if verified in ("true", "false") and request.url.scheme == "https":
            extensions[TLS_VERIFIED] = verified == "true"
        # A stream, not `content=`: httpx would read `content` at once, and the fetcher reads the raw stream itself.
        return httpx.Response(
            status_code=status,
            headers=headers,
            stream=httpx.ByteStream(body if request.method == "GET" else b""),
            request=request,
            extensions=extensions,
        )
