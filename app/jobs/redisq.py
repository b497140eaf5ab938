"""The Redis queue (arq): the service enqueues, `pharmacheck worker` processes on any machines check.

The store stays the record of what is done; arq carries the work to the workers. The service enqueues one
`dispatch_job` per job; a worker that runs it enqueues one `check_unit` per canonical address still queued,
under a job id made of the job, the address and its attempt, so enqueueing again (after a restart, a lost
Redis, a sweep) never doubles a unit. arq removes a job from its queue only when it has run; the lease in
the store is what keeps two workers from finishing the same item:

- a worker killed mid-check leaves its items leased; when the lease runs out one worker's reaper puts them
  back in the queue and enqueues them again under a new id (arq's own retry of the dead job, once its
  in-progress mark expires, then finds nothing to take);
- a unit whose site is busy is handed back for a few seconds (arq Retry with a delay);
- on start, and every few minutes under a lock only one worker gets, every active job is dispatched again,
  so work survives a Redis that lost its data.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from datetime import timedelta

from app.settings import Settings

log = logging.getLogger("pharmacheck.jobs")

SWEEP_EVERY = 300
# arq drops a job not started within its expiry; a big job behind busy sites can wait long.
JOB_EXPIRES = timedelta(days=7)
ENQUEUE_CONCURRENCY = 64
DISPATCH_SLICE = 2000


def redis_settings(url: str):
    from arq.connections import RedisSettings

    return RedisSettings.from_dsn(url)


def queue_key(settings: Settings) -> str:
    return f"{settings.queue_name}:queue"


def dispatch_id(settings: Settings, job_id: str) -> str:
    return f"{settings.queue_name}:dispatch:{job_id}"


def unit_id(settings: Settings, job_id: str, canonical_url: str, attempt: int | str) -> str:
    digest = hashlib.sha256(canonical_url.encode()).hexdigest()[:24]
    return f"{settings.queue_name}:unit:{job_id}:{digest}:{attempt}"


async def enqueue_units(redis, settings: Settings, job_id: str, canonical_urls: list[str], attempt_of=lambda url: 0) -> int:
    """Enqueue `check_unit` for each address (at most ENQUEUE_CONCURRENCY at a time); returns how many were new."""
    semaphore = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

    async def one(url: str) -> bool:
        async with semaphore:
            job = await redis.enqueue_job("check_unit", job_id, url,
                                          _job_id=unit_id(settings, job_id, url, attempt_of(url)),
                                          _queue_name=queue_key(settings), _expires=JOB_EXPIRES)
            return job is not None

    return sum(await asyncio.gather(*(one(u) for u in canonical_urls)))


class RedisJobQueue:
    """The service's side: it only enqueues; workers check and send webhooks."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.redis = None

    def start(self) -> None:
        pass

    async def _pool(self):
        if self.redis is None:
            from arq import create_pool

            self.redis = await create_pool(redis_settings(self.settings.redis_url),
                                           default_queue_name=queue_key(self.settings))
        return self.redis

    async def submit(self, job_id: str) -> None:
        redis = await self._pool()
        await redis.enqueue_job("dispatch_job", job_id, _job_id=dispatch_id(self.settings, job_id),
                                _queue_name=queue_key(self.settings), _expires=JOB_EXPIRES)

    async def queue_length(self) -> int | None:
        try:
            return int(await (await self._pool()).zcard(queue_key(self.settings)))
        except Exception:
            return None

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None


# --- the worker's side: arq functions and the background loops they start ------------------------------------


async def startup(ctx: dict) -> None:
    from app import metrics
    from app.service import make_checker
    from app.store import open_database
    from app.store.jobs import JobStore

    from .locks import RedisLocks
    from .runner import JobRunner
    from .webhooks import WebhookSender

    settings: Settings = ctx["settings"]
    jobs = JobStore(open_database(settings.effective_database_url))
    checker = make_checker(settings)
    # A run goes on to the site's next addresses for at most check_timeout, so it ends within its arq timeout.
    runner = JobRunner(checker, jobs, RedisLocks(ctx["redis"], prefix=f"{settings.queue_name}:site:"), settings,
                       drain_seconds=settings.check_timeout)
    webhooks = WebhookSender(settings, jobs)
    metrics.STORE.jobs = jobs
    ctx.update(jobs=jobs, checker=checker, runner=runner, webhooks=webhooks)
    ctx["loops"] = [
        asyncio.create_task(_reap(ctx), name="pharmacheck lease reaper"),
        asyncio.create_task(webhooks.run_forever(), name="pharmacheck webhooks"),
        asyncio.create_task(_sweep(ctx, first=True), name="pharmacheck sweep"),
    ]
    log.info("worker %s ready: %s concurrent checks, lease %ss", runner.worker, ctx.get("concurrency"),
             settings.job_lease_seconds)


