"""Rendering pages that build themselves with JavaScript: Debian's Chromium, headless, driven by Playwright.

The browser never reaches the network by itself. Every request it makes is intercepted (Playwright routes) and
answered by the same `Fetcher` that reads every other page, so it passes the same destination policy, the same
pinned resolver, the same caps and deadlines; a request the policy refuses is aborted and listed in the report.
Behind that, anything that could slip past interception is closed off too:

- Chromium's own DNS is switched off (`--host-resolver-rules=MAP * ~NOTFOUND`), so it can resolve no name;
- every connection it would open itself (a preconnect, a WebSocket) goes to a proxy on loopback that this module
  runs and that refuses everything, listing what was tried (`<-loopback>`: loopback addresses included);
- QUIC is off, WebRTC may not send UDP outside the proxy and `RTCPeerConnection` is removed from every frame;
- service workers are blocked, downloads refused, permissions none; only GET requests are ever answered, so a
  rendered page sends no data anywhere (no form posts, no beacons).

Per page: a time cap (`render_timeout`, within the check's deadline), a cap on requests and on the bytes of all
its sub-resources, and a JavaScript heap cap (checked while the page runs, with V8's own heap limit behind it).
One browser process serves every render (at most `max_concurrent_renders` at once); it is restarted when it
crashes, stops answering, or grows past `render_max_browser_memory`.

Without Playwright or Chromium (a fresh machine that has not run `scripts/install-browser`), rendering is
unavailable: pages are read as the server sent them, and reports say so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .domains import host_of
from .fetch import Fetcher, FetchResult
from .netpolicy import FetchError
from .settings import Settings

log = logging.getLogger("pharmacheck.browser")

VIEWPORT = {"width": 1280, "height": 800}
# The screenshot is shown small on the report page: half the viewport's pixels, JPEG.
SCREENSHOT_SCALE = 0.5
SCREENSHOT_QUALITY = 60
# Resource types a page needs to build itself and to look like itself in a screenshot. Media, beacons,
# manifests and the like are never fetched.
FETCHED_TYPES = frozenset({"document", "script", "stylesheet", "xhr", "fetch", "image", "font"})
# How long the network must be quiet (no request in flight) before a rendered page counts as built.
QUIET_SECONDS = 0.5
# How often the page's JavaScript heap is measured against its cap.
HEAP_POLL_SECONDS = 0.2
# After a page's time is up: how long reading what it built (its DOM, the picture) and closing it may take.
RENDER_GRACE = 1.5
# A browser is replaced after this many renders, so slow leaks inside it cannot build up.
MAX_RENDERS_PER_BROWSER = 200
# Refused requests kept per page in the report (all are counted).
MAX_REFUSED_LISTED = 50

CHROMIUM_ARGS = [
    "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--disable-breakpad", "--disable-domain-reliability", "--no-pings", "--mute-audio",
    "--disable-quic", "--dns-prefetch-disable", "--deny-permission-prompts",
    "--disable-features=DnsOverHttps,AsyncDns,NetworkPrediction,InterestFeedContentSuggestions,MediaRouter",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
# In every frame, before the page's own scripts: no peer-to-peer connections.
INIT_SCRIPT = """
for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "WebTransport"]) {
  try { delete window[name]; Object.defineProperty(window, name, {value: undefined}); } catch (e) {}
}
"""


def chromium_path(settings: Settings) -> str:
    return settings.chromium_path or os.environ.get("PHARMACHECK_CHROMIUM") or "/usr/bin/chromium"


def unavailable_reason(settings: Settings) -> str | None:
    """Why pages cannot be rendered on this machine (None: they can)."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (run scripts/install-browser)"
    path = chromium_path(settings)
    if not (os.access(path, os.X_OK) or shutil.which(path)):
        return f"no Chromium at {path} (run scripts/install-browser, or set PHARMACHECK_CHROMIUM)"
    return None


@dataclass(frozen=True)
class RefusedRequest:
    url: str
    code: str  # the fetch error code, or method_not_allowed / not_fetched / request_cap / byte_cap / direct_connection
    page: str


