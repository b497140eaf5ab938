"""`pharmacheck batch FILE`: many sites, one JSON report per line, counts at the end."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter

from .common import EXIT_OK, UsageError, positive_int, read_urls, command_line_settings, shared_options


def register(sub) -> None:
    batch = sub.add_parser("batch", help="check a list of sites (one URL per line)")
    batch.add_argument("file", help="file with one URL per line ('-' for standard input)")
    batch.add_argument("--concurrency", type=positive_int, default=4, metavar="N")
    batch.add_argument("--out", metavar="FILE", help="write JSON lines here instead of standard output")
    batch.add_argument("--json", action="store_true", help="print the summary as JSON")
    shared_options(batch)
    batch.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_batch(command_line_settings(args), args))


async def _batch(settings, args: argparse.Namespace) -> int:
    from app.batch import run_batch

    urls = read_urls(args.file)
    try:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    except OSError as exc:
        raise UsageError("invalid_option", f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    show_progress = sys.stderr.isatty()
    counts: Counter = Counter()
    try:
        async for line, verdict in run_batch(settings, urls, concurrency=args.concurrency, progress=show_progress):
            out.write(line + "\n")
            out.flush()
            counts[verdict] += 1
    finally:
        if out is not sys.stdout:
            out.close()
    summary = {"checked": sum(counts.values()), "verdicts": dict(sorted(counts.items()))}
    if args.json:
        print(json.dumps(summary), file=sys.stderr)
    else:
        checked = summary["checked"]
        line = f"checked {checked} site{'' if checked == 1 else 's'}"
        if summary["verdicts"]:
            line += ": " + ", ".join(f"{k} {v}" for k, v in summary["verdicts"].items())
        print(line, file=sys.stderr)
    return EXIT_OK
