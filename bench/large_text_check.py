"""How long checks take when a site serves pages of 2 MiB of phrase-dense text, with the default deadlines.

Run from the project root:  python -m bench.large_text_check [--runs 3]
The hostile server (its own process) serves /bigtext: 2 MiB of "Buy Viagra 100mg online, no prescription
needed..." in one paragraph, linking to four more pages like it, so a check reads five of them. Each run times
one such check alone, then two at once with a check of a normal page started 1.5 s after them, and prints
the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from app.pipeline import Checker
from app.settings import ResolveEntry, Settings
from tests.fetch_helpers import make_fetcher
from tests.hostile_server import hostile_server_process


async def _timed(checker: Checker, url: str, after: float = 0.0):
    await asyncio.sleep(after)
    started = time.monotonic()
    report = await checker.check(url)
    return time.monotonic() - started, report


async def _run(settings: Settings, port: int) -> tuple[float, float, float, list[str]]:
    checker = Checker(settings, fetcher=make_fetcher(settings))
    try:
        alone, report = await _timed(checker, f"http://big0.hostile.test:{port}/bigtext")
        timed = await asyncio.gather(
            _timed(checker, f"http://big1.hostile.test:{port}/bigtext"),
            _timed(checker, f"http://big2.hostile.test:{port}/bigtext"),
            # Started once the two are being judged, so it queues for the analysis threads behind them.
            _timed(checker, f"http://normal.hostile.test:{port}/ok", after=1.5),
        )
    finally:
        await checker.aclose()
    codes = sorted({e.code for e in report.errors})
    return alone, max(t for t, _ in timed[:2]), timed[2][0], codes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    alone, pair, normal = [], [], []
    with hostile_server_process() as (address, port):
        hosts = ["big0.hostile.test", "big1.hostile.test", "big2.hostile.test", "normal.hostile.test"]
        settings = Settings(resolve=tuple(ResolveEntry(h, port, address) for h in hosts), allowed_ports=(80, 443, port))
        for i in range(args.runs):
            a, p, n, codes = asyncio.run(_run(settings, port))
            alone.append(a), pair.append(p), normal.append(n)
            print(f"run {i + 1}: one check {a:.1f} s; two at once {p:.1f} s; normal check beside them {n:.1f} s; errors {codes}")
    print(f"check_timeout {settings.check_timeout:.0f} s; medians over {args.runs} runs: one check "
          f"{statistics.median(alone):.1f} s, two at once {statistics.median(pair):.1f} s, "
          f"normal check beside them {statistics.median(normal):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
