"""Recent reports kept by address, and the checks running right now.

A report is named by the address that was checked: the web page, a shared report link, the bookmarklet and the
JSON API all ask for `?url=...`. The same address asked for again within the time-to-live (or the caller's own
max_age) gets the same report without the site being fetched again, and an address asked for while its check
is running joins that check instead of starting a second one.

Recent reports are held in memory in front of the store: a report not in memory is looked up among the kept
reports (app/store), so a restart, or another process sharing the database, loses nothing that is fresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit, urlunsplit

from . import metrics
from .netpolicy import FetchError, validate_url
from .pipeline import Checker, normalise_input_url
from .report import Report

if TYPE_CHECKING:
    from .store import ReportStore

log = logging.getLogger("pharmacheck.cache")

DEFAULT_PORTS = {"http": 80, "https": 443}

# A site that could not be read at all is asked about again sooner: it may only have been down for a minute.
UNREACHABLE_TTL = 120
# A finished check stays answered for a short while, even when reports are not kept (cache_ttl 0) or a refusal is
# not a report at all, so that the waiting page, reloading itself, finds the outcome instead of starting again.
FINISHED_TTL = 60


class CheckerBusy(Exception):
    """Too many different sites are being checked at once; the caller should try again shortly."""

    retry_after = 5


def canonical_url(url: str, allowed_ports: tuple[int, ...] = (80, 443), resolve: tuple = ()) -> str:
    """The one spelling of an address that reports are kept under.

    Accepts what people paste (a bare domain, surrounding spaces) and refuses what cannot be checked, with the
    same FetchError the pipeline raises. Lower-cases scheme and host, drops a default port and the fragment
    (the site never sees it), and gives an empty path as "/". Applying it twice changes nothing.
    """
    url = validate_url(normalise_input_url(url), allowed_ports, resolve)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def read_nothing(report: Report) -> bool:
    """No page of the site could be read: the report says only that the site was down at that moment."""
    return not any(p.error is None and p.status is not None for p in report.pages)


def report_age(report: Report, now: datetime | None = None) -> float:
    try:
        checked = datetime.fromisoformat(report.checked_at)
    except ValueError:
        return float("inf")
    if checked.tzinfo is None:
        checked = checked.replace(tzinfo=timezone.utc)
    return max(0.0, ((now or datetime.now(timezone.utc)) - checked).total_seconds())


def fresh_from_store(store: "ReportStore", key: str, newer_than: datetime) -> tuple[int, Report] | None:
    """The newest kept report for `key` checked after `newer_than`, unless it read nothing and is older than
    UNREACHABLE_TTL (a site that was down is asked about again soon). Blocking: call it in a thread."""
    found = store.latest(key, newer_than=newer_than)
    if found is None:
        return None
    if read_nothing(found[1]) and report_age(found[1]) > UNREACHABLE_TTL:
        return None
    return found


@dataclass
class CheckJob:
    """One check in progress: what it is doing now, for the page that shows the wait."""

    key: str
    loop: asyncio.AbstractEventLoop
    origin: str = "web"
    state: str = "running"  # running | done | failed
    stage: str = "queued"  # queued | fetching | reading | scoring, as reported by Checker.check
    current_url: str = ""
    pages: list[str] = field(default_factory=list)
    report: Report | None = None
    error_code: str = ""
    error_message: str = ""
    started: float = 0.0
    finished: float | None = None
    task: asyncio.Task | None = None

    def progress(self, stage: str, url: str) -> None:
        self.stage, self.current_url = stage, url
        if stage in ("fetching", "reading") and url not in self.pages:
            self.pages.append(url)

    @property
    def usable(self) -> bool:
        """False for a job started on an event loop that is gone (a server restarted inside one process)."""
        return not self.loop.is_closed() and (self.state != "running" or (self.task is not None and not self.task.done()))


@dataclass
class _Entry:
    report: Report
    stored: float
    expires: float


class ReportCache:
    """Reports by canonical address with a time-to-live, plus the table of running checks."""

    def __init__(
        self,
        checker: Checker,
        ttl: int,
        *,
        max_entries: int = 1000,
        max_running: int = 16,
        clock: Callable[[], float] = time.monotonic,
        store: "ReportStore | None" = None,
    ):
        self.checker = checker
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_running = max_running
        self.clock = clock
        self.store = store
        self._reports: OrderedDict[str, _Entry] = OrderedDict()
        self._jobs: dict[str, CheckJob] = {}
        # "Check again": kept reports of these addresses made before this moment no longer answer.
        self._not_before: OrderedDict[str, datetime] = OrderedDict()

    def canonical(self, url: str) -> str:
        return canonical_url(url, self.checker.settings.allowed_ports, self.checker.settings.resolve)

    # Finished reports

    def get(self, key: str, max_age: float | None = None) -> Report | None:
        """The report held in memory for `key`, if it is younger than the time-to-live and `max_age`."""
        entry = self._reports.get(key)
        if entry is None:
            return None
        now = self.clock()
        if entry.expires <= now:
            del self._reports[key]
            return None
        if max_age is not None and now - entry.stored > max_age:
            return None
        self._reports.move_to_end(key)
        return entry.report

    async def lookup(self, key: str, max_age: float | None = None) -> Report | None:
        """The freshest report for `key` no older than `max_age` (default: the time-to-live): held in memory,
        or kept in the store by an earlier run or another process. Never starts a check."""
        # A caller's max_age may be longer than the time-to-live: the store keeps every report.
        limit = self.ttl if max_age is None else max_age
        report = self.get(key, limit)
        if report is not None:
            metrics.CACHE_LOOKUPS.labels("memory").inc()
            return report
        if self.store is None or limit <= 0:
            metrics.CACHE_LOOKUPS.labels("miss").inc()
            return None
        newer_than = datetime.now(timezone.utc) - timedelta(seconds=limit)
        not_before = self._not_before.get(key)
        if not_before is not None and not_before > newer_than:
            newer_than = not_before
        try:
            found = await asyncio.to_thread(fresh_from_store, self.store, key, newer_than)
        except Exception:
            log.warning("could not read kept reports for %s", key, exc_info=True)
            found = None
        if found is None:
            metrics.CACHE_LOOKUPS.labels("miss").inc()
            return None
        metrics.CACHE_LOOKUPS.labels("store").inc()
        report = found[1]
        self.put(key, report, age=report_age(report))
        return report

    def put(self, key: str, report: Report, *, age: float = 0.0) -> None:
        if self.ttl <= 0:
            return
        ttl = self.ttl
        if read_nothing(report):
            ttl = min(ttl, UNREACHABLE_TTL)
        now = self.clock()
        stored = now - age
        if stored + ttl <= now:
            return
        self._reports[key] = _Entry(report, stored, stored + ttl)
        self._reports.move_to_end(key)
        while len(self._reports) > self.max_entries:
            self._reports.popitem(last=False)

    def forget(self, key: str, *, older_than: float = 0.0) -> bool:
        """Drop a kept report if it has been kept at least `older_than` seconds (for "check again")."""
        entry = self._reports.get(key)
        if entry is None:
            return False
        if self.clock() - entry.stored < older_than:
            return False
        del self._reports[key]
        job = self._jobs.get(key)
        if job is not None and job.state != "running":
            del self._jobs[key]
        # The same report is kept in the store too; from now on only a newer one answers.
        self._not_before[key] = datetime.now(timezone.utc)
        self._not_before.move_to_end(key)
        while len(self._not_before) > self.max_entries:
            self._not_before.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._reports)

    # Running checks

    def job(self, key: str) -> CheckJob | None:
        job = self._jobs.get(key)
        if job is None:
            return None
        if self._stale(job):
            del self._jobs[key]
            return None
        return job

    def _stale(self, job: CheckJob) -> bool:
        return not job.usable or (job.finished is not None and self.clock() - job.finished > FINISHED_TTL)

    def running(self) -> int:
        return sum(1 for j in self._jobs.values() if j.state == "running" and j.usable)

    def start(self, key: str, origin: str = "web") -> CheckJob:
        """The check for `key`: the one running or just finished, or a new one started now.

        Must be called on the event loop that serves requests. Raises CheckerBusy when too many other sites
        are being checked.
        """
        for stale in [k for k, j in self._jobs.items() if self._stale(j)]:
            del self._jobs[stale]
        job = self.job(key)
        if job is not None:
            return job
        if self.running() >= self.max_running:
            raise CheckerBusy(f"{self.max_running} sites are being checked right now; try again in a few seconds.")
        job = CheckJob(key=key, loop=asyncio.get_running_loop(), started=self.clock(), origin=origin)
        self._jobs[key] = job
        job.task = asyncio.create_task(self._run(job), name=f"check {key}")
        return job

    async def _run(self, job: CheckJob) -> None:
        from .store.checks import CURRENT_CHECK, CheckContext

        CURRENT_CHECK.set(CheckContext(origin=job.origin))  # this task's own context: seen by the listeners
        started_at = datetime.now(timezone.utc)
        try:
            report = await self.checker.check(job.key, progress=job.progress)
        except FetchError as exc:
            job.state, job.error_code, job.error_message = "failed", exc.code, exc.message
        except asyncio.CancelledError:
            job.state, job.error_code, job.error_message = "failed", "cancelled", "The check was stopped."
            raise
        except Exception:
            log.exception("check of %s failed", job.key)
            job.state, job.error_code = "failed", "internal_error"
            job.error_message = "Something went wrong on our side while checking this site; the error was logged."
        else:
            self.put(job.key, report)
            job.report, job.state = report, "done"
        finally:
            job.finished = self.clock()
        if job.state == "failed" and job.error_code != "cancelled":
            metrics.count_failure(job.origin, job.error_code)
            await self._record_failure(job, started_at)

    async def _record_failure(self, job: CheckJob, started_at: datetime) -> None:
        if self.store is None:
            return
        from .store.checks import CheckStore

        try:
            await asyncio.to_thread(CheckStore(self.store.database).record_failure, url=job.key, canonical_url=job.key,
                                    origin=job.origin, started_at=started_at, code=job.error_code,
                                    message=job.error_message)
        except Exception:
            log.warning("could not record the failed check of %s", job.key, exc_info=True)

    async def wait(self, job: CheckJob, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the job to finish; True when it has. Never cancels the job."""
        if job.state != "running" or job.task is None:
            return True
        if timeout > 0:
            await asyncio.wait({job.task}, timeout=timeout)
        return job.state != "running"

    async def check(self, url: str, *, max_age: float | None = None, origin: str = "api") -> Report:
        """The report for `url`: kept (no older than `max_age`, default the time-to-live), joined, or checked
        now. Raises FetchError for refused addresses."""
        key = self.canonical(url)
        report = await self.lookup(key, max_age)
        if report is not None:
            return report
        finished = self._jobs.get(key)
        if (finished is not None and finished.state != "running" and max_age is not None
                and finished.finished is not None and self.clock() - finished.finished > max_age):
            del self._jobs[key]  # a check that ended before what the caller accepts is not joined
        job = self.start(key, origin)
        if job.task is not None and not job.task.done():
            # Shielded: a caller that goes away must not cancel a check others may be waiting for.
            try:
                await asyncio.shield(job.task)
            except asyncio.CancelledError:
                if not job.task.cancelled():  # this caller was cancelled, not the check
                    raise
        if job.state == "done" and job.report is not None:
            return job.report
        if job.error_code == "internal_error":
            raise RuntimeError(job.error_message)
        raise FetchError(job.error_code or "check_failed", job.error_message or "The check did not finish.")

    async def aclose(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()
