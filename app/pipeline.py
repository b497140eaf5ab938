"""One pipeline, `check a site -> Report`, behind the CLI, the API, the web page and batches."""

from __future__ import annotations

import asyncio
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
from .page import Page, bound_site_text, parse_page, run_analysis
from .report import ErrorOut, PageOut, Report
from .rules import Rules, load_rules
from .scoring import build_findings, score_findings
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
        self.settings = settings or Settings()
        self.rules = rules or load_rules(self.settings.rules_path)
        self.known_sites = load_known_sites(self.settings.known_sites_path) if self.settings.known_sites_path else {}
        self.adhoc_lists = [known_sites_list(self.known_sites, self.settings.known_sites_path)] if self.known_sites else []
        # Reputation lists: only the --known-sites file unless the service gives a store (app/service.py).
        self.lists = ListIndex(adhoc=self.adhoc_lists)
        # The identity graph (app/graph.py), when the service gives one.
        self.graph = None
        self.fetcher = fetcher or Fetcher(self.settings)
        self.listeners: list[ReportListener] = []

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
        await self.fetcher.aclose()

    async def __aenter__(self) -> "Checker":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    @property
    def page_budget(self) -> int:
        return self.settings.max_pages or self.rules.data.crawl.max_pages

    async def _fetch_page(
        self, url: str, kind: str, deadline: float | None = None
    ) -> tuple[PageRecord, Page | None, FetchResult | None]:
        # Links and meta-refresh targets come from the site; the report shows them as the request was made.
        record = PageRecord(url=encode_invisible(url), kind=kind)
        try:
            result = await self.fetcher.fetch(url, timeout=None if deadline is None else deadline - time.monotonic())
        except FetchError as exc:
            record.error, record.error_message = exc.code, exc.message
            # What the failed attempt did learn stays in the report: a 404 has a status, a refused certificate
            # came over HTTPS. A TLS failure means the certificate was not valid; an HTTP answer over HTTPS means it was.
            record.final_url = encode_invisible(exc.url) if exc.url else ""
            record.status = exc.status
            failed_at = exc.url or url
            record.https = exc.https if exc.https is not None else failed_at.lower().startswith("https://")
            if exc.code == "tls_invalid":
                record.tls_valid = False
            elif exc.status is not None and record.https:
                record.tls_valid = True
            return record, None, None
        record.final_url = result.url
        record.status = result.status
        record.bytes = len(result.body)
        record.elapsed_ms = result.elapsed_ms
        record.https = result.https
        # Verified now, or recorded as verified in the archive; otherwise not known (a failed check is a page error).
        record.tls_valid = True if result.https and result.tls_verified else None
        record.content_type = result.content_type
        record.truncated = result.truncated
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
        record.language = page.language
        # Markup cut at the tag cap is as truncated as a body cut at the byte cap.
        record.truncated = page.truncated
        return record, page, result

    async def _follow_meta_refresh(self, record: PageRecord, page: Page, result: FetchResult, deadline: float):
        """A start page that only forwards the visitor (meta refresh) is replaced by the page it forwards to."""
        target = page.meta_refresh
        if not target or len(page.text) > 500 or normalise(target) == normalise(result.url):
            return record, page, result
        new_record, new_page, new_result = await self._fetch_page(target, "start", deadline)
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
        site = Site(
            requested_url=requested,
            final_url=requested,
            domain=registrable_domain(requested),
            host=host_of(requested),
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
        record, start_page, result = await self._fetch_page(requested, "start", deadline)
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
                record, start_page, result = await self._fetch_page(home, "home", deadline)
                _settle_start(site, slot, record, start_page, result)
        if start_page is not None and result is not None and start_page.meta_refresh:
            record, start_page, result = await self._follow_meta_refresh(record, start_page, result, deadline)
            _settle_start(site, slot, record, start_page, result)
        if start_page is None:
            return
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
            home_record, home_page, _ = await self._fetch_page(home, "home", deadline)
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
        tasks = [asyncio.ensure_future(self._fetch_page(u, kind, deadline)) for kind, u in plan]
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
            self.rules, site, started=started, from_archive=self.fetcher.from_archive, deadline=deadline, errors=errors
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


def judge_site(
    rules: Rules, site: Site, *, started: float | None = None, from_archive: bool = False, deadline: float | None = None,
    errors: list[ErrorOut] = (),
) -> Report:
    """`errors`: what went wrong before judging (look-ups), listed in the report after the checks' own."""
    outcomes, check_errors = run_checks(rules, site, deadline)
    errors = [*check_errors, *errors]
    findings = build_findings(rules, outcomes)
    scored = score_findings(rules, findings, fetched_anything=bool(site.pages))
    for rec in site.records:
        if rec.error:
            errors.append(ErrorOut(code=rec.error, url=rec.url, message=rec.error_message))
        elif rec.truncated:
            # Not a failure (what arrived was analysed), but whoever reads the report must know a part was unread.
            errors.append(ErrorOut(
                code="too_large", url=rec.url,
                message="This page is larger than pharmacheck reads; only its beginning was analysed.",
            ))
    return Report(
        url=site.requested_url,
        final_url=site.final_url,
        checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        algorithm_version=rules.algorithm_version,
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
                https=r.https, tls_valid=r.tls_valid, truncated=r.truncated, kind=r.kind, error=r.error,
                encoding_note=r.encoding_note or None, language=r.language or None,
            )
            for r in site.records
        ],
        redirects=site.redirects,
        errors=errors,
        from_archive=from_archive,
        elapsed_ms=int((time.monotonic() - started) * 1000) if started else 0,
    )


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
