"""The job runner inside the service's own process: the default, with no Redis.

One poller takes units from the store (oldest first) while fewer than job_concurrency are being checked and
hands each to the runner; a new job wakes it, and when nothing is due it sleeps until the next deferred unit
is, for at most a few seconds. Expired leases (a previous run of the service stopped mid-check) are put back
in the queue, and the webhook outbox is sent from here too. Several service processes sharing one PostgreSQL
database each run this safely (leases are taken with SKIP LOCKED); politeness across them needs Redis.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from app.pipeline import Checker
from app.settings import Settings
from app.store.jobs import JobStore

from .locks import LocalLocks
from .runner import JobRunner
from .webhooks import WebhookSender

log = logging.getLogger("pharmacheck.jobs")

IDLE_POLL = 5.0


class LocalJobQueue:
    def __init__(self, checker: Checker, jobs: JobStore, settings: Settings, *, concurrency: int | None = None):
        self.jobs = jobs
        self.settings = settings
        self.locks = LocalLocks()
        self.runner = JobRunner(checker, jobs, self.locks, settings)
        self.webhooks = WebhookSender(settings, jobs)
        self.concurrency = concurrency or settings.job_concurrency
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._running: set[asyncio.Task] = set()

    @property
    def worker(self) -> str:
        return self.runner.worker

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._poll(), name="pharmacheck job poller"),
            asyncio.create_task(self._reap(), name="pharmacheck lease reaper"),
            asyncio.create_task(self.webhooks.run_forever(), name="pharmacheck webhooks"),
        ]

    async def submit(self, job_id: str) -> None:
        self._wake.set()
        self.webhooks.wake.set()

    async def _poll(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        while True:
            await slots.acquire()
            # Cleared before looking, so a job submitted while the store is asked still wakes the sleep below.
            self._wake.clear()
            try:
                unit = await asyncio.to_thread(self.jobs.lease_next, self.worker, self.runner.lease, self.locks.held)
            except Exception:
                log.warning("could not take work from the store", exc_info=True)
                unit = None
                await asyncio.sleep(1.0)
            if unit is None:
                slots.release()
                await self._sleep()
                continue
            task = asyncio.create_task(self._run(unit, slots))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, unit, slots: asyncio.Semaphore) -> None:
        try:
            await self.runner.run(unit)
            self.webhooks.wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job unit %s failed", unit.canonical_url)
        finally:
            slots.release()
            self._wake.set()

    async def _sleep(self) -> None:
        timeout = IDLE_POLL
        try:
            upcoming = await asyncio.to_thread(self.jobs.next_available)
        except Exception:
            upcoming = None
        if upcoming is not None:
            timeout = min(IDLE_POLL, max(0.05, (upcoming - datetime.now(timezone.utc)).total_seconds()))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        except TimeoutError:
            pass

    async def _reap(self) -> None:
        while True:
            try:
                if await asyncio.to_thread(self.jobs.reap_expired):
                    self._wake.set()
            except Exception:
                log.warning("could not put expired leases back in the queue", exc_info=True)
            await asyncio.sleep(max(1.0, self.runner.lease / 3))

    async def queue_length(self) -> int | None:
        return None

    async def aclose(self) -> None:
        tasks = [*self._tasks, *self._running]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.webhooks.aclose()
