"""Check many sites concurrently, yielding one JSON report per line as each finishes."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import AsyncIterator

from .netpolicy import FetchError
from .service import open_checker
from .settings import Settings


def _progress_line(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


async def run_batch(settings: Settings, urls: list[str], *, concurrency: int = 4, progress: bool = False) -> AsyncIterator[tuple[str, str]]:
    """Yield (json line, verdict) per URL; a refused URL yields an error line instead of stopping the batch."""
    queue: asyncio.Queue = asyncio.Queue()
    async with open_checker(settings) as checker:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(url: str) -> None:
            async with semaphore:
                try:
                    report = await checker.check(url)
                    await queue.put((report.model_dump_json(), report.verdict))
                except FetchError as exc:
                    line = json.dumps({"url": url, "error": {"code": exc.code, "message": exc.message}})
                    await queue.put((line, "error"))

        tasks = [asyncio.ensure_future(one(u)) for u in urls]
        for done in range(1, len(urls) + 1):
            item = await queue.get()
            if progress:
                _progress_line(done, len(urls))
            yield item
        if progress and urls:
            sys.stderr.write("\n")
        await asyncio.gather(*tasks)
