"""One unit of work: a canonical address of a job, from its lease to its answer.

1. A kept report fresh enough for the job (no older than its max_age; with `force`, made after the job was
   created) answers every item of the unit without a check.
2. Otherwise the site's lock is taken (one check of a site at a time, across every worker); a busy site gives
   the unit back to the queue for a few seconds. With the lock held, the store is asked again: another worker
   may have just checked the same address for another job.
3. The check runs while a heartbeat renews the lease and the lock; its report, the check's row and the items'
   answers are kept in one transaction, taken only if the lease is still this worker's.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app import metrics
from app.cache import fresh_from_store
from app.netpolicy import FetchError
from app.pipeline import Checker
from app.settings import Settings
from app.store.checks import CURRENT_CHECK, CheckContext
from app.store.jobs import JobStore, LeaseLost, Unit
from app.store.reports import ReportStore

log = logging.getLogger("pharmacheck.jobs")

# How long a unit waits for a site another check holds before going back to the queue.
LOCK_WAIT = 0.5
BUSY_DELAY = (2.0, 6.0)
# A check that failed on our side is tried again after this long, times 3 for each earlier attempt.
RETRY_DELAY = 15.0
# The worker holding a site's lock goes on to the job's next addresses on the same site, up to this many, so
# that a site's addresses do not each wait for the lock in turn.
DRAIN_MAX = 100


def worker_name() -> str:
    """Names the process that holds a lease: the machine, the process and a random part (pids get reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Outcome:
    name: str  # done | cached | failed | deferred | retry | lost
    retry_in: float = 0.0  # for deferred and retry: seconds until the unit may be taken again

    @property
    def finished(self) -> bool:
        return self.name in ("done", "cached", "failed")


class JobRunner:
    def __init__(self, checker: Checker, jobs: JobStore, locks, settings: Settings, worker: str | None = None,
                 *, drain_seconds: float | None = None):
        self.checker = checker
        self.jobs = jobs
        self.reports = ReportStore(jobs.database)
        self.locks = locks
        self.settings = settings
        self.worker = worker or worker_name()
        self.lease = float(settings.job_lease_seconds)
        # The site's lock outlasts any check (which ends by check_timeout) without being renewed, so a slow store
        # cannot let a second worker in; a worker that dies frees the site when it runs out.
        self.lock_ttl = max(self.lease, settings.check_timeout + 15)
        # How long after its start a run may still begin another of the site's addresses (None: no limit); a
        # queue whose jobs have a timeout bounds it.
        self.drain_seconds = drain_seconds

    async def run(self, unit: Unit) -> Outcome:
        metrics.WORKERS_BUSY.inc()
        try:
            outcome = await self._run(unit)
        except LeaseLost:
            log.warning("lost the lease on %s of job %s; another worker has it", unit.canonical_url, unit.job_id)
            outcome = Outcome("lost")
        except asyncio.CancelledError:
            # A worker told to stop hands the unit back at once rather than when its lease runs out.
            await asyncio.shield(asyncio.to_thread(self.jobs.release, unit, self.worker))
            raise
        finally:
            metrics.WORKERS_BUSY.dec()
        metrics.JOB_UNITS.labels(outcome.name).inc()
        if outcome.finished:
            await asyncio.to_thread(self.jobs.finish_if_complete, unit.job_id)
        return outcome

    def _newer_than(self, unit: Unit) -> datetime:
        if unit.force:
            # Reports carry whole seconds, so one made in the second the job was created does not count as
            # after it: at worst a site is checked twice, never answered by a report from before the job.
            return unit.job_created_at
        return datetime.now(timezone.utc) - timedelta(seconds=unit.max_age)

    async def _from_store(self, unit: Unit) -> Outcome | None:
        if unit.max_age <= 0 and not unit.force:
            return None
        found = await asyncio.to_thread(fresh_from_store, self.reports, unit.canonical_url, self._newer_than(unit))
        if found is None:
            return None
        await asyncio.to_thread(self.jobs.complete, unit, self.worker, report_id=found[0], from_cache=True)
        return Outcome("cached")

    async def _exhausted(self, unit: Unit) -> Outcome | None:
        if unit.attempts < self.settings.job_max_attempts:
            return None
        await asyncio.to_thread(
            self.jobs.fail, unit, self.worker, "attempts_exhausted",
            f"The check of this address was started {unit.attempts} times without finishing; it was given up.",
        )
        return Outcome("failed")

    async def _run(self, unit: Unit) -> Outcome:
        self._started = asyncio.get_running_loop().time()
        early = await self._from_store(unit) or await self._exhausted(unit)
        if early is not None:
            return early
        site = unit.domain or unit.canonical_url
        async with self.locks.hold(site, ttl=self.lock_ttl, wait=LOCK_WAIT) as held:
            if held is None:
                delay = random.uniform(*BUSY_DELAY)
                await asyncio.to_thread(self.jobs.release, unit, self.worker, delay)
                return Outcome("deferred", delay)
            outcome = await self._with_lock(unit, held)
            if unit.domain:
                await self._drain(unit, held)
            return outcome

    async def _with_lock(self, unit: Unit, held) -> Outcome:
        cached = await self._from_store(unit)
        if cached is not None:
            return cached
        if not await asyncio.to_thread(self.jobs.start_attempt, unit, self.worker, self.lease):
            raise LeaseLost(unit.canonical_url)
        return await self._check(unit, held)

    async def _drain(self, first: Unit, held) -> None:
        """The job's other waiting addresses on the same site, one after another under the lock already held."""
        loop = asyncio.get_running_loop()
        for _ in range(DRAIN_MAX):
            if self.drain_seconds is not None and loop.time() - self._started > self.drain_seconds:
                return
            unit = await asyncio.to_thread(self.jobs.lease_site, first.job_id, first.domain, self.worker, self.lease)
            if unit is None:
                return
            await held.extend()
            try:
                outcome = await self._exhausted(unit) or await self._with_lock(unit, held)
            except LeaseLost:
                outcome = Outcome("lost")
            metrics.JOB_UNITS.labels(outcome.name).inc()
            if outcome.name == "retry":
                return

    async def _check(self, unit: Unit, held) -> Outcome:
        heartbeat = asyncio.create_task(self._heartbeat(unit, held))
        token = CURRENT_CHECK.set(CheckContext(origin="job", job_id=unit.job_id, worker=self.worker, keep=False))
        started = datetime.now(timezone.utc)
        row = {"url": unit.canonical_url, "canonical_url": unit.canonical_url, "origin": "job",
               "started_at": started, "worker": self.worker}
        try:
            report = await self.checker.check(unit.canonical_url)
        except FetchError as exc:
            metrics.count_failure("job", exc.code)
            await asyncio.to_thread(self.jobs.fail, unit, self.worker, exc.code, exc.message, check=row)
            return Outcome("failed")
        except Exception:
            log.exception("checking %s for job %s failed", unit.canonical_url, unit.job_id)
            metrics.count_failure("job", "internal_error")
            message = "Something went wrong on our side while checking this site; the error was logged."
            if unit.attempts + 1 >= self.settings.job_max_attempts:
                await asyncio.to_thread(self.jobs.fail, unit, self.worker, "internal_error", message, check=row)
                return Outcome("failed")
            delay = RETRY_DELAY * 3 ** unit.attempts
            await asyncio.to_thread(self.jobs.release, unit, self.worker, delay, error=("internal_error", message))
            return Outcome("retry", delay)
        finally:
            CURRENT_CHECK.reset(token)
            heartbeat.cancel()
        await asyncio.to_thread(self.jobs.complete, unit, self.worker, report=report, check=row)
        return Outcome("done")

    async def _heartbeat(self, unit: Unit, held) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await held.extend()
                if not await asyncio.to_thread(self.jobs.renew, unit, self.worker, self.lease):
                    log.warning("the lease on %s of job %s ran out during its check", unit.canonical_url, unit.job_id)
                    return
            except Exception:
                log.warning("could not renew the lease on %s", unit.canonical_url, exc_info=True)
