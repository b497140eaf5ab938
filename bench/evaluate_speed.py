#!/usr/bin/env python3
"""How long `pharmacheck eval` takes on the whole domain list with an empty archive (target: under 2 minutes).

Builds the labels with tools/domains_to_labels.py, then runs the eval command RUNS times as a fresh process
(what CI and a user run) and prints each wall-clock time and the median.

    python bench/evaluate_speed.py [--runs 5] [--concurrency 8] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
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

from tools.domains_to_labels import DEFAULT_DATA, build  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not (args.data / "nabp" / "domains-dev.csv").is_file():
        print(f"skipped: {args.data}/nabp/domains-dev.csv is not present (the shared data set sits beside the project)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        labels, empty, count = build(args.data, Path(tmp))
        command = [sys.executable, "-m", "app.cli", "eval", str(labels), "--replay", str(empty),
                   "--concurrency", str(args.concurrency), "--json", "--show-misses", "0"]
        times, cpu = [], []
        for run in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
            times.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU time is steadier than wall time on a machine shared with other work.
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            print(f"run {run + 1}: {times[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU")
    print(f"{count} URLs, concurrency {args.concurrency}: median {statistics.median(times):.2f} s wall "
          f"(min {min(times):.2f}, max {max(times):.2f}), median {statistics.median(cpu):.2f} s CPU, {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