@dataclass
class Rendered:
    """A page as the browser built it: its DOM serialised back to HTML, for app.page.parse_page."""

    url: str
    html: str = ""
    screenshot: bytes | None = None
    screenshot_size: tuple[int, int] | None = None
    refused: list[RefusedRequest] = field(default_factory=list)
    refused_count: int = 0
    requests: int = 0
    bytes: int = 0
    elapsed_ms: int = 0
    error: str | None = None  # render_timeout, render_memory, render_failed
    error_message: str = ""

    def refuse(self, url: str, code: str) -> None:
        self.refused_count += 1
        # Past the cap, a kind of refusal not listed yet still is: the list shows everything the page tried.
        if len(self.refused) < MAX_REFUSED_LISTED or all(r.code != code for r in self.refused):
            self.refused.append(RefusedRequest(url=url[:2048], code=code, page=self.url))


class RefusingProxy:
    """A proxy on loopback that accepts a connection, notes what it was asked for and closes it. Chromium is
    told to send everything it does not get from interception here, so nothing it opens by itself leaves the
    machine."""

    def __init__(self):
        self.attempts: list[str] = []
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 2)
            parts = line.decode("latin-1", "replace").split()
            if len(parts) >= 2:
                self.attempts.append(parts[1][:2048])
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


def _parents() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command name) for every process (Linux /proc)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            name = stat[stat.index("(") + 1: stat.rindex(")")]
            table[int(entry.name)] = (int(stat[stat.rindex(")") + 2:].split()[1]), name)
        except (OSError, ValueError, IndexError):
            continue
    return table


def browser_pids(root_pid: int | None = None) -> list[int]:
    """The Chromium processes descended from this process (or `root_pid`): the browsers it started."""
    table = _parents()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _name) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root_pid or os.getpid()]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        if table.get(pid, (0, ""))[1].startswith(("chrom", "headless")):
            found.append(pid)
    return found


def browser_processes_rss(root_pid: int | None = None) -> int:
    """Memory of every Chromium process descended from this process, in bytes (0 when unknown)."""
    page = os.sysconf("SC_PAGE_SIZE")
    return sum(_memory_of(pid, page) for pid in browser_pids(root_pid))


def _memory_of(pid: int, page_size: int) -> int:
    # Proportional set size: the processes share the browser's code and memory, which resident sizes would
    # count once per process.
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page_size
    except (OSError, ValueError, IndexError):
        return 0


