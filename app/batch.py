"""Check many sites concurrently, yielding one JSON report per line as each finishes."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from contextlib import asynccontextmanager
from typing import AsyncIterator

from .netpolicy import FetchError
from .pipeline import Checker
from .service import open_checker
from .settings import Settings

log = logging.getLogger("pharmacheck")


def _progress_line(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


async def run_batch(
    settings: Settings, urls: list[str], *, concurrency: int = 4, progress: bool = False, checker: Checker | None = None
) -> AsyncIterator[tuple[str, str]]:
    """Yield (json line, verdict) per URL; a refused URL, or one whose check failed unexpectedly, yields an error
    line instead of stopping the batch. `checker` is used as given (and left open) instead of one from settings."""
    queue: asyncio.Queue = asyncio.Queue()
    async with _checker(settings, checker) as checker:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(url: str) -> None:
            async with semaphore:
                try:
                    report = await checker.check(url)
                    await queue.put((report.model_dump_json(), report.verdict))
                except FetchError as exc:
                    line = json.dumps({"url": url, "error": {"code": exc.code, "message": exc.message}})
                    await queue.put((line, "error"))
                except Exception as exc:  # every URL must put a line, or the reader below waits for ever
                    log.exception("checking %s failed", url)
                    message = f"This site could not be checked ({type(exc).__name__})."
                    await queue.put((json.dumps({"url": url, "error": {"code": "internal_error", "message": message}}), "error"))

        tasks = [asyncio.ensure_future(one(u)) for u in urls]
        try:
            for done in range(1, len(urls) + 1):
                item = await queue.get()
                if progress:
                    _progress_line(done, len(urls))
                yield item
            if progress and urls:
                sys.stderr.write("\n")
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()


@asynccontextmanager
async def _checker(settings: Settings, given: Checker | None):
    if given is not None:
        yield given
        return
    async with open_checker(settings) as checker:
        yield checker