async def shutdown(ctx: dict) -> None:
    loops = ctx.get("loops", [])
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    if "webhooks" in ctx:
        await ctx["webhooks"].aclose()
    if "checker" in ctx:
        await ctx["checker"].aclose()


async def dispatch_job(ctx: dict, job_id: str, after: int = -1) -> int:
    """Enqueue the job's waiting units a slice at a time: each slice is a short arq job of its own (arq holds
    a dead worker's job for the longest function timeout, so none may be long), and enqueues the next."""
    settings = ctx["settings"]
    units = await asyncio.to_thread(ctx["jobs"].queued_units_from, job_id, after=after, limit=DISPATCH_SLICE)
    added = await enqueue_units(ctx["redis"], settings, job_id, [c for c, _ in units])
    if len(units) == DISPATCH_SLICE:
        last = units[-1][1]
        await ctx["redis"].enqueue_job("dispatch_job", job_id, last, _job_id=f"{dispatch_id(settings, job_id)}:{last}",
                                       _queue_name=queue_key(settings), _expires=JOB_EXPIRES)
    log.info("job %s: %d units queued from index %d (%d new)", job_id, len(units), after + 1, added)
    return added


async def check_unit(ctx: dict, job_id: str, canonical_url: str) -> str:
    from arq import Retry

    from .inputs import site_of

    runner = ctx["runner"]
    if await runner.locks.busy(site_of(canonical_url)):
        # Another worker is checking the site (and goes on to its other addresses): come back later, without
        # touching the store. Later and later, up to a minute, for a site with a long list.
        raise Retry(defer=min(60.0, 4.0 * 2 ** min(ctx.get("job_try", 1), 4)) * random.uniform(0.7, 1.3))
    unit = await asyncio.to_thread(ctx["jobs"].lease_unit, job_id, canonical_url, runner.worker, runner.lease)
    if unit is None:
        return "nothing to take"  # done by another worker, cancelled, or being checked elsewhere
    outcome = await runner.run(unit)
    if outcome.name in ("deferred", "retry"):
        raise Retry(defer=outcome.retry_in)
    return outcome.name


async def _reap(ctx: dict) -> None:
    jobs, runner = ctx["jobs"], ctx["runner"]
    while True:
        await asyncio.sleep(max(1.0, runner.lease / 3))
        try:
            freed = await asyncio.to_thread(jobs.reap_expired)
            for job_id, canonical_url, attempts in freed:
                # A new id: the dead worker's job is still 'in progress' in arq until its mark expires, and an
                # id arq holds is not enqueued again. Only this reaper got these rows back, so no other enqueues them.
                again = f"{attempts}r{time.time_ns()}"
                await enqueue_units(ctx["redis"], ctx["settings"], job_id, [canonical_url], lambda _url, a=again: a)
            if freed:
                log.info("put %d units with expired leases back in the queue", len(freed))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not put expired leases back in the queue", exc_info=True)


async def _sweep(ctx: dict, first: bool = False) -> None:
    """Dispatch every active job again: at start (this worker may be the first after Redis lost its data), then
    every SWEEP_EVERY seconds by whichever worker takes the sweep lock."""
    redis, jobs, settings = ctx["redis"], ctx["jobs"], ctx["settings"]
    while True:
        try:
            if first or await redis.set(f"{settings.queue_name}:sweep", ctx["runner"].worker, nx=True, ex=SWEEP_EVERY):
                # Cheap test first: when Redis holds at least as many jobs as there are units waiting, nothing
                # was lost (enqueueing again would only find every unit there already).
                waiting = int(await redis.zcard(queue_key(settings)))
                if waiting < await asyncio.to_thread(jobs.queued_unit_count):
                    for job_id in await asyncio.to_thread(jobs.active_jobs):
                        await dispatch_job(ctx, job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not sweep the active jobs", exc_info=True)
        first = False
        await asyncio.sleep(SWEEP_EVERY / 5)


def worker_settings(settings: Settings, concurrency: int) -> dict:
    """Keyword arguments for arq.Worker."""
    from arq import func

    # arq marks a job 'in progress' for the longest function timeout plus 10 s, and a job a worker took just
    # before it died (before the store's lease was taken) waits that long to run again; so no function may be
    # long. A check ends by check_timeout, and a run begins no check after check_timeout (the site's next
    # addresses); the rest is the site's lock and the store.
    timeout = 2 * settings.check_timeout + 25
    return {
        "functions": [
            func(dispatch_job, name="dispatch_job", timeout=timeout, max_tries=100),
            # Busy sites hand a unit back many times; the store's attempt count is what gives up on a unit.
            func(check_unit, name="check_unit", timeout=timeout, max_tries=1_000_000),
        ],
        "redis_settings": redis_settings(settings.redis_url),
        "queue_name": queue_key(settings),
        "max_jobs": concurrency,
        "keep_result": 0,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {"settings": settings, "concurrency": concurrency},
        "poll_delay": 0.2,
        "health_check_key": f"{settings.queue_name}:health-check",
    }
