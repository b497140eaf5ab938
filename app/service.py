"""Build a Checker from settings: the live fetcher, or an archive recorder / replayer when asked for."""

from __future__ import annotations

from contextlib import asynccontextmanager

from .fetch import Fetcher
from .pipeline import Checker
from .settings import Settings


def make_fetcher(settings: Settings) -> Fetcher:
    return Fetcher(settings)


@asynccontextmanager
async def open_checker(settings: Settings):
    checker = Checker(settings, fetcher=make_fetcher(settings))
    try:
        yield checker
    finally:
        await checker.aclose()
