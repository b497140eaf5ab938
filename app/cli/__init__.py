"""The `pharmacheck` command: check one site, check a list, serve the API and web page, run queue workers,
manage the store.

Each command is a module of this package with `register(subparsers)`, which adds its parser and sets
`handler`; main() parses, runs the handler and turns every input error into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from app.known_sites import KnownSitesError
from app.netpolicy import FetchError
from app.rules import RulesError
from app.second_opinion import ModelError
from app.settings import SettingsError

from . import batch, check, db, evaluate, graph, keys, lists, rules, serve, worker
from .common import EXIT_OK, EXIT_USAGE, Parser, UsageError, read_urls, settings_from_args

# In the order `pharmacheck --help` lists them.
COMMANDS = [check, batch, evaluate, serve, worker, rules, db, lists, graph, keys]

__all__ = ["main", "build_parser", "settings_from_args", "UsageError", "EXIT_OK", "EXIT_USAGE"]
_read_urls = read_urls  # earlier name, kept for callers


class _VersionAction(argparse.Action):
    """--version names the package and the algorithm its reports carry, which is what a bug report needs."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        parser.exit(EXIT_OK)


def version_line() -> str:
    """The version this environment's reports would carry: the rules and model the settings name, as a check loads them."""
    from importlib.metadata import PackageNotFoundError, version

    from app.pipeline import algorithm_version
    from app.rules import load_rules
    from app.second_opinion import open_opinions
    from app.settings import Settings

    try:
        package = version("pharmacheck")
    except PackageNotFoundError:
        package = "unknown"
    settings = Settings.from_env()
    return f"pharmacheck {package} (algorithm {algorithm_version(load_rules(settings.rules_path), open_opinions(settings))})"


def build_parser() -> Parser:
    parser = Parser(prog="pharmacheck", description="Check whether an online pharmacy is likely legitimate.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and the algorithm version, then exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def _fail(code: str, message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": {"code": code, "message": message}}))
    print(f"pharmacheck: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    from app.store import StoreError

    parser = build_parser()
    given = list(argv if argv is not None else sys.argv[1:])
    as_json = "--json" in given
    if not given:
        # A bare call is someone finding their way: the usage and the commands, not one error line.
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except UsageError as exc:
        return _fail(exc.code, exc.message, as_json)
    except FetchError as exc:
        return _fail(exc.code, exc.message, as_json)
    except (RulesError, ModelError, KnownSitesError, SettingsError, StoreError) as exc:
        return _fail("invalid_option", str(exc), as_json)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`pharmacheck check URL | head`): what it wanted was printed, so no traceback.
        # Standard output is pointed at devnull so the interpreter's own flush at exit cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
