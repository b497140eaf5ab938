"""How long the analysis takes: per page (parse + every check + scoring) and end to end on a loopback site.

Usage:
    .venv/bin/python bench/analysis_speed.py [DATA_DIR] [--repeat N] [--per-check]

1. For each raw HTML page in DATA_DIR/pages-html: parse it (app.page.parse_page), build a one-page site, run
   every check and score it (app.pipeline.judge_site). Each page is analysed N times; the median is reported,
   split into parse and checks+scoring, as wall time and as CPU time of this process (on a machine shared with
   other work the wall time grows with the load average; the CPU time much less).
2. A full check of each fixture site in tests/sites, served over HTTPS on loopback by tests/fixture_server.py and
   reached through --resolve/--cacert settings exactly as a user would: fetch, crawl, parse, check, score.
   Median over N runs (a fresh Checker each run, so connections are not reused).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.page import parse_page  # noqa: E402
from app.pipeline import Checker, judge_site, site_from_pages  # noqa: E402
from app.rules import load_rules  # noqa: E402


def default_data_dir() -> Path:
    shared = Path(os.environ.get("PHARMACHECK_SHARED", ROOT.parent / "shared"))
    return shared / "data"


def page_urls(html_dir: Path) -> dict[str, str]:
    """Original URL of each saved page (from the `source` column), falling back to its domain."""
    urls = {}
    sources = html_dir / "sources.csv"
    if sources.exists():
        with sources.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                m = next((w for w in row.get("source", "").replace("(", " ").replace(")", " ").split() if w.startswith("https://")), None)
                urls[row["file"]] = m.rstrip(",") if m else ""
    for path in html_dir.glob("*.html"):
        if not urls.get(path.name):
            domain = path.name.split("__")[1] if "__" in path.name else "example.com"
            urls[path.name] = f"https://www.{domain}/"
    return urls


def bench_pages(html_dir: Path, repeat: int) -> None:
    rules = load_rules()
    urls = page_urls(html_dir)
    print(f"Per-page analysis, median of {repeat} runs ({html_dir})")
    print(f"{'page':48} {'KB':>6} {'parse ms':>9} {'checks ms':>10} {'total ms':>9} {'parse CPU':>10} {'checks CPU':>11}")
    totals = []
    for path in sorted(html_dir.glob("*.html")):
        html = path.read_bytes()
        parse_times, check_times, parse_cpu, check_cpu = [], [], [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            page = parse_page(html, urls[path.name])
            t1, c1 = time.perf_counter(), time.process_time()
            judge_site(rules, site_from_pages(urls[path.name], [page]))
            t2, c2 = time.perf_counter(), time.process_time()
            parse_times.append((t1 - t0) * 1000)
            check_times.append((t2 - t1) * 1000)
            parse_cpu.append((c1 - c0) * 1000)
            check_cpu.append((c2 - c1) * 1000)
        p, c = statistics.median(parse_times), statistics.median(check_times)
        totals.append(p + c)
        print(f"{path.name[:48]:48} {len(html) // 1024:>6} {p:>9.1f} {c:>10.1f} {p + c:>9.1f} "
              f"{statistics.median(parse_cpu):>10.1f} {statistics.median(check_cpu):>11.1f}")
    if totals:
        print(f"median over pages: {statistics.median(totals):.1f} ms")


def bench_checks(html_dir: Path, repeat: int) -> None:
    """CPU time of each check alone on each page, to see which one a slow total comes from."""
    from app.pipeline import ALL_CHECKS

    rules = load_rules()
    urls = page_urls(html_dir)
    print(f"\nCPU ms per check, median of {repeat} runs (checks under 1 ms left out)")
    for path in sorted(html_dir.glob("*.html")):
        page = parse_page(path.read_bytes(), urls[path.name])
        times: dict[str, list[float]] = {check.id: [] for check in ALL_CHECKS}
        for _ in range(repeat):
            site = site_from_pages(urls[path.name], [page])
            for check in ALL_CHECKS:
                c0 = time.process_time()
                list(check.run(site, rules.config_for(check.id)) or ())
                times[check.id].append((time.process_time() - c0) * 1000)
        medians = sorted(((statistics.median(v), k) for k, v in times.items()), reverse=True)
        print(f"{path.name[:48]:48} " + ", ".join(f"{k} {m:.0f}" for m, k in medians if m >= 1))


def bench_end_to_end(repeat: int) -> None:
    from tests.fixture_server import FixtureSites, site_hosts

    with tempfile.TemporaryDirectory() as tmp:
        server = FixtureSites(Path(tmp))
        try:
            print(f"\nEnd-to-end check of a loopback fixture site (HTTPS, test CA), median of {repeat} runs")
            print(f"{'site':28} {'pages':>5} {'median ms':>10}")
            for host in site_hosts():
                times, pages = [], 0
                for _ in range(repeat):
                    async def once():
                        async with Checker(server.settings()) as checker:
                            return await checker.check(server.url(host))

                    t0 = time.perf_counter()
                    report = asyncio.run(once())
                    times.append((time.perf_counter() - t0) * 1000)
                    pages = len([p for p in report.pages if not p.error])
                print(f"{host:28} {pages:>5} {statistics.median(times):>10.1f}")
        finally:
            server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--per-check", action="store_true", help="also time each check alone on each page (CPU)")
    args = parser.parse_args(argv)
    html_dir = args.data_dir / "pages-html"
    if html_dir.is_dir():
        bench_pages(html_dir, args.repeat)
        if args.per_check:
            bench_checks(html_dir, args.repeat)
    else:
        print(f"{html_dir} not found: skipping the per-page benchmark", file=sys.stderr)
    bench_end_to_end(args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
