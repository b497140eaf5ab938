"""One pipeline, `check a site -> Report`, behind the CLI, the API, the web page and batches."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from urllib.parse import urlsplit
from datetime import datetime, timezone
from typing import Callable

from checks import ALL_CHECKS
from checks.base import Outcome

from .crawl import choose_pages, normalise
from .domains import host_of, registrable_domain
from .fetch import Fetcher, FetchResult
from .invisible import encode_invisible
from .known_sites import known_sites_list, load_known_sites
from .lists.index import ListIndex, site_hosts
from .netpolicy import FetchError, validate_url
from .page import Page, bound_site_text, looks_script_built, parse_page, run_analysis
from .report import ErrorOut, PageOut, RefusedRequestOut, Report, ScreenshotOut
from .rules import Rules, load_rules
from .scoring import build_findings, score_findings
from .second_opinion import apply_second_opinion, open_opinions
from .settings import Settings
from .site import PageRecord, Site

log = logging.getLogger("pharmacheck")

ProgressCallback = Callable[[str, str], None]  # (stage, url)
# Called with every finished report and the site it judged (to keep the report, learn from the site); may be async.
ReportListener = Callable[["Report", Site], object]

# How long past check_timeout the check may run to finish with what arrived by then (a page read at the
# deadline still needs parsing).
CHECK_GRACE = 0.25
# Judging runs until the check's deadline, and gets at least this long when reading used the time up. Real
# sites are judged in tens of milliseconds; on pages of phrase-dense text at the caps one check can take about
# a second, so checks run one by one and those not started in time are reported as skipped.
JUDGE_MIN = 1.0


INVALID_CERTIFICATE = "The site's HTTPS certificate is not valid."

# "javascript:alert(1)" or "mailto:x@y" name a scheme; "pharmacy.example:8443/" is a host and a port.
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.I)


def normalise_input_url(url: str) -> str:
    """Accept what people paste: a bare domain gets https://, surrounding whitespace is dropped. An address with
    another scheme is left alone, so it is refused for its scheme rather than read as a host with a bad port."""
    url = (url or "").strip()
    if url and "://" not in url and not _OTHER_SCHEME.match(url):
        url = "https://" + url
    return url


class Checker:
    """Holds what is shared across checks (rules, fetcher, lists, identity graph) so batches reuse them."""

    def __init__(self, settings: Settings | None = None, rules: Rules | None = None, fetcher: Fetcher | None = None):
        from .browser import Renderer  # Playwright itself is imported only when a page is rendered

        self.settings = settings or Settings()
        self.rules = rules or load_rules(self.settings.rules_path)
        self.known_sites = load_known_sites(self.settings.known_sites_path) if self.settings.known_sites_path else {}
        self.adhoc_lists = [known_sites_list(self.known_sites, self.settings.known_sites_path)] if self.known_sites else []
        # Reputation lists: only the --known-sites file unless the service gives a store (app/service.py).
        self.lists = ListIndex(adhoc=self.adhoc_lists)
        # The identity graph (app/graph.py), when the service gives one.
        self.graph = None
        self.fetcher = fetcher or Fetcher(self.settings)
        # One browser for every check this Checker runs, started on the first page that needs it.
        self.renderer = Renderer(self.settings, self.fetcher) if self.settings.render != "off" else None
        self.listeners: list[ReportListener] = []
        # Loaded once: the second opinion (a model file, or opinions given in advance for an evaluation).
        self.opinions = open_opinions(self.settings)

    @property
    def algorithm_version(self) -> str:
        """The rules' version, plus the id of the model file when a second opinion is given (reports carry it)."""
        return algorithm_version(self.rules, self.opinions)

    def add_listener(self, listener: ReportListener) -> None:
        """Have `listener(report, site)` called after every check; its failure is logged, never the user's."""
        self.listeners.append(listener)

    async def _tell_listeners(self, report: Report, site: Site) -> None:
        for listener in self.listeners:
            try:
                result = listener(report, site)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("a report listener failed on %s", site.final_url)

    async def aclose(self) -> None:
        try:
            if self.renderer is not None:
                await self.renderer.aclose()
        finally:
            await self.fetcher.aclose()

    @property
    def rendering(self) -> str:
        """What rendering can do for this Checker: not_needed (ready, used when a page needs it), off, unavailable."""
        if self.renderer is None:
            return "off"
        return "not_needed" if self.renderer.available else "unavailable"

    async def __aenter__(self) -> "Checker":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    @property
    def page_budget(self) -> int:
        return self.settings.max_pages or self.rules.data.crawl.max_pages

    async def _fetch_page(
        self, url: str, kind: str, deadline: float | None = None, site: Site | None = None
    ) -> tuple[PageRecord, Page | None, FetchResult | None]:
        # Links and meta-refresh targets come from the site; the report shows them as the request was made.
        record = PageRecord(url=encode_invisible(url), kind=kind)
        try:
            result = await self._fetch_reading_invalid_tls(url, deadline, site)
        except FetchError as exc:
            record.error, record.error_message = exc.code, exc.message
            # What the failed attempt did learn stays in the report: a 404 has a status, a refused certificate
            # came over HTTPS. A TLS failure means the certificate was not valid; an HTTP answer over HTTPS means it was.
            record.final_url = encode_invisible(exc.url) if exc.url else ""
            record.status = exc.status
            failed_at = exc.url or url
            record.https = exc.https if exc.https is not None else failed_at.lower().startswith("https://")
            if exc.code == "tls_invalid" or exc.tls_valid is False:
                record.tls_valid = False
            elif exc.status is not None and record.https:
                record.tls_valid = True
            return record, None, None
        if result.tls_verified is False:
            record.tls_problem = result.tls_problem or INVALID_CERTIFICATE
        record.final_url = result.url
        record.status = result.status
        record.bytes = len(result.body)
        record.elapsed_ms = result.elapsed_ms
        record.https = result.https
        # Verified now or recorded as verified (True), read although it failed (False), or not known (None).
        record.tls_valid = result.tls_verified if result.https else None
        record.content_type = result.content_type
        record.truncated = result.truncated
        record.truncated_by = result.truncated_by
        record.from_archive = result.from_archive
        # Decoding and parsing are CPU-bound; running them off the event loop keeps one large page from stalling
        # the service.
        parsing = run_analysis(_read_page, result, kind)
        try:
            # The check's deadline covers waiting for a parsing thread too, not only the network.
            remaining = None if deadline is None else max(0.1, deadline - time.monotonic())
            page = await asyncio.wait_for(parsing, timeout=remaining)
        except asyncio.TimeoutError:
            record.error, record.error_message = "timeout", "The check ran out of time while reading this page."
            return record, None, result
        except (RecursionError, MemoryError, ValueError) as exc:
            log.warning("could not parse %s: %s", result.url, type(exc).__name__)
            record.error, record.error_message = "parse_error", "The page could not be read as HTML."
            return record, None, result
        record.encoding_note = result.decoded.note
        if site is not None:
            page = await self._render_if_script_built(record, page, result, deadline, site)
        record.language = page.language
        # Markup cut at the tag cap is as truncated as a body cut at the byte cap.
        record.truncated = page.truncated
        if page.truncated and record.truncated_by is None:
            record.truncated_by = "size"
        return record, page, result

    async def _render_if_script_built(
        self, record: PageRecord, page: Page, result: FetchResult, deadline: float | None, site: Site
    ) -> Page:
        """The page as a browser builds it, when it looks built by JavaScript (or rendering is asked for every
        page); otherwise, or when rendering fails, the page as the server sent it."""
        reason = "rendering was asked for" if self.settings.render == "always" else looks_script_built(page)
        if not reason:
            return page
        if self.renderer is None or not self.renderer.available:
            why = "rendering is turned off" if self.renderer is None else "no browser is installed where this check ran"
            record.render_error = "not_rendered"
            record.render_message = (f"This page looks built by JavaScript ({reason}), but {why}, so only the HTML "
                                     "the server sent was read; the site may say more than this report shows.")
            return page
        until = deadline if deadline is not None else time.monotonic() + self.settings.check_timeout
        rendered = await self.renderer.render(
            result, deadline=until, screenshot=self._wants_screenshot(site, record.kind),
            unverified_hosts=site.unverified_hosts,
        )
        self._keep_render_facts(site, rendered)
        if rendered.error:
            record.render_error, record.render_message = rendered.error, rendered.error_message
        if not rendered.html:
            return page
        try:
            built = await asyncio.wait_for(
                run_analysis(parse_page, rendered.html, result.url, status=result.status, truncated=page.truncated, kind=page.kind),
                timeout=max(0.1, until - time.monotonic()),
            )
        except (asyncio.TimeoutError, RecursionError, MemoryError, ValueError):
            return page
        built.rendered = True
        record.rendered = True
        site.rendering = "rendered"
        return built

    def _wants_screenshot(self, site: Site, kind: str) -> bool:
        return self.settings.screenshots and kind == "start" and site.screenshot is None

    @staticmethod
    def _keep_render_facts(site: Site, rendered) -> None:
        site.refused_requests.extend(rendered.refused)
        if rendered.screenshot and site.screenshot is None:
            width, height = rendered.screenshot_size or (0, 0)
            site.screenshot = (rendered.screenshot, width, height)

    async def _screenshot_start_page(self, site: Site, result: FetchResult, deadline: float) -> None:
        """A picture of a start page that was not rendered (a page the server wrote whole): the browser loads
        it, through the same interception as a render, only to take the picture."""
        rendered = await self.renderer.render(result, deadline=deadline, screenshot=True, unverified_hosts=site.unverified_hosts)
        self._keep_render_facts(site, rendered)

    async def _fetch_reading_invalid_tls(self, url: str, deadline: float | None, site: Site | None) -> FetchResult:
        """Fetch `url`; when its certificate fails verification, read it again without the check, so that a
        consumer still learns what the site sells. Such a page is only ever asked for with a GET (no cookies, no
        forms, no body), and its record says the certificate is not valid. A host whose certificate failed once
        in this check is read unverified from then on, without a second failing handshake per page."""

        def left() -> float | None:
            return None if deadline is None else deadline - time.monotonic()

        host = host_of(url)
        if site is not None and host in site.unverified_hosts:
            return await self.fetcher.fetch(url, timeout=left(), verify_tls=False)
        try:
            return await self.fetcher.fetch(url, timeout=left())
        except FetchError as exc:
            if exc.code != "tls_invalid":
                raise
            try:
                result = await self.fetcher.fetch(url, timeout=left(), verify_tls=False)
            except FetchError as second:
                # Not readable even so: a handshake that fails whatever is checked is the certificate error; an
                # answer read past it that failed (a 404, a stall) is that failure, on an invalid certificate.
                if second.code == "tls_invalid":
                    raise exc from None
                second.tls_valid = False
                raise second from None
            result.tls_problem = exc.message
            if site is not None:
                site.unverified_hosts.add(host)
            return result

    async def _follow_meta_refresh(self, record: PageRecord, page: Page, result: FetchResult, deadline: float, site: Site):
        """A start page that only forwards the visitor (meta refresh) is replaced by the page it forwards to."""
        target = page.meta_refresh
        if not target or len(page.text) > 500 or normalise(target) == normalise(result.url):
            return record, page, result
        new_record, new_page, new_result = await self._fetch_page(target, "start", deadline, site)
        if new_page is None or new_result is None:
            return record, page, result
        new_result.redirects = [*result.redirects, result.url, *new_result.redirects]
        return new_record, new_page, new_result

    async def check(self, url: str, progress: ProgressCallback | None = None) -> Report:
        """Fetch and judge one site within check_timeout. Raises FetchError only for input that is invalid or
        refused; running out of time gives a report of what was read."""
        started = time.monotonic()
        deadline = started + self.settings.check_timeout
        requested = normalise_input_url(url)
        validate_url(requested, self.settings.allowed_ports, self.settings.resolve)
        if progress:
            progress("fetching", requested)
        if self.settings.screenshots and self.renderer is not None and self.renderer.available and not self.renderer.started:
            # Every check will want the browser for its picture: start it while the start page is fetched.
            self.renderer.warming = asyncio.ensure_future(self.renderer.start())
        site = Site(
            requested_url=requested,
            final_url=requested,
            domain=registrable_domain(requested),
            host=host_of(requested),
            rendering=self.rendering,
        )
        # Every fetch and wait below already ends by the deadline; this one catches whatever might not (a
        # parsing thread finishing late, a registry look-up), so that the check ends on time with a report.
        wall = asyncio.timeout(deadline + CHECK_GRACE - time.monotonic())
        lookup_errors: list[ErrorOut] = []
        try:
            async with wall:
                await self._read_site(site, deadline, progress)
                _bound_site_text(site)
                await self._consult_lists(site)
                if self.graph is not None and site.pages:
                    await self._consult_graph(site, lookup_errors)
                if self.settings.confirm_registries and site.pages:
                    if progress:
                        progress("confirming", site.final_url)
                    await self.enrich(site, started, lookup_errors)
        except TimeoutError:
            if not wall.expired():
                raise
        _bound_site_text(site)
        if progress:
            progress("scoring", site.final_url)
        # Checks read whole pages (up to the text caps); off the event loop like parsing. Waiting for a free
        # analysis thread counts against the judging deadline too.
        judge_by = max(deadline, time.monotonic() + JUDGE_MIN)
        report = await run_analysis(self.judge, site, started=started, deadline=judge_by, errors=lookup_errors)
        await self._tell_listeners(report, site)
        return report

    async def _consult_lists(self, site: Site) -> None:
        """Match the site against the reputation lists in memory; reload them first when the store changed."""
        if self.lists.refresh_due():
            await asyncio.to_thread(self.lists.refresh)
        site.list_matches, site.lists_consulted = self.lists.match(
            site_hosts(site.requested_url, site.final_url, site.redirects),
            leave_out_own=self.settings.lists_leave_out_own,
        )

    async def _consult_graph(self, site: Site, errors: list[ErrorOut]) -> None:
        """What the checks find of the site's operator, and the other sites the store knows sharing it."""
        try:
            facts = await run_analysis(identify_site, self.rules, site)
            site.identity = await asyncio.to_thread(self.graph.context, site, facts, self.lists)
        except Exception:  # the graph must never cost the user the report
            log.exception("identity graph look-up failed on %s", site.final_url)
            errors.append(ErrorOut(code="graph_error", url=site.final_url,
                                   message="Other sites sharing this site's identity could not be looked up."))

    async def _read_site(self, site: Site, deadline: float, progress: ProgressCallback | None) -> None:
        """Read the start page, the home page and the crawl plan into `site`. A page is listed as `timeout` until
        it has been read, so whatever the check's deadline interrupts is reported as not read in time."""
        requested = site.requested_url
        site.records.append(_unread(requested, "start"))
        record, start_page, result = await self._fetch_page(requested, "start", deadline, site)
        if record.error in ("invalid_url", "blocked_destination"):
            raise FetchError(record.error, record.error_message)
        _settle_start(site, 0, record, start_page, result)
        slot = 0
        if start_page is None and record.error == "http_error" and self.page_budget > 1:
            # A dead deep link (a product that is gone) says nothing about the pharmacy; its home page does.
            home = _home_of(record.final_url or requested)
            if normalise(home) != normalise(record.final_url or requested):
                if progress:
                    progress("reading", home)
                site.records.append(_unread(home, "home"))
                slot = len(site.records) - 1
                record, start_page, result = await self._fetch_page(home, "home", deadline, site)
                _settle_start(site, slot, record, start_page, result)
        if start_page is not None and result is not None and start_page.meta_refresh:
            record, start_page, result = await self._follow_meta_refresh(record, start_page, result, deadline, site)
            _settle_start(site, slot, record, start_page, result)
        if start_page is None:
            return
        screenshot = None
        settled = site.records[slot]
        # A start page rendered already has its picture, or failed in the browser once: no second render for it.
        if (result is not None and self.renderer is not None and self.renderer.available and self._wants_screenshot(site, "start")
                and not settled.rendered and settled.render_error is None):
            screenshot = asyncio.ensure_future(self._screenshot_start_page(site, result, deadline))
        try:
            await self._read_rest(site, start_page, deadline, progress)
        except BaseException:
            if screenshot is not None:
                screenshot.cancel()
            raise
        if screenshot is not None:
            try:
                await asyncio.wait_for(screenshot, timeout=max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
            except Exception:  # a picture is never worth the report
                log.exception("no screenshot of %s", site.final_url)

    async def _read_rest(self, site: Site, start_page: Page, deadline: float, progress: ProgressCallback | None) -> None:
        """The home page and the crawl plan, after the start page."""
        requested = site.requested_url
        final_url, domain = site.final_url, site.domain
        seen = {normalise(requested), normalise(final_url)}
        budget = self.page_budget - len(site.records)
        link_sources = [start_page]
        # A check started from a deep page (a product page, the bookmarklet on a checkout) would otherwise
        # never see the home page, where the navigation to contact and policy pages lives.
        home = _home_of(final_url)
        if budget > 0 and normalise(home) not in seen:
            if progress:
                progress("reading", home)
            site.records.append(_unread(home, "home"))
            home_record, home_page, _ = await self._fetch_page(home, "home", deadline, site)
            site.records[-1] = home_record
            seen.add(normalise(home))
            budget -= 1
            if home_page is not None:
                site.pages.append(home_page)
                link_sources.append(home_page)
        plan = choose_pages(link_sources, domain, self.rules.data.crawl.targets, budget, seen)
        http_probe = None
        if final_url.lower().startswith("https://"):
            http_probe = asyncio.ensure_future(
                self.fetcher.probe_redirect(_plain_http_home(final_url), timeout=deadline - time.monotonic())
            )
        first = len(site.records)
        site.records.extend(_unread(u, kind) for kind, u in plan)
        tasks = [asyncio.ensure_future(self._fetch_page(u, kind, deadline, site)) for kind, u in plan]
        for kind, u in plan:
            if progress:
                progress("reading", u)
        try:
            if tasks:
                await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
            if http_probe is not None:
                try:
                    target = await asyncio.wait_for(http_probe, timeout=max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    target = None
                site.http_upgrades_to_https = bool(target and target.lower().startswith("https://")) if target is not None else None
        finally:
            for i, task in enumerate(tasks):
                if not task.done():
                    task.cancel()
                elif not task.cancelled() and task.exception() is None:
                    rec, page, _ = task.result()
                    site.records[first + i] = rec
                    if page is not None:
                        site.pages.append(page)
            if http_probe is not None and not http_probe.done():
                http_probe.cancel()
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()

    async def enrich(self, site: Site, started: float, errors: list[ErrorOut] | None = None) -> None:
        """Run the checks' outside look-ups within what is left of the time budget; failures cost only themselves.
        A look-up that failed or was cut by the deadline is listed in `errors`, so the report does not pass its
        missing answer off as a registry that had nothing to say."""
        checks = [c for c in ALL_CHECKS if c.enrich is not None]
        errors = errors if errors is not None else []

        async def one(check):
            try:
                site.enrichments[check.id] = await check.enrich(site, self.fetcher, self.rules.config_for(check.id))
            except Exception:  # a look-up must never cost the user the whole report
                log.exception("look-up for %s failed on %s", check.id, site.final_url)
                errors.append(ErrorOut(
                    code="registry_error", url=site.final_url,
                    message=f"The {check.id} check's registry look-up failed; its answer is missing from this report.",
                ))

        remaining = max(0.0, self.settings.check_timeout - (time.monotonic() - started))
        tasks = [asyncio.ensure_future(one(c)) for c in checks]
        try:
            if tasks:
                await asyncio.wait(tasks, timeout=remaining)
        finally:
            for check, task in zip(checks, tasks):
                if not task.done():
                    task.cancel()
                    errors.append(ErrorOut(
                        code="registry_timeout", url=site.final_url,
                        message=f"The {check.id} check's registry look-up did not finish in time; its answer is missing from this report.",
                    ))

    def judge(
        self, site: Site, *, started: float | None = None, deadline: float | None = None, errors: list[ErrorOut] = ()
    ) -> Report:
        """Run every check on what was read and score it; checks not started by `deadline` are skipped."""
        return judge_site(
            self.rules, site, started=started, from_archive=self.fetcher.from_archive, deadline=deadline, errors=errors,
            opinions=self.opinions,
        )


def _unread(url: str, kind: str) -> PageRecord:
    return PageRecord(url=url, kind=kind, error="timeout", error_message="The check ran out of time before this page arrived.")


def _settle_start(site: Site, slot: int, record: PageRecord, page: Page | None, result: FetchResult | None) -> None:
    """The page the site is judged from: the start page, or the home page standing in for a dead start address."""
    site.records[slot] = record
    site.pages[:] = [page] if page is not None else []
    if result is not None:
        site.final_url = result.url
        site.domain = registrable_domain(result.url)
        site.host = host_of(result.url)
        site.redirects = list(result.redirects)


def _bound_site_text(site: Site) -> None:
    # Pages arrive whole (up to the page's own text cap); only together can they be too much to judge in time.
    cut = {page.url for page in bound_site_text(site.pages)}
    for record in site.records:
        if record.error is None and record.final_url in cut:
            record.truncated = True
            record.truncated_by = record.truncated_by or "size"


def _read_page(result: FetchResult, kind: str) -> Page:
    return parse_page(result.text, result.url, status=result.status, truncated=result.truncated, kind=kind)


def _plain_http_home(url: str) -> str:
    """The site's plain-HTTP home page, on the default port; an IPv6 host keeps its brackets."""
    host = urlsplit(url).hostname or ""
    return f"http://[{host}]/" if ":" in host else f"http://{host}/"


def _home_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def run_checks(
    rules: Rules, site: Site, deadline: float | None = None
) -> tuple[list[tuple[str, Outcome]], list[ErrorOut]]:
    """Every check's outcomes, one check after another. A check not started by `deadline` (time.monotonic) is
    listed in errors as `check_skipped`: what it looks for stays undetermined, which lowers coverage."""
    outcomes: list[tuple[str, Outcome]] = []
    errors: list[ErrorOut] = []
    for check in ALL_CHECKS:
        if deadline is not None and time.monotonic() >= deadline:
            errors.append(ErrorOut(
                code="check_skipped", url=site.final_url,
                message=f"The {check.id} check was not run: the check ran out of time, so what it looks for was not judged.",
            ))
            continue
        try:
            for outcome in check.run(site, rules.config_for(check.id)) or ():
                if outcome.outcome not in check.outcomes:
                    raise ValueError(f"undeclared outcome {outcome.outcome!r}")
                outcomes.append((check.id, outcome))
        except Exception as exc:  # one broken check must not cost the user the whole report
            log.exception("check %s failed on %s", check.id, site.final_url)
            errors.append(ErrorOut(code="check_error", url=site.final_url, message=f"The {check.id} check failed: {type(exc).__name__}."))
    return outcomes, errors


def algorithm_version(rules: Rules, opinions=None) -> str:
    """`<rules version>+<model id>`: a retrained model changes what a report can say, so it changes the version."""
    if opinions is None or not rules.data.second_opinion.enabled:
        return rules.algorithm_version
    return f"{rules.algorithm_version}+{opinions.id}"


def judge_site(
    rules: Rules, site: Site, *, started: float | None = None, from_archive: bool = False, deadline: float | None = None,
    errors: list[ErrorOut] = (), opinions=None,
) -> Report:
    """`errors`: what went wrong before judging (look-ups), listed in the report after the checks' own.
    `opinions`: the second opinion's source (app/second_opinion.py), applied after the verdict rules."""
    outcomes, check_errors = run_checks(rules, site, deadline)
    errors = [*check_errors, *errors]
    findings = build_findings(rules, outcomes)
    scored = score_findings(rules, findings, fetched_anything=bool(site.pages))
    second_opinion = None
    if opinions is not None and rules.data.second_opinion.enabled:
        opinion = opinions.opinion_for(site, top=rules.data.second_opinion.shown_features)
        scored, second_opinion = apply_second_opinion(rules, scored, findings, opinion)
    for rec in site.records:
        if rec.render_error:
            errors.append(ErrorOut(code=rec.render_error, url=rec.url, message=rec.render_message))
        if rec.error:
            errors.append(ErrorOut(code=rec.error, url=rec.url, message=rec.error_message))
        elif rec.truncated:
            # Not a failure (what arrived was analysed), but whoever reads the report must know a part was unread,
            # and why: a stall is named as a stall, not passed off as a large page.
            errors.append(_truncation_error(rec))
    return Report(
        url=site.requested_url,
        final_url=site.final_url,
        checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        algorithm_version=algorithm_version(rules, opinions),
        verdict=scored.verdict,
        score=scored.score,
        grade=scored.grade,
        summary=scored.summary,
        verdict_rule=scored.verdict_rule,
        verdict_reason=scored.verdict_reason,
        coverage=scored.coverage,
        categories=scored.categories,
        findings=scored.findings,
        advice=scored.advice,
        pages=[
            PageOut(
                url=r.url, final_url=r.final_url, status=r.status, bytes=r.bytes, elapsed_ms=r.elapsed_ms,
                https=r.https, tls_valid=r.tls_valid, truncated=r.truncated, truncated_by=r.truncated_by if r.truncated else None,
                kind=r.kind, error=r.error,
                encoding_note=r.encoding_note or None, rendered=r.rendered, language=r.language or None,
            )
            for r in site.records
        ],
        redirects=site.redirects,
        errors=errors,
        from_archive=from_archive,
        elapsed_ms=int((time.monotonic() - started) * 1000) if started else 0,
        second_opinion=second_opinion,
        rendering=site.rendering,
        refused_requests=[RefusedRequestOut(url=encode_invisible(r.url), code=r.code, page=r.page) for r in site.refused_requests],
        screenshot=screenshot_out(site.screenshot),
    )


def screenshot_out(screenshot: tuple[bytes, int, int] | None) -> ScreenshotOut | None:
    if not screenshot:
        return None
    data, width, height = screenshot
    return ScreenshotOut(sha256=hashlib.sha256(data).hexdigest(), media_type="image/jpeg", width=width, height=height)


TRUNCATION_ERRORS = {
    "timeout": "This page stalled or arrived too slowly and was cut at the page's deadline; only what arrived was analysed.",
    "incomplete": "The site closed the connection before this page was complete; only what arrived was analysed.",
    "size": "This page is larger than pharmacheck reads; only its beginning was analysed.",
}
TRUNCATION_CODES = {"timeout": "timeout", "incomplete": "incomplete", "size": "too_large"}


def _truncation_error(record: PageRecord) -> ErrorOut:
    reason = record.truncated_by or "size"
    return ErrorOut(code=TRUNCATION_CODES[reason], url=record.url, message=TRUNCATION_ERRORS[reason])


def identify_site(rules: Rules, site: Site) -> list:
    """Every check's identity facts about the site (Check.identify), for the identity graph."""
    facts: list = []
    for check in ALL_CHECKS:
        if check.identify is not None:
            try:
                facts.extend(check.identify(site, rules))
            except Exception:  # one broken extractor costs only its own facts
                log.exception("identity facts of %s failed on %s", check.id, site.final_url)
    return facts


def site_from_pages(url: str, pages: list[Page], known_sites=None, lists: ListIndex | None = None) -> Site:
    """A site built from pages already in hand (page texts for evaluation, tests of single fixtures), matched
    against `lists` or the `known_sites` given."""
    site = Site(
        requested_url=url,
        final_url=url,
        domain=registrable_domain(url),
        host=host_of(url),
        pages=pages,
        records=[PageRecord(url=p.url, final_url=p.url, status=p.status, https=p.https, kind=p.kind, language=p.language)
                 for p in pages],
    )
    if lists is None and known_sites:
        lists = ListIndex(adhoc=[known_sites_list(known_sites, "known-sites.csv")])
    if lists is not None:
        site.list_matches, site.lists_consulted = lists.match(site_hosts(url, url, []))
    return site
