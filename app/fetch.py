"""The one place pharmacheck opens network connections.

Everything that reaches the network -- the start page, the crawl, registry look-ups -- goes through `Fetcher`.

- Every URL, and every redirect hop, is checked by the destination policy (app/netpolicy.py) before any DNS,
  whichever transport is in use (live, recording or archive replay), and the request is made to the canonical
  URL the policy returns.
- The live transport resolves each name once (A and AAAA), refuses the connection if any answer is blocked, and
  connects to an address it checked, so DNS cannot change its answer between the check and the connect. Host
  header, TLS SNI and the certificate check stay on the name.
- Hostile servers are bounded: a wall-clock deadline per page (httpx's timeouts only bound inactivity), caps on
  raw and decoded bytes with our own bounded decompressor, and outbound concurrency limits per process and per
  target site.
"""

from __future__ import annotations

import asyncio
import codecs
import contextvars
import functools
import ipaddress
import ssl
import time
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpcore
import httpx

from .domains import registrable_domain
from .net.charset import Decoded, decode_document
from .net.decoding import BoundedDecoder, parse_content_encoding
from .net.resolver import MAX_ANSWERS, Resolver, SystemResolver
from .netpolicy import (
    Destination,
    FetchError,
    blocked,
    check_url,
    is_blocked_address,
    normalise_host,
    pinned_address,
    resolve_location,
)
from .settings import Settings

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECT_CODES = (301, 302, 303, 307, 308)
# When a name has several addresses (all of them checked), try a few before giving up, e.g. IPv6 then IPv4.
MAX_CONNECT_ATTEMPTS = 3
# Set on a response by the transport that answered it: True when its TLS certificate was verified (now, or when
# an archive recorded it). Absent means nobody checked, as for page texts stored by other tools.
TLS_VERIFIED = "pharmacheck.tls_verified"
# Many registrable domains can name one address (a shared host, or one hostile server under a thousand names),
# and the per-site limit keys on the domain: at most this many requests go to one address at a time.
MAX_CONCURRENT_PER_ADDRESS = 4

# The checked addresses the fetcher resolved for the request in progress, (host, port, addresses): the
# transport connects to these rather than asking DNS a second time, so what was limited is what is contacted.
_RESOLVED: contextvars.ContextVar[tuple[str, int, list[str]] | None] = contextvars.ContextVar("pharmacheck_resolved", default=None)


@dataclass
class FetchResult:
    requested_url: str
    url: str  # final URL after redirects
    status: int
    content_type: str
    body: bytes
    elapsed_ms: int
    redirects: list[str] = field(default_factory=list)
    truncated: bool = False
    from_archive: bool = False
    tls_verified: bool | None = None

    @property
    def https(self) -> bool:
        return self.url.lower().startswith("https://")

    @functools.cached_property
    def decoded(self) -> Decoded:
        # Decoding is CPU work that grows with the body, so it happens on first use, which the pipeline makes
        # in the analysis thread together with parsing, not on the event loop where the bytes arrived.
        return decode_document(self.body, self.content_type)

    @property
    def text(self) -> str:
        return self.decoded.text


# --- the live transport ------------------------------------------------------------------------------------


