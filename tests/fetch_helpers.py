"""Test doubles for the live transport: a fake resolver (tests never use real DNS) and a dialer that records
every connection attempt and can route test-only public addresses to a loopback server."""

from __future__ import annotations

import asyncio

import httpcore

from app.fetch import Fetcher, LiveTransport
from app.settings import ResolveEntry, Settings


class FakeResolver:
    """Answers from a table; a list of answer lists is served one per look-up (for rebinding)."""

    def __init__(self, table: dict[str, list | list[list]], delay: float = 0.0):
        self.table = table
        self.delay = delay
        self.calls: list[str] = []

    async def resolve(self, host: str) -> list[str]:
        self.calls.append(host)
        if self.delay:
            await asyncio.sleep(self.delay)
        answers = self.table.get(host, [])
        if answers and isinstance(answers[0], list):
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return list(answers)


class RecordingDialer(httpcore.AsyncNetworkBackend):
    """Records every (address, port) the transport connects to; `routes` sends test-only public addresses to a
    loopback listener so that "public" answers can be exercised without leaving the machine."""

    def __init__(self, routes: dict[str, str] | None = None):
        self.routes = routes or {}
        self.attempts: list[tuple[str, int]] = []
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.attempts.append((host, port))
        return await self._inner.connect_tcp(self.routes.get(host, host), port, timeout, local_address, socket_options)

    async def sleep(self, seconds):
        await self._inner.sleep(seconds)


def hostile_settings(hostile, canary=None, **changes) -> Settings:
    """Short deadlines so hostile-server tests finish fast; the hostile site reached through an exact allowance."""
    ports = (80, 443, hostile.port) + ((canary.port,) if canary else ())
    base = Settings(
        resolve=(ResolveEntry("hostile.test", hostile.port, hostile.address),),
        allowed_ports=ports,
        page_timeout=1.5,
        check_timeout=4.0,
        connect_timeout=1.0,
        read_timeout=1.0,
        dns_timeout=1.0,
    )
    return base.with_(**changes)


def make_fetcher(settings: Settings, resolver=None, dialer=None) -> Fetcher:
    return Fetcher(settings, transport=LiveTransport(settings, resolver=resolver or FakeResolver({}), dialer=dialer))


class RecordingResolver:
    """A resolver for tests where no look-up is expected: it records every name asked for and answers only the
    names in `allowed` (anything else is dns_error), so a test asserts `unexpected == []`."""

    def __init__(self, allowed: dict[str, list[str]] | None = None):
        self.allowed = allowed or {}
        self.calls: list[str] = []

    @property
    def unexpected(self) -> list[str]:
        return [name for name in self.calls if name not in self.allowed]

    async def resolve(self, host: str) -> list[str]:
        from app.netpolicy import FetchError

        self.calls.append(host)
        if host not in self.allowed:
            raise FetchError("dns_error", f"unexpected look-up of {host}")
        return list(self.allowed[host])
