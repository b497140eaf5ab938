"""`pharmacheck eval LABELS`: accuracy on a labelled list of sites."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .common import EXIT_OK, UsageError, count, positive_int, settings_from_args, shared_options


def register(sub) -> None:
    evaluate = sub.add_parser("eval", help="measure accuracy on a labelled list of sites (CSV url,label)")
    evaluate.add_argument("labels", help="CSV file with the columns url,label (label legit or rogue)")
    evaluate.add_argument("--concurrency", type=positive_int, default=8, metavar="N")
    evaluate.add_argument("--json", action="store_true", help="print the measures as JSON")
    evaluate.add_argument("--show-misses", type=count, default=25, metavar="N",
                          help="list at most N of each kind of unconfident answer (errors are always listed in full)")
    evaluate.add_argument("--max-false-accusations", type=count, default=None, metavar="N",
                          help="exit with status 1 when more than N legit sites are called likely_rogue")
    evaluate.add_argument("--graph", action="store_true",
                          help="use the identity graph and record every site's identity facts in the data folder "
                               "(give a throw-away --data-dir); with --leave-one-site-out every site is read once "
                               "before the measured pass, so each is judged with all the others in the graph")
    evaluate.add_argument("--leave-one-site-out", action="store_true",
                          help="judge each site with its own reputation-list entries left out, so the measures say "
                               "what the lists and the graph catch about sites they do not list")
    shared_options(evaluate)
    evaluate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.evaluate import LabelsError, evaluate, read_labels, render_summary

    # A measurement must not leave thousands of reports behind in the user's store, nor be judged by what
    # earlier checks stored there.
    settings = settings_from_args(args).with_(store_reports=False, identity_graph=args.graph,
                                              record_identities=args.graph,
                                              lists_leave_out_own=args.leave_one_site_out)
    try:
        sites = read_labels(args.labels)
    except LabelsError as exc:
        raise UsageError("invalid_option", str(exc)) from None

    def progress(done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            sys.stderr.write(f"\r{done}/{total} checked")
            sys.stderr.write("\n" if done == total else "")
            sys.stderr.flush()

    async def measure() -> dict:
        evaluation = await evaluate(settings, sites, concurrency=args.concurrency,
                                    progress=progress if sys.stderr.isatty() else None,
                                    prime=args.graph and args.leave_one_site_out)
        return evaluation.summary(show_misses=args.show_misses)

    # asyncio.run formats its main task, result included, when it puts back the Ctrl-C handler (CPython 3.11's
    # signal module reprs the handler it replaces), so the task returns the small summary, never 23,000 reports.
    summary = asyncio.run(measure())
    print(json.dumps(summary, indent=2) if args.json else render_summary(summary))
    limit = args.max_false_accusations
    if limit is not None and summary["false_accusations"]["count"] > limit:
        print(f"pharmacheck: {summary['false_accusations']['count']} legit sites called likely_rogue (allowed: {limit})", file=sys.stderr)
        return 1
    return EXIT_OK
