#!/usr/bin/env python3
"""How long the second opinion takes: the model's opinion of one site (inference), and training it.

    .venv/bin/python bench/second_opinion_speed.py [--runs 5] [--train]

Inference is timed on every dev page (../shared/data/pages-dev, read the way ./scripts/evaluate serves them) and
on the three saved HTML pages (pages-html, up to 2.7 MB of markup), each as a one-page site, and on a five-page
site made of the largest texts: the median and the worst over all sites, per run, then the median of the runs.
`--train` also times tools/train_model.py train in a fresh process (wall and CPU), writing to a temporary file.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.domains import registrable_domain  # noqa: E402
from app.page import parse_page  # noqa: E402
from app.pipeline import site_from_pages  # noqa: E402
from app.second_opinion import ModelOpinions, load_model  # noqa: E402
from tools.pages_to_warc import DEFAULT_DATA, page_html  # noqa: E402


def sites(data: Path) -> list:
    out = []
    pages = []
    for row in csv.DictReader(open(data / "pages-dev" / "sources.csv", encoding="utf-8")):
        page = parse_page(page_html((data / "pages-dev" / row["file"]).read_text(encoding="utf-8")), row["url"])
        pages.append(page)
        out.append(site_from_pages(row["url"], [page]))
    for path in sorted((data / "pages-html").glob("*.html")):
        domain = path.name.split("__")[1]
        url = f"https://www.{domain}/"
        out.append(site_from_pages(url, [parse_page(path.read_bytes(), url)]))
    largest = sorted(pages, key=lambda p: -len(p.text))[:5]
    out.append(site_from_pages(largest[0].url, largest))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    started = time.perf_counter()
    model = load_model()
    load_ms = (time.perf_counter() - started) * 1000
    opinions = ModelOpinions(model)
    judged = sites(args.data)
    medians, worsts, cpu_medians, cpu_worsts = [], [], [], []
    for _ in range(args.runs):
        times, cpu = [], []
        for site in judged:
            t, c = time.perf_counter(), time.thread_time()
            opinions.opinion_for(site)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
        medians.append(statistics.median(times))
        worsts.append(max(times))
        cpu_medians.append(statistics.median(cpu))
        cpu_worsts.append(max(cpu))
    print(f"model {model.id}: loaded in {load_ms:.0f} ms; {len(judged)} sites x {args.runs} runs")
    print(f"inference per site: median {statistics.median(medians):.2f} ms (runs: "
          f"{', '.join(f'{m:.2f}' for m in medians)}), worst site median over runs {statistics.median(worsts):.2f} ms")
    # CPU time of this thread: what the work costs, whatever else the machine is doing.
    print(f"CPU per site: median {statistics.median(cpu_medians):.2f} ms, worst site {statistics.median(cpu_worsts):.2f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.train:
        with tempfile.TemporaryDirectory() as tmp:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([sys.executable, str(REPO / "tools" / "train_model.py"), "train", "--out", f"{tmp}/m.json"],
                           check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"training (tools/train_model.py train, 10-fold calibration included): {wall:.1f} s wall, {cpu:.1f} s CPU; "
              f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