class PinningBackend(httpcore.AsyncNetworkBackend):
    """Resolves names itself, refuses blocked addresses and connects only to addresses it checked.

    `resolver` answers names (tests inject a fake one); `dialer` opens the TCP connections (httpcore's anyio
    backend unless a test wants to see every connection attempt).
    """

    def __init__(self, settings: Settings, resolver: Resolver | None = None, dialer: httpcore.AsyncNetworkBackend | None = None):
        self._settings = settings
        self._resolver = resolver or SystemResolver(settings.dns_timeout)
        self._dialer = dialer or httpcore.AnyIOBackend()

    async def addresses_for(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to for host:port; raises FetchError(blocked_destination / dns_error)."""
        pinned = pinned_address(host, port, self._settings.resolve)
        if pinned is not None:
            return [pinned]
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            if is_blocked_address(literal):
                raise blocked()
            return [str(literal)]
        # The fetcher checked the name already; checking again here keeps the transport safe on its own.
        name, address = normalise_host(host)
        if address is not None:
            if is_blocked_address(address):
                raise blocked()
            return [str(address)]
        try:
            answers = await asyncio.wait_for(self._resolver.resolve(name), timeout=self._settings.dns_timeout)
        except asyncio.TimeoutError:
            raise FetchError("dns_error", f"Resolving {name} took too long.") from None
        answers = list(answers)
        if not answers:
            raise FetchError("dns_error", f"The name {name} has no addresses.")
        if len(answers) > MAX_ANSWERS:
            raise FetchError("dns_error", f"The name {name} has more addresses than pharmacheck checks.")
        # One private answer is enough to refuse: a name that points inside is never contacted at all.
        if any(is_blocked_address(a) for a in answers):
            raise blocked()
        return answers

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        resolved = _RESOLVED.get()
        if resolved is not None and resolved[:2] == (str(host).strip("[]").lower(), port):
            addresses = resolved[2]
        else:
            addresses = await self.addresses_for(host, port)
        failure: Exception | None = None
        for address in addresses[:MAX_CONNECT_ATTEMPTS]:
            try:
                return await self._dialer.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never used
        raise blocked("Unix sockets are never used.")

    async def sleep(self, seconds: float) -> None:
        await self._dialer.sleep(seconds)


class LiveTransport(httpx.AsyncHTTPTransport):
    """httpx transport that reaches the internet through `PinningBackend` (httpx itself has no resolver hook)."""

    from_archive = False

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        dialer: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        ssl_context = ssl_context or make_ssl_context(settings)
        super().__init__(verify=ssl_context, trust_env=False)
        self.backend = PinningBackend(settings, resolver, dialer)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=settings.max_concurrent_fetches,
            max_keepalive_connections=8,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=self.backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        # The SSL context always verifies, so an HTTPS answer at all means the certificate was valid.
        if request.url.scheme == "https":
            response.extensions = {**response.extensions, TLS_VERIFIED: True}
        return response


PinnedTransport = LiveTransport  # earlier name


def make_ssl_context(settings: Settings) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if settings.cacert:
        try:
            ctx.load_verify_locations(settings.cacert)
        except (OSError, ssl.SSLError) as exc:
            raise FetchError("invalid_option", f"--cacert {settings.cacert}: cannot load CA bundle ({exc}).") from None
    return ctx


# --- decoding ------------------------------------------------------------------------------------------------


def decode_html(body: bytes, content_type: str) -> str:
    """Text of a page, decoded as a browser would (see app/net/charset.py); never raises."""
    return decode_document(body, content_type).text


_BINARY_MAGIC = (
    b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf",
    b"Rar!", b"\x7fELF", b"MZ", b"RIFF", b"OggS", b"ID3", b"\x00\x00\x00", b"wOFF", b"wOF2",
)


def looks_binary(body: bytes, content_type: str) -> bool:
    """Whether a body labelled as HTML is really binary data (an image, an archive, random bytes)."""
    head = body[:1024]
    if not head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or "utf-16" in content_type.lower():
        return False
    if head.startswith(_BINARY_MAGIC):
        return True
    # Text, in any single-byte or UTF-8 encoding, has no NUL bytes and hardly any other control characters.
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return b"\x00" in head or control > len(head) // 20


def _classify(exc: BaseException) -> FetchError:
    if isinstance(exc, FetchError):
        return exc
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 20:
        if isinstance(cause, FetchError):
            return cause
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchError("tls_invalid", "The site's HTTPS certificate is not valid.")
        if isinstance(cause, ssl.SSLError):
            return FetchError("tls_invalid", "The secure connection to the site failed.")
        cause = cause.__cause__ or cause.__context__
        seen += 1
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", "The site took too long to answer.")
    if isinstance(exc, httpx.ConnectError):
        return FetchError("connect_error", "Could not connect to the site.")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError)):
        return FetchError("protocol_error", "The site sent a response that is not valid HTTP.")
    if isinstance(exc, (httpx.TransportError, OSError)):
        return FetchError("connect_error", "The connection to the site failed.")
    return FetchError("protocol_error", "The site's response could not be read.")


# --- concurrency -------------------------------------------------------------------------------------------


class HostLimiter:
    """At most `per_host` requests in flight to one site (registrable domain), so nobody can use the service to
    flood a third party through many subdomains; entries vanish when unused."""

    def __init__(self, per_host: int):
        self.per_host = max(1, per_host)
        self._slots: dict[str, list] = {}

    def in_flight(self, key: str) -> int:
        entry = self._slots.get(key)
        return 0 if entry is None else self.per_host - entry[0]._value

    @staticmethod
    def key_for(host: str) -> str:
        try:
            return registrable_domain(host) or host
        except Exception:  # tldextract on an odd name: the host itself is a fine key
            return host

    @asynccontextmanager
    async def slot(self, host: str, key: str | None = None):
        key = key or self.key_for(host)
        entry = self._slots.get(key)
        if entry is None:
            entry = self._slots[key] = [asyncio.Semaphore(self.per_host), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._slots.get(key) is entry:
                del self._slots[key]


# --- the fetcher -------------------------------------------------------------------------------------------


class Fetcher:
    """Fetch pages under the destination policy, with a deadline, size caps, a redirect limit and concurrency bounds."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.from_archive = transport is not None and getattr(transport, "from_archive", False)
        if transport is None:
            transport = LiveTransport(settings)
        self.transport = transport
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout, read=settings.read_timeout, write=5.0, pool=settings.page_timeout
            ),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                # Only what the bounded decoder handles; httpx would otherwise offer br/zstd when installed.
                "Accept-Encoding": "gzip, deflate",
            },
        )
        self._global = asyncio.Semaphore(max(1, settings.max_concurrent_fetches))
        self.hosts = HostLimiter(settings.max_concurrent_per_host)
        self.addresses = HostLimiter(MAX_CONCURRENT_PER_ADDRESS)  # keyed by the address itself

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    def check(self, url: str) -> Destination:
        """The pre-DNS policy check, applied to every URL in every mode (live, recording, replay)."""
        return check_url(url, self.settings.allowed_ports, self.settings.resolve)

    @asynccontextmanager
    async def _global_slot(self, deadline: float):
        # Waiting for a free slot is part of the page's time: a busy process must not stretch a check's deadline.
        try:
            async with asyncio.timeout_at(deadline):
                await self._global.acquire()
        except TimeoutError:
            raise FetchError("timeout", "pharmacheck is too busy to fetch this page now; try again shortly.") from None
        try:
            yield
        finally:
            self._global.release()

    def _deadline(self, timeout: float | None) -> tuple[float, float]:
        """(seconds this page may take, loop time when they are up): page_timeout, or less if the caller has less."""
        budget = self.settings.page_timeout if timeout is None else max(0.0, min(self.settings.page_timeout, timeout))
        return budget, asyncio.get_running_loop().time() + budget

    async def fetch(self, url: str, *, require_html: bool = True, timeout: float | None = None) -> FetchResult:
        """Fetch one page, following redirects by hand, within `timeout` seconds when given (never more than
        page_timeout); raises FetchError with a stable code."""
        destination = self.check(url)
        budget, deadline = self._deadline(timeout)
        try:
            async with self._global_slot(deadline):
                started = time.monotonic()
                return await self._fetch_following(url, destination, started, deadline, require_html)
        except FetchError as exc:
            if exc.code == "timeout" and budget < self.settings.page_timeout and exc.message == self._timeout_error().message:
                raise FetchError("timeout", "The check ran out of time before this page arrived.") from None
            raise

    @asynccontextmanager
    async def _host_slot(self, host: str, port: int, deadline: float):
        # Waiting for a busy site counts against the page's deadline like any other wait.
        slot = self.hosts.slot(host)
        try:
            async with asyncio.timeout_at(deadline):
                await slot.__aenter__()
        except TimeoutError:
            raise self._timeout_error() from None
        try:
            async with self._address_slots(host, port, deadline):
                yield
        finally:
            await slot.__aexit__(None, None, None)

    @asynccontextmanager
    async def _address_slots(self, host: str, port: int, deadline: float):
        # Only the live transport connects anywhere; archives and test doubles answer from what they hold.
        backend = getattr(self.transport, "backend", None)
        if not isinstance(backend, PinningBackend):
            yield
            return
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await backend.addresses_for(host, port)
        except TimeoutError:
            raise self._timeout_error() from None
        async with AsyncExitStack() as held:
            # Every address a connection may be tried on, taken in one order so two requests never wait on each other.
            for address in sorted(set(addresses[:MAX_CONNECT_ATTEMPTS])):
                slot = self.addresses.slot(address, key=address)
                try:
                    async with asyncio.timeout_at(deadline):
                        await held.enter_async_context(slot)
                except TimeoutError:
                    raise self._timeout_error() from None
            token = _RESOLVED.set((host.strip("[]").lower(), port, addresses))
            try:
                yield
            finally:
                _RESOLVED.reset(token)

    def _timeout_error(self) -> FetchError:
        return FetchError("timeout", f"The page did not arrive within {self.settings.page_timeout:g} seconds.")

    async def _fetch_following(
        self, requested: str, destination: Destination, started: float, deadline: float, require_html: bool
    ) -> FetchResult:
        redirects: list[str] = []
        for _hop in range(self.settings.max_redirects + 1):
            async with self._host_slot(destination.host, destination.port, deadline):
                response = await self._send(destination, deadline)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_CODES and location:
                        # Each hop passes the same policy as the address the user gave, before any DNS.
                        next_destination = resolve_location(
                            destination.url, location, self.settings.allowed_ports, self.settings.resolve
                        )
                        redirects.append(destination.url)
                        destination = next_destination
                        continue
                    if response.status_code >= 400:
                        raise FetchError(
                            "http_error", f"The site answered with HTTP status {response.status_code}.",
                            status=response.status_code, url=destination.url, https=destination.url.startswith("https://"),
                        )
                    content_type = response.headers.get("content-type", "")
                    mime = content_type.split(";")[0].strip().lower()
                    if require_html and mime and mime not in HTML_TYPES:
                        raise FetchError("not_html", f"The address serves {mime[:60]}, not a web page.")
                    body, truncated = await self._read_body(response, deadline)
                finally:
                    await response.aclose()
            if require_html and looks_binary(body, content_type):
                raise FetchError("not_html", "The address serves binary data labelled as a web page.")
            return FetchResult(
                requested_url=requested,
                url=destination.url,
                status=response.status_code,
                content_type=content_type[:200],
                body=body,
                elapsed_ms=int((time.monotonic() - started) * 1000),
                redirects=redirects,
                truncated=truncated,
                from_archive=self.from_archive,
                tls_verified=True if destination.url.lower().startswith("https://") and response.extensions.get(TLS_VERIFIED) else None,
            )
        raise FetchError("too_many_redirects", f"The site redirected more than {self.settings.max_redirects} times.")

    async def _send(self, destination: Destination, deadline: float) -> httpx.Response:
        # Straight to the transport: the client would also parse every Location header with its own URL parser
        # (even when not following it), and only our policy decides what a redirect means.
        request = self._client.build_request("GET", destination.url)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self.transport.handle_async_request(request)
            response.request = request
            return response
        except TimeoutError:
            raise self._timeout_error() from None
        except (httpx.HTTPError, httpx.StreamError, OSError, ssl.SSLError, httpcore.ConnectError) as exc:
            error = _classify(exc)
            if error.url is None:
                error.url, error.https = destination.url, destination.url.startswith("https://")
            raise error from None

    async def _read_body(self, response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
        """Raw bytes, decoded by us within the caps. A body cut by a cap, the deadline or a dropped connection is
        returned as truncated when part of it arrived."""
        if response.is_stream_consumed and hasattr(response, "_content"):
            # A transport that built its response from bytes in hand (an archive, a test double): httpx has
            # already read and decoded them, so only the cap is left to apply.
            body = response.content
            cap = self.settings.max_decoded_bytes
            return (body[:cap], True) if len(body) > cap else (body, False)
        decoder = BoundedDecoder(parse_content_encoding(response.headers.get("content-encoding")), self.settings.max_decoded_bytes)
        raw = 0
        truncated = False
        failure: FetchError | None = None
        try:
            async with asyncio.timeout_at(deadline):
                async for chunk in response.aiter_raw():
                    room = self.settings.max_bytes - raw
                    if len(chunk) > room:
                        chunk, truncated = chunk[:room], True
                    raw += len(chunk)
                    decoder.feed(chunk)
                    if truncated or decoder.full or decoder.corrupt:
                        break
        except TimeoutError:
            failure = self._timeout_error()
        except (httpx.HTTPError, httpx.StreamError, OSError, ssl.SSLError) as exc:
            failure = _classify(exc)
        if decoder.corrupt and decoder.size == 0:
            raise FetchError("bad_encoding", "The page's compressed data is corrupt.")
        if failure is not None:
            if decoder.size == 0:
                raise failure
            truncated = True
        return decoder.result(), truncated or decoder.full or decoder.corrupt

    async def probe_redirect(self, url: str, *, timeout: float | None = None) -> str | None:
        """Where one request to `url` redirects to (None when it does not redirect or cannot be reached)."""
        try:
            destination = self.check(url)
            _, deadline = self._deadline(timeout)
            async with self._global_slot(deadline):
                async with self._host_slot(destination.host, destination.port, deadline):
                    response = await self._send(destination, deadline)
                    await response.aclose()
            location = response.headers.get("location")
            if response.status_code in REDIRECT_CODES and location:
                return resolve_location(destination.url, location, self.settings.allowed_ports, self.settings.resolve).url
        except FetchError:
            return None
        return None

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None) -> int:
        """POST `body` to `url` under the same destination policy as every fetch (webhooks); returns the status.
        Redirects are not followed (a webhook that moved answers 3xx, which is not a delivery); the answer's
        body is read up to 64 KiB and dropped. Raises FetchError with a stable code."""
        destination = self.check(url)
        _, deadline = self._deadline(timeout)
        async with self._global_slot(deadline):
            async with self._host_slot(destination.host, destination.port, deadline):
                request = self._client.build_request("POST", destination.url, content=body, headers=headers)
                try:
                    async with asyncio.timeout_at(deadline):
                        response = await self.transport.handle_async_request(request)
                        try:
                            read = 0
                            async for chunk in response.aiter_raw():
                                read += len(chunk)
                                if read > 64 * 1024:
                                    break
                        finally:
                            await response.aclose()
                except TimeoutError:
                    raise self._timeout_error() from None
                except (httpx.HTTPError, httpx.StreamError, OSError, ssl.SSLError, httpcore.ConnectError) as exc:
                    raise _classify(exc) from None
        return response.status_code
