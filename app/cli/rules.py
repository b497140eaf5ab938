"""`pharmacheck rules`: the published scoring table as JSON."""

from __future__ import annotations

import argparse
import json

from .common import EXIT_OK


def register(sub) -> None:
    rules = sub.add_parser("rules", help="print the published scoring table as JSON")
    rules.add_argument("--rules", metavar="PATH")
    rules.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.rules import load_rules
    from app.scoring import scoring_table

    print(json.dumps(scoring_table(load_rules(args.rules)), indent=2))
    return EXIT_OK
