"""The one place pharmacheck opens network connections.

Everything that reaches the network -- the start page, the crawl, registry look-ups -- goes through `Fetcher`.
Connections are made by a transport that resolves the host itself, checks every address against the
destination policy and connects to the checked address (so DNS cannot change its answer between the check and
the connect). Recording and replay of archives plug in as transports too.
"""

from __future__ import annotations

import asyncio
import codecs
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .netpolicy import FetchError, is_blocked_address, pinned_address, validate_url
from .settings import Settings

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECT_CODES = (301, 302, 303, 307, 308)


@dataclass
class FetchResult:
    requested_url: str
    url: str  # final URL after redirects
    status: int
    content_type: str
    body: bytes
    text: str
    elapsed_ms: int
    redirects: list[str] = field(default_factory=list)
    truncated: bool = False
    from_archive: bool = False

    @property
    def https(self) -> bool:
        return self.url.lower().startswith("https://")


class PinningBackend(httpcore.AsyncNetworkBackend):
    """Resolves names itself, refuses blocked addresses and connects to the address it checked."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._inner = httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int) -> str:
        pinned = pinned_address(host, port, self._settings.resolve)
        if pinned is not None:
            return pinned
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=self._settings.connect_timeout
            )
        except (socket.gaierror, UnicodeError):
            raise FetchError("dns_error", f"The name {host} could not be resolved.") from None
        except asyncio.TimeoutError:
            raise FetchError("dns_error", f"Resolving {host} took too long.") from None
        addresses = [info[4][0] for info in infos][:16]
        if not addresses:
            raise FetchError("dns_error", f"The name {host} has no addresses.")
        if any(is_blocked_address(a) for a in addresses):
            raise FetchError("blocked_destination", "This address points to a private or reserved network.")
        return addresses[0]

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = await self.resolve(host, port)
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never used
        raise FetchError("blocked_destination", "Unix sockets are never used.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, settings: Settings, ssl_context: ssl.SSLContext):
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx offers no resolver hook; the connection pool underneath does, through its network backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=settings.max_concurrent_fetches,
            max_keepalive_connections=8,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=PinningBackend(settings),
        )


def make_ssl_context(settings: Settings) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if settings.cacert:
        try:
            ctx.load_verify_locations(settings.cacert)
        except (OSError, ssl.SSLError) as exc:
            raise FetchError("invalid_option", f"--cacert {settings.cacert}: cannot load CA bundle ({exc}).") from None
    return ctx


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.I)


def decode_html(body: bytes, content_type: str) -> str:
    charset = None
    m = re.search(r"charset\s*=\s*['\"]?([A-Za-z0-9_\-:.]+)", content_type or "", re.I)
    if m:
        charset = m.group(1)
    else:
        m2 = _META_CHARSET.search(body[:4096])
        if m2:
            charset = m2.group(1).decode("ascii", "ignore")
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None
    if body.startswith(codecs.BOM_UTF8):
        charset = "utf-8-sig"
    return body.decode(charset or "utf-8", errors="replace")


def _classify(exc: BaseException) -> FetchError:
    if isinstance(exc, FetchError):
        return exc
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, FetchError):
            return cause
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchError("tls_invalid", "The site's HTTPS certificate is not valid.")
        if isinstance(cause, ssl.SSLError):
            return FetchError("tls_invalid", "The secure connection to the site failed.")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", "The site took too long to answer.")
    if isinstance(exc, httpx.ConnectError):
        return FetchError("connect_error", "Could not connect to the site.")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError)):
        return FetchError("protocol_error", "The site sent a response that is not valid HTTP.")
    if isinstance(exc, httpx.TransportError):
        return FetchError("connect_error", "The connection to the site failed.")
    return FetchError("protocol_error", "The site's response could not be read.")


class Fetcher:
    """Fetch pages under the destination policy, with timeouts, size caps and a redirect limit."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.from_archive = transport is not None and getattr(transport, "from_archive", False)
        if transport is None:
            transport = PinnedTransport(settings, make_ssl_context(settings))
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout, read=settings.read_timeout, write=5.0, pool=settings.page_timeout
            ),
            headers={"User-Agent": settings.user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
        )
        self._global = asyncio.Semaphore(settings.max_concurrent_fetches)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def fetch(self, url: str, *, require_html: bool = True) -> FetchResult:
        """Fetch one page, following redirects by hand; raises FetchError with a stable code."""
        validate_url(url, self.settings.allowed_ports)
        started = time.monotonic()
        try:
            async with self._global:
                return await asyncio.wait_for(
                    self._fetch_following(url, started, require_html), timeout=self.settings.page_timeout
                )
        except asyncio.TimeoutError:
            raise FetchError("timeout", f"The page did not arrive within {self.settings.page_timeout:g} seconds.") from None

    async def _fetch_following(self, url: str, started: float, require_html: bool) -> FetchResult:
        redirects: list[str] = []
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            try:
                async with self._client.stream("GET", current) as response:
                    if response.status_code in REDIRECT_CODES and response.headers.get("location"):
                        target = urljoin(current, response.headers["location"].strip())
                        if urlsplit(target).scheme.lower() not in ("http", "https"):
                            raise FetchError("invalid_url", "The site redirects to an address that is not http(s).")
                        validate_url(target, self.settings.allowed_ports)
                        redirects.append(current)
                        current = target
                        continue
                    body, truncated = await self._read_capped(response)
                    content_type = response.headers.get("content-type", "")
            except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
                raise _classify(exc) from None
            elapsed = int((time.monotonic() - started) * 1000)
            if response.status_code >= 400:
                raise FetchError("http_error", f"The site answered with HTTP status {response.status_code}.")
            mime = content_type.split(";")[0].strip().lower()
            if require_html and mime and mime not in HTML_TYPES:
                raise FetchError("not_html", f"The address serves {mime or 'unknown content'}, not a web page.")
            return FetchResult(
                requested_url=url,
                url=current,
                status=response.status_code,
                content_type=content_type,
                body=body,
                text=decode_html(body, content_type),
                elapsed_ms=elapsed,
                redirects=redirects,
                truncated=truncated,
                from_archive=self.from_archive,
            )
        raise FetchError("too_many_redirects", f"The site redirected more than {self.settings.max_redirects} times.")

    async def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            chunks.append(chunk)
            if size >= self.settings.max_decoded_bytes:
                body = b"".join(chunks)[: self.settings.max_decoded_bytes]
                return body, True
        return b"".join(chunks), False

    async def probe_redirect(self, url: str) -> str | None:
        """Where one request to `url` redirects to (None when it does not redirect or cannot be reached)."""
        try:
            validate_url(url, self.settings.allowed_ports)
            async with self._global:
                response = await asyncio.wait_for(self._client.get(url), timeout=self.settings.page_timeout)
        except (FetchError, httpx.HTTPError, OSError, ssl.SSLError, asyncio.TimeoutError):
            return None
        if response.status_code in REDIRECT_CODES and response.headers.get("location"):
            return urljoin(url, response.headers["location"].strip())
        return None
