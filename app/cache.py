"""Recent reports kept by address, and the checks running right now.

A report is named by the address that was checked: the web page, a shared report link, the bookmarklet and the
JSON API all ask for `?url=...`. The same address asked for again within the time-to-live gets the same report
without the site being fetched again, and an address asked for while its check is running joins that check
instead of starting a second one. Everything lives in this process; a restart starts with an empty cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

from .netpolicy import FetchError, validate_url
from .pipeline import Checker, normalise_input_url
from .report import Report

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


@dataclass
class CheckJob:
    """One check in progress: what it is doing now, for the page that shows the wait."""

    key: str
    loop: asyncio.AbstractEventLoop
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
    ):
        self.checker = checker
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_running = max_running
        self.clock = clock
        self._reports: OrderedDict[str, _Entry] = OrderedDict()
        self._jobs: dict[str, CheckJob] = {}

    def canonical(self, url: str) -> str:
        return canonical_url(url, self.checker.settings.allowed_ports, self.checker.settings.resolve)

    # Finished reports

    def get(self, key: str) -> Report | None:
        entry = self._reports.get(key)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            del self._reports[key]
            return None
        self._reports.move_to_end(key)
        return entry.report

    def put(self, key: str, report: Report) -> None:
        if self.ttl <= 0:
            return
        ttl = self.ttl
        if not any(p.error is None and p.status is not None for p in report.pages):
            ttl = min(ttl, UNREACHABLE_TTL)
        now = self.clock()
        self._reports[key] = _Entry(report, now, now + ttl)
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

    def start(self, key: str) -> CheckJob:
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
        job = CheckJob(key=key, loop=asyncio.get_running_loop(), started=self.clock())
        self._jobs[key] = job
        job.task = asyncio.create_task(self._run(job), name=f"check {key}")
        return job

    async def _run(self, job: CheckJob) -> None:
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

    async def wait(self, job: CheckJob, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the job to finish; True when it has. Never cancels the job."""
        if job.state != "running" or job.task is None:
            return True
        if timeout > 0:
            await asyncio.wait({job.task}, timeout=timeout)
        return job.state != "running"

    async def check(self, url: str) -> Report:
        """The report for `url`: kept, joined, or checked now. Raises FetchError for refused addresses."""
        key = self.canonical(url)
        report = self.get(key)
        if report is not None:
            return report
        job = self.start(key)
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