class Renderer:
    """One browser for a Checker's lifetime, started on first use and replaced when it misbehaves."""

    def __init__(self, settings: Settings, fetcher: Fetcher):
        self.settings = settings
        self.fetcher = fetcher
        self.problem = unavailable_reason(settings)
        self._playwright = None
        self._browser = None
        self._proxy: RefusingProxy | None = None
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max(1, settings.max_concurrent_renders))
        self._renders = 0
        self._in_flight = 0
        self.restarts = 0
        self.warming: asyncio.Future | None = None

    @property
    def started(self) -> bool:
        return self._browser is not None or (self.warming is not None and not self.warming.done())

    @property
    def available(self) -> bool:
        return self.problem is None

    # --- the browser process -------------------------------------------------------------------------------

    async def _ensure_browser(self):
        async with self._lock:
            if self._browser is not None and self._browser.is_connected() and (
                    self._renders < MAX_RENDERS_PER_BROWSER or self._in_flight > 0):
                # A browser that has served its share is replaced only between pages, never under one.
                return self._browser
            await self._close_browser()
            from playwright.async_api import async_playwright

            if self._playwright is None:
                self._playwright = await async_playwright().start()
            if self._proxy is None:
                self._proxy = RefusingProxy()
                await self._proxy.start()
            args = list(CHROMIUM_ARGS)
            heap_mib = max(16, self.settings.render_max_js_heap // (1 << 20))
            args.append(f"--js-flags=--max-old-space-size={heap_mib}")
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                # Chromium's sandbox cannot run as root; run the service as an ordinary user to keep it.
                args.append("--no-sandbox")
            self._browser = await self._playwright.chromium.launch(
                executable_path=chromium_path(self.settings), headless=True, args=args,
                proxy={"server": f"http://127.0.0.1:{self._proxy.port}", "bypass": "<-loopback>"},
                handle_sigint=False, handle_sigterm=False, handle_sighup=False,
            )
            self._renders = 0
            return self._browser

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), 5)
            except Exception:  # a browser that hangs or has crashed: its process goes with the driver below
                log.warning("the browser did not close cleanly")

    def browser_memory(self) -> int:
        """Memory of the browser processes of this process (proportional set size, summed)."""
        return browser_processes_rss()

    async def _after_render(self, crashed: bool) -> None:
        # Called after every page: a browser that is gone, or that grew past its cap, is replaced.
        self._renders += 1
        over = self.browser_memory() > self.settings.render_max_browser_memory
        if crashed or over:
            async with self._lock:
                if self._in_flight == 0 or crashed:
                    log.warning("restarting the browser (%s)", "it crashed" if crashed else "memory over its cap")
                    self.restarts += 1
                    await self._close_browser()

    async def aclose(self) -> None:
        if self.warming is not None:
            try:
                await self.warming
            except BaseException:
                pass
        await self._close_browser()
        if self._proxy is not None:
            await self._proxy.aclose()
            self._proxy = None
        if self._playwright is not None:
            try:
                await self._playwright.stop()
            except Exception:
                pass
            self._playwright = None

    # --- one page ------------------------------------------------------------------------------------------

    async def render(
        self, result: FetchResult, *, deadline: float, screenshot: bool = False, unverified_hosts=frozenset()
    ) -> Rendered:
        """Load `result` (already fetched: its body is given to the browser as is) and run its scripts, until
        the network is quiet or the time is up. `deadline` is time.monotonic(); `unverified_hosts` are read
        without a certificate check, as the pipeline reads them. Never raises for the page's behaviour: what
        went wrong is in `error`."""
        rendered = Rendered(url=result.url)
        started = time.monotonic()
        if deadline - started <= 0.2:
            rendered.error, rendered.error_message = "render_timeout", "The check ran out of time before this page could be rendered."
            return rendered
        budget = self.settings.render_timeout
        crashed = False
        context = None
        proxy_seen = len(self._proxy.attempts) if self._proxy else 0
        try:
            # Waiting for a free browser slot and for the browser to start count against the check's deadline,
            # not against the page's own time: a page is not cut short because the browser was starting.
            async with asyncio.timeout(deadline - started):
                async with self._slots:
                    browser = await self._ensure_browser()
                    left = deadline - time.monotonic()
                    budget = max(0.1, min(budget, left - RENDER_GRACE))
                    self._in_flight += 1
                    try:
                        # The page's own steps stop at `budget`; the grace is for reading what it built by then.
                        async with asyncio.timeout(min(budget + RENDER_GRACE, left)):
                            context = await self._new_context(browser, screenshot)
                            crashed = await self._render_in_browser(
                                context, result, rendered, time.monotonic() + budget, screenshot, unverified_hosts)
                    finally:
                        self._in_flight -= 1
                        # Closing takes its own time (seconds on a busy machine): it never costs the page its DOM.
                        # A context that would not close is the browser's problem only if the browser is gone.
                        if context is not None and not await self._close_context(context, rendered, proxy_seen):
                            crashed = crashed or not browser.is_connected()
        except TimeoutError:
            rendered.error = rendered.error or "render_timeout"
            rendered.error_message = rendered.error_message or (
                f"The page was still building itself after {budget:.1f} seconds; what it showed by then was read.")
        except Exception as exc:  # the browser failed (crashed, could not start): the HTML as sent is kept
            log.warning("rendering %s failed: %s", result.url, exc)
            rendered.error, rendered.error_message = "render_failed", "The page could not be rendered in the browser."
            # Only a browser that is gone is restarted; one page the protocol lost track of is that page's failure.
            crashed = self._browser is None or not self._browser.is_connected()
        rendered.elapsed_ms = int((time.monotonic() - started) * 1000)
        try:
            await self._after_render(crashed)
        except Exception:
            log.exception("could not check the browser after a render")
        return rendered

    async def start(self) -> None:
        """Start the browser ahead of the first page that needs it (a failure shows on that page instead)."""
        if self.available:
            try:
                await self._ensure_browser()
            except Exception as exc:
                log.warning("the browser did not start: %s", exc)

    async def _new_context(self, browser, screenshot: bool):
        context = await browser.new_context(
            # Half a device pixel per CSS pixel: the page lays out at full width, the screenshot comes out small.
            viewport=VIEWPORT, device_scale_factor=SCREENSHOT_SCALE if screenshot else 1, accept_downloads=False,
            service_workers="block", permissions=[], java_script_enabled=True, user_agent=self.settings.user_agent,
            bypass_csp=False, ignore_https_errors=False, offline=False,
        )
        await context.add_init_script(INIT_SCRIPT)
        return context

    async def _close_context(self, context, rendered: Rendered, proxy_seen: int) -> bool:
        """Close a page's context; False when the browser did not manage to (it is then restarted)."""
        closed = True
        try:
            await asyncio.wait_for(context.close(), 5)
        except Exception:
            closed = False
        if self._proxy is not None:
            for attempt in self._proxy.attempts[proxy_seen:]:
                rendered.refuse(attempt, "direct_connection")
        return closed

    async def _render_in_browser(
        self, context, result: FetchResult, rendered: Rendered, until: float, screenshot: bool, unverified_hosts
    ) -> bool:
        in_flight = 0
        last_activity = time.monotonic()
        crashed = False

        async def no_websockets(ws):
            rendered.refuse(ws.url, "not_fetched")
            await ws.close()

        await context.route_web_socket("**/*", no_websockets)

        async def handle(route):
            nonlocal in_flight, last_activity
            request = route.request
            if time.monotonic() >= until:
                # The page's time is up: nothing more is fetched for it, and nothing waits on an answer.
                return await route.abort("timedout")
            fetched = request.resource_type in FETCHED_TYPES
            # Only requests that are answered count as activity: a page retrying refused requests for ever
            # (an EventSource, a beacon loop) is as built as it will get.
            if fetched:
                in_flight += 1
                last_activity = time.monotonic()
            try:
                await self._answer(route, request, request.url, result, rendered, until, unverified_hosts)
            finally:
                if fetched:
                    in_flight -= 1
                    last_activity = time.monotonic()

        await context.route("**/*", handle)
        page = await context.new_page()
        page.on("crash", lambda _page: rendered.__setattr__("error", "render_failed"))
        page.on("download", lambda download: asyncio.ensure_future(download.cancel()))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
        cdp = await context.new_cdp_session(page)
        heap_guard = asyncio.ensure_future(self._guard_heap(cdp, page, rendered))
        try:
            remaining = max(0.1, until - time.monotonic())
            try:
                await page.goto(result.url, wait_until="domcontentloaded", timeout=remaining * 1000)
            except Exception as exc:
                if rendered.error is None and "Timeout" in type(exc).__name__:
                    rendered.error = "render_timeout"
                    rendered.error_message = "The page did not finish loading in the browser in time; what it showed by then was read."
                elif rendered.error is None:
                    raise
            # Scripts keep building after "load": wait for a quiet network, or the time cap.
            settled = False
            while rendered.error is None and time.monotonic() < until - 0.3:
                if in_flight == 0 and time.monotonic() - last_activity >= QUIET_SECONDS:
                    settled = True
                    break
                await asyncio.sleep(0.1)
            if rendered.error is None and not settled:
                rendered.error = "render_timeout"
                rendered.error_message = (f"The page was still loading after {self.settings.render_timeout:g} "
                                          "seconds; what it showed by then was read.")
            if rendered.error in (None, "render_timeout"):
                # A page busy with its own scripts answers slowly: reading it may use what is left and the grace.
                html = await asyncio.wait_for(_outer_html(cdp, page), max(0.5, until + RENDER_GRACE - time.monotonic() - 0.2))
                rendered.html = html[: self.settings.max_decoded_bytes]
                if screenshot and time.monotonic() < until - 0.2:
                    rendered.screenshot = await self._screenshot(page, until)
                    if rendered.screenshot:
                        rendered.screenshot_size = (int(VIEWPORT["width"] * SCREENSHOT_SCALE), int(VIEWPORT["height"] * SCREENSHOT_SCALE))
        finally:
            heap_guard.cancel()
        crashed = rendered.error == "render_failed"
        return crashed

    async def _screenshot(self, page, until: float) -> bytes | None:
        # Half-size pixels straight from the compositor (the context's device scale), no image library; CSS
        # zoom would reflow the page instead.
        try:
            return await page.screenshot(
                type="jpeg", quality=SCREENSHOT_QUALITY, scale="device", animations="disabled", caret="hide",
                timeout=max(100, (until - time.monotonic()) * 1000),
                clip={"x": 0, "y": 0, **VIEWPORT}, full_page=False,
            )
        except Exception as exc:
            log.info("no screenshot of %s: %s", page.url, exc)
            return None

    async def _guard_heap(self, cdp, page, rendered: Rendered) -> None:
        cap = self.settings.render_max_js_heap
        try:
            while True:
                await asyncio.sleep(HEAP_POLL_SECONDS)
                usage = await cdp.send("Runtime.getHeapUsage")
                if usage.get("usedSize", 0) > cap:
                    rendered.error = "render_memory"
                    rendered.error_message = (
                        f"The page's scripts used more than {cap >> 20} MiB of memory and were stopped; the page "
                        "was read as the server sent it.")
                    await page.close()
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # the page closed under the guard: nothing left to measure
            return

    async def _answer(self, route, request, url: str, result: FetchResult, rendered: Rendered, until: float,
                      unverified_hosts) -> None:
        """Answer one request of the browser through the fetcher, or abort it and list why."""
        if request.method not in ("GET", "HEAD"):
            rendered.refuse(url, "method_not_allowed")
            return await route.abort("accessdenied")
        if url.split("#", 1)[0] == result.url.split("#", 1)[0] and request.resource_type == "document" and request.frame.parent_frame is None:
            # The page itself: the bytes already fetched and checked, not a second request.
            return await route.fulfill(status=200, content_type=result.content_type or "text/html", body=result.body)
        if url.startswith(("data:", "blob:", "about:")):
            return await route.continue_()
        if request.resource_type not in FETCHED_TYPES:
            rendered.refuse(url, "not_fetched")
            return await route.abort("blockedbyclient")
        if rendered.requests >= self.settings.render_max_requests:
            rendered.refuse(url, "request_cap")
            return await route.abort("blockedbyclient")
        rendered.requests += 1
        try:
            fetched = await self.fetcher.fetch(
                url, require_html=False, timeout=max(0.0, until - time.monotonic()),
                verify_tls=host_of(url) not in unverified_hosts,
            )
        except FetchError as exc:
            rendered.refuse(url, exc.code)
            return await route.abort("accessdenied" if exc.code in ("blocked_destination", "invalid_url") else "failed")
        if rendered.bytes + len(fetched.body) > self.settings.render_max_bytes:
            rendered.refuse(url, "byte_cap")
            return await route.abort("blockedbyclient")
        rendered.bytes += len(fetched.body)
        # Only what the fetcher decoded is passed on, with a type and nothing else from the site's headers:
        # no cookies are set in the browser, no caching rules, no redirects it would follow by itself.
        await route.fulfill(status=fetched.status, content_type=fetched.content_type or "application/octet-stream", body=fetched.body)


async def _outer_html(cdp, page) -> str:
    """The page's DOM as HTML, read by the browser's DevTools protocol rather than by a script in the page, so
    neither the page's busy scripts nor its own redefinitions of the DOM stand in the way. A document replaced
    while it is read (a script navigating) is read again, then through Playwright."""
    for _attempt in range(2):
        try:
            document = await cdp.send("DOM.getDocument", {"depth": 0})
            answer = await cdp.send("DOM.getOuterHTML", {"nodeId": document["root"]["nodeId"]})
            return answer.get("outerHTML", "")
        except Exception as exc:  # the node went away under us
            failure = exc
    try:
        return await page.content()
    except Exception:
        raise failure from None
