"""One check of a site at a time: a lock per registrable domain, held while its check runs.

In one process a set of names does; across workers a Redis lock with an expiry (redis-py's Lock: SET NX PX,
released and extended only by its holder's token), so a worker that dies holding a site frees it when the
expiry passes. The fetcher's own per-site limit still bounds the requests of the check that holds the lock.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

log = logging.getLogger("pharmacheck.jobs")

LOCK_PREFIX = "pharmacheck:site:"


class Hold:
    async def extend(self) -> bool:
        return True


class LocalLocks:
    def __init__(self):
        self._held: set[str] = set()

    @asynccontextmanager
    async def hold(self, site: str, ttl: float, wait: float = 0.5) -> AsyncIterator[Hold | None]:
        """Yields a Hold while the site is this caller's, or None when it stayed busy for `wait` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while site in self._held and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if site in self._held:
            yield None
            return
        self._held.add(site)
        try:
            yield Hold()
        finally:
            self._held.discard(site)

    async def busy(self, site: str) -> bool:
        return site in self._held

    @property
    def held(self) -> set[str]:
        return set(self._held)


class RedisHold(Hold):
    def __init__(self, lock, ttl: float):
        self.lock, self.ttl = lock, ttl

    async def extend(self) -> bool:
        from redis.exceptions import LockError

        try:
            await self.lock.extend(self.ttl, replace_ttl=True)
            return True
        except LockError:
            return False


class RedisLocks:
    def __init__(self, redis, prefix: str = LOCK_PREFIX):
        self.redis = redis
        self.prefix = prefix

    async def busy(self, site: str) -> bool:
        return bool(await self.redis.exists(self.prefix + site))

    @asynccontextmanager
    async def hold(self, site: str, ttl: float, wait: float = 0.5) -> AsyncIterator[Hold | None]:
        from redis.exceptions import LockError

        lock = self.redis.lock(self.prefix + site, timeout=ttl, sleep=0.05, blocking=True, blocking_timeout=wait)
        if not await lock.acquire():
            yield None
            return
        try:
            yield RedisHold(lock, ttl)
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("the lock on %s ran out before its check ended", site)
