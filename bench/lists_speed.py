#!/usr/bin/env python3
"""What the reputation lists cost a check: with 45,000 listed domains in the store, the list step of one check
(targets: under 5 ms per check; at least 1,000 checks/s over a batch of 20,000 domains).

Builds a throw-away SQLite store holding three lists of synthetic domains (no real list is needed), then
measures, each as a median over repeated runs:
- loading the lists into the store, and loading the store into the in-process index;
- the list step of one check: matching the site (its address, registrable domain, redirects) in the index and
  running the `lists` check on the matches, for 20,000 domains, half of them listed (checks/s over the batch);
- one whole judgement (every check) of a real fixture page with the 45,000-domain index and with no list, and
  the difference between the two;
- the store query a running service makes every `lists_refresh_interval` seconds to see whether the lists changed.

    python bench/lists_speed.py [--entries 45000] [--batch 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.lists.index import ListIndex, site_hosts  # noqa: E402
from app.lists.sources import ParsedEntry, ParsedList  # noqa: E402
from app.lists.store import ListStore  # noqa: E402
from app.page import parse_page  # noqa: E402
from app.pipeline import judge_site, site_from_pages  # noqa: E402
from app.rules import load_rules  # noqa: E402
from app.store import Database  # noqa: E402
from checks import lists as lists_check  # noqa: E402


def _domains(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    tlds = ["com", "net", "org", "co.uk", "pharmacy", "ru", "in", "biz"]
    return [f"{''.join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 16)))}{i}.{rng.choice(tlds)}" for i in range(n)]


def _median_ms(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=45_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rules = load_rules()
    config = rules.config_for("lists")
    with tempfile.TemporaryDirectory() as tmp:
        store = ListStore(Database(f"sqlite:///{tmp}/bench.db"))
        listed = _domains(args.entries, 1)
        split = [("nabp_not_recommended", "rogue", listed[: int(args.entries * 0.95)]),
                 ("nabp_accredited", "legit", listed[int(args.entries * 0.95): -500]),
                 ("fda_warning_letters", "rogue", listed[-500:])]

        def load():
            for source, label, domains in split:
                entries = [ParsedEntry(d, label, "pharmacy" if label == "legit" else "", "", f"{d},{label}") for d in domains]
                store.replace(source, ParsedList(entries), origin="bench", method="import", content=b"bench")

        load_ms, _ = _median_ms(load, max(1, args.runs // 2))
        index = ListIndex(store, refresh_interval=5.0)
        index_ms, _ = _median_ms(lambda: index.refresh(force=True), args.runs)
        signature_ms, _ = _median_ms(store.signature, 50)

        rng = random.Random(2)
        unlisted = _domains(args.batch, 3)
        batch = [rng.choice(listed) if i % 2 else unlisted[i] for i in range(args.batch)]
        urls = [f"https://www.{d}/" for d in batch]
        page = parse_page("<p>Online pharmacy</p>", "https://x.example/")
        sites = [site_from_pages(u, [page]) for u in urls]

        def list_step():
            for site in sites:
                site.list_matches, site.lists_consulted = index.match(site_hosts(site.requested_url, site.final_url, []))
                lists_check.CHECK.run(site, config)

        batch_runs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            list_step()
            batch_runs.append(time.perf_counter() - start)
        batch_s = statistics.median(batch_runs)

        html = (REPO / "tests" / "sites" / "us-pharmacy.test" / "index.html").read_text(encoding="utf-8")
        url = "https://us-pharmacy.test/"
        fixture = parse_page(html, url)
        empty = ListIndex()

        def judge(with_index):
            site = site_from_pages(url, [fixture], lists=with_index)
            judge_site(rules, site)

        judge(index)
        judge(empty)
        pairs = []
        for _ in range(max(50, args.runs * 20)):  # alternate, so machine load affects both alike
            with_lists, _ = _median_ms(lambda: judge(index), 1)
            without, _ = _median_ms(lambda: judge(empty), 1)
            pairs.append((with_lists, without))
        judge_with = statistics.median(p[0] for p in pairs)
        judge_without = statistics.median(p[1] for p in pairs)

    print(f"lists in the store: {args.entries:,} domains in 3 lists")
    print(f"load the lists into the store (median of {max(1, args.runs // 2)}): {load_ms:,.0f} ms")
    print(f"load the store into the index (median of {args.runs}): {index_ms:,.0f} ms, {index.snapshot.entry_count:,} entries")
    print(f"store query to see whether the lists changed (median of 50, once per refresh interval): {signature_ms:.2f} ms")
    print(f"list step over a batch of {args.batch:,} domains (half listed), median of {args.runs}: {batch_s:.2f} s = "
          f"{args.batch / batch_s:,.0f} checks/s, {1000 * batch_s / args.batch:.3f} ms per check")
    print(f"one whole judgement of tests/sites/us-pharmacy.test, median of {len(pairs)}: {judge_with:.2f} ms with the "
          f"{args.entries:,}-domain index, {judge_without:.2f} ms with no list: {judge_with - judge_without:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
