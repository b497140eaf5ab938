"""Peak memory while fetching compression bombs and oversized bodies with the service's default caps.

Run from the project root:  python -m bench.bomb_memory
Each case runs in a fresh process so that ru_maxrss (the process's peak resident size) belongs to that case
alone; tracemalloc's peak counts Python and zlib allocations made during the fetch.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import sys
import time
import tracemalloc

CASES = ["/ok", "/bomb", "/bomb-html", "/endless", "/gzip6", "/html/nested100k"]


def _one(path: str, queue) -> None:
    from app.netpolicy import FetchError
    from app.page import parse_page
    from tests.fetch_helpers import hostile_settings, make_fetcher
    from tests.hostile_server import HostileServer

    server = HostileServer()
    settings = hostile_settings(server, page_timeout=10.0, read_timeout=8.0, connect_timeout=5.0)  # default caps
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def go():
        fetcher = make_fetcher(settings)
        try:
            return await fetcher.fetch(server.url(path))
        finally:
            await fetcher.aclose()

    tracemalloc.start()
    started = time.monotonic()
    try:
        result = asyncio.run(go())
        outcome = f"{len(result.body)} bytes, truncated={result.truncated}"
        page = parse_page(result.text, result.url, truncated=result.truncated)
        outcome += f", page text {len(page.text)} chars"
    except FetchError as exc:
        outcome = exc.code
    took = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({
        "case": path, "outcome": outcome, "seconds": round(took, 2),
        "tracemalloc_peak_mib": round(peak / 2**20, 1),
        "rss_growth_mib": round((peak_rss - baseline) / 1024, 1), "peak_rss_mib": round(peak_rss / 1024, 1),
    })
    server.close()


def main() -> int:
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for path in CASES:
        queue = ctx.Queue()
        proc = ctx.Process(target=_one, args=(path, queue))
        proc.start()
        rows.append(queue.get(timeout=120))
        proc.join(30)
    print(f"{'case':20} {'seconds':>8} {'tracemalloc MiB':>16} {'RSS growth MiB':>15} {'peak RSS MiB':>13}  outcome")
    for r in rows:
        print(f"{r['case']:20} {r['seconds']:8} {r['tracemalloc_peak_mib']:16} {r['rss_growth_mib']:15} {r['peak_rss_mib']:13}  {r['outcome']}")
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
