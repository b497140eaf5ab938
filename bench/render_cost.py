"""What rendering costs, how often it is chosen, and that a rendered page reaches nothing inside.

Run from the project root:  python -m bench.render_cost [--rounds 5]

1. Render time per page (median, p95) with the browser already running: the fixture storefront that builds
   itself in JavaScript (its scripts and stylesheet served on loopback) and the three real pages of
   ../shared/data/pages-html (their sub-resources on the internet are refused: the resolver answers nothing,
   so nothing leaves the machine). Screenshots on, as the service takes them.
2. Peak memory of the browser processes (proportional set size, summed) with 4 renders in flight.
3. The share of dev pages for which rendering is chosen (app.page.looks_script_built): the raw HTML pages, and
   for the page texts of data/pages-dev (no markup, so no scripts) how many show as little text as a
   script-built page does.
4. A rendered page that calls an internal service every way a page can: the canary must see no connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHARMACHECK_SHARED", ROOT.parent / "shared")) / "data"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def html_pages() -> list[tuple[str, bytes]]:
    folder = SHARED / "pages-html"
    return [("https://www." + p.name.split("__")[1] + "/", p.read_bytes()) for p in sorted(folder.glob("*.html"))] if folder.is_dir() else []


def choice_share() -> dict:
    from app.page import SCRIPT_BUILT_TEXT, looks_script_built, page_from_text, parse_page

    out: dict = {}
    pages = html_pages()
    chosen = [url for url, body in pages if looks_script_built(parse_page(body, url))]
    out["html_pages"] = {"pages": len(pages), "rendered": len(chosen), "which": chosen}
    texts = sorted((SHARED / "pages-dev").rglob("*.txt")) if (SHARED / "pages-dev").is_dir() else []
    little = [p.name for p in texts if len(page_from_text(p.read_text(encoding="utf-8", errors="replace"), "https://x.example/").text) < SCRIPT_BUILT_TEXT]
    out["page_texts"] = {"pages": len(texts), "as_little_text_as_a_script_built_page": len(little), "which": little}
    return out


async def render_costs(rounds: int) -> dict:
    from app.browser import Renderer, browser_processes_rss
    from app.fetch import FetchResult
    from tests.fetch_helpers import RecordingResolver, make_fetcher
    from tests.fixture_server import FixtureSites

    sites = FixtureSites(Path(tempfile.mkdtemp()), hosts=["script-pills.test"])
    settings = sites.settings(screenshots=True)
    fetcher = make_fetcher(settings, RecordingResolver())
    renderer = Renderer(settings, fetcher)
    try:
        storefront = await fetcher.fetch(sites.url("script-pills.test"))
        pages = [storefront] + [
            FetchResult(requested_url=url, url=url, status=200, content_type="text/html; charset=utf-8", body=body, elapsed_ms=0)
            for url, body in html_pages()
        ]
        await renderer.start()
        times: dict[str, list[float]] = {p.url: [] for p in pages}
        errors: dict[str, int] = {}
        for _ in range(rounds):
            for page in pages:
                rendered = await renderer.render(page, deadline=time.monotonic() + 30, screenshot=True)
                times[page.url].append(rendered.elapsed_ms)
                if rendered.error:
                    errors[rendered.error] = errors.get(rendered.error, 0) + 1
        everything = [t for ts in times.values() for t in ts]
        # Four at once, sampling the browser's memory every 100 ms.
        peak = 0
        sampling = True

        async def sample():
            nonlocal peak
            while sampling:
                peak = max(peak, browser_processes_rss())
                await asyncio.sleep(0.1)

        sampler = asyncio.ensure_future(sample())
        concurrent: list[float] = []
        for _ in range(rounds):
            batch = [pages[i % len(pages)] for i in range(4)]
            started = time.monotonic()
            await asyncio.gather(*(renderer.render(p, deadline=time.monotonic() + 60, screenshot=True) for p in batch))
            concurrent.append((time.monotonic() - started) * 1000)
        sampling = False
        await sampler
        return {
            "renders": len(everything),
            "render_ms_median": statistics.median(everything),
            "render_ms_p95": _p95(everything),
            "per_page_median_ms": {url: statistics.median(ts) for url, ts in times.items()},
            "four_in_flight_batch_ms_median": statistics.median(concurrent),
            "peak_browser_memory_mib_four_in_flight": round(peak / 2**20),
            "browser_restarts": renderer.restarts,
            "errors_alone": errors,
        }
    finally:
        await renderer.aclose()
        await fetcher.aclose()
        sites.close()


async def forgery_with_rendering() -> dict:
    from app.pipeline import Checker
    from tests.fetch_helpers import hostile_settings, make_fetcher
    from tests.hostile_server import Canary, HostileServer
    from tests.test_fetch_forgery import forged_urls

    hostile, canary = HostileServer(), Canary()
    try:
        # Spellings a page can use as a sub-resource (not the over-long ones: those are refused before any page).
        targets = [u for u in forged_urls(canary.port) if u.startswith("http") and "\r" not in u and " " not in u and len(u) < 300]
        settings = hostile_settings(hostile, canary, max_pages=1, check_timeout=60.0, page_timeout=5.0, render_timeout=30.0)
        refused = 0
        pages = 0
        async with Checker(settings, fetcher=make_fetcher(settings)) as checker:
            # A page's address holds as many targets as fit under the URL length limit; every forged spelling
            # is tried on some page.
            batches: list[list[str]] = [[]]
            for target in targets:
                trial = batches[-1] + [target]
                if batches[-1] and len(hostile.url("/spa/forgery?" + "&".join("to=" + quote(u, safe="") for u in trial))) > 1900:
                    batches.append([target])
                else:
                    batches[-1] = trial
            for batch in batches:
                query = "&".join("to=" + quote(u, safe="") for u in batch)
                report = await checker.check(hostile.url("/spa/forgery?" + query))
                pages += 1
                refused += len(report.refused_requests)
                assert report.pages[0].rendered, report.errors
        await asyncio.sleep(1)
        return {"rendered_pages": pages, "forged_targets": len(targets), "refused_requests_listed": refused,
                "canary_connections": canary.connections}
    finally:
        hostile.close()
        canary.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["choice", "cost", "forgery"], help="measure one part only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from app.browser import unavailable_reason
    from app.settings import Settings

    result = {}
    if args.only in (None, "choice"):
        result["choice"] = choice_share()
    problem = unavailable_reason(Settings())
    if problem:
        result["rendering"] = f"not measured: {problem}"
    else:
        if args.only in (None, "forgery"):
            result["forgery"] = asyncio.run(forgery_with_rendering())
            print(json.dumps(result["forgery"]), file=sys.stderr, flush=True)
        if args.only in (None, "cost"):
            result["cost"] = asyncio.run(render_costs(args.rounds))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
