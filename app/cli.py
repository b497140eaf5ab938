"""The `pharmacheck` command: check one site, check a list, or serve the API and web page."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from typing import Sequence

from .known_sites import KnownSitesError
from .netpolicy import FetchError
from .rules import RulesError
from .settings import Settings, SettingsError, parse_resolve

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line and exit 2, the same as every other input error
        raise UsageError("invalid_option", message)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _bounded(lo: int, hi: int, what: str):
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
        if not lo <= number <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be from {lo} to {hi}, got {number}")
        return number

    return parse


# The same bounds as PHARMACHECK_MAX_PAGES and PHARMACHECK_ALLOW_PORTS (app/settings.py).
_port = _bounded(1, 65535, "a port")
_page_budget = _bounded(1, 50, "pages per site")


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _shared_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", metavar="PATH", help="rules file to use instead of the built-in rules.yaml")
    p.add_argument("--known-sites", metavar="FILE", help="CSV domain,label,source of sites known to be legit or rogue")
    p.add_argument("--max-pages", type=_page_budget, metavar="N", help="pages to read per site (default from rules.yaml: 5)")
    p.add_argument("--cacert", metavar="FILE", help="extra CA bundle to trust (PEM)")
    p.add_argument(
        "--resolve", action="append", default=[], metavar="HOST:PORT:ADDRESS",
        help="connect to ADDRESS for HOST:PORT (curl's meaning); the only way a private address is ever reached",
    )
    p.add_argument("--allow-port", action="append", type=_port, default=[], metavar="PORT",
                   help="also allow this destination port besides 80 and 443")
    p.add_argument("--record", metavar="FILE.warc.gz", help="write every request and response, and the report, to a WARC file")
    p.add_argument("--confirm-registries", action="store_true",
                   help="ask each registry a site claims (LegitScript, GPhC, ...) whether it lists the site")
    p.add_argument("--replay", action="append", default=[], metavar="WARC",
                   help="answer every fetch from this WARC file or folder of WARC files; nothing touches the network")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pharmacheck", description="Check whether an online pharmacy is likely legitimate.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check one pharmacy site")
    check.add_argument("url")
    check.add_argument("--json", action="store_true", help="print the JSON report")
    _shared_options(check)

    batch = sub.add_parser("batch", help="check a list of sites (one URL per line)")
    batch.add_argument("file", help="file with one URL per line ('-' for standard input)")
    batch.add_argument("--concurrency", type=_positive_int, default=4, metavar="N")
    batch.add_argument("--out", metavar="FILE", help="write JSON lines here instead of standard output")
    batch.add_argument("--json", action="store_true", help="print the summary as JSON")
    _shared_options(batch)

    evaluate = sub.add_parser("eval", help="measure accuracy on a labelled list of sites (CSV url,label)")
    evaluate.add_argument("labels", help="CSV file with the columns url,label (label legit or rogue)")
    evaluate.add_argument("--concurrency", type=_positive_int, default=8, metavar="N")
    evaluate.add_argument("--json", action="store_true", help="print the measures as JSON")
    evaluate.add_argument("--show-misses", type=_count, default=25, metavar="N",
                          help="list at most N of each kind of unconfident answer (errors are always listed in full)")
    evaluate.add_argument("--max-false-accusations", type=_count, default=None, metavar="N",
                          help="exit with status 1 when more than N legit sites are called likely_rogue")
    _shared_options(evaluate)

    serve = sub.add_parser("serve", help="run the web page and JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    _shared_options(serve)

    rules = sub.add_parser("rules", help="print the published scoring table as JSON")
    rules.add_argument("--rules", metavar="PATH")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    base = Settings.from_env()
    try:
        resolve = tuple(parse_resolve(v) for v in getattr(args, "resolve", []) or []) or base.resolve
    except SettingsError as exc:
        raise UsageError("invalid_option", str(exc)) from None
    ports = tuple(sorted(set(base.allowed_ports) | set(getattr(args, "allow_port", []) or [])))
    return base.with_(
        rules_path=getattr(args, "rules", None) or base.rules_path,
        known_sites_path=getattr(args, "known_sites", None) or base.known_sites_path,
        max_pages=getattr(args, "max_pages", None) or base.max_pages,
        cacert=getattr(args, "cacert", None) or base.cacert,
        resolve=resolve,
        allowed_ports=ports,
        record_path=getattr(args, "record", None),
        replay_paths=tuple(getattr(args, "replay", []) or []) or base.replay_paths,
        confirm_registries=getattr(args, "confirm_registries", False) or base.confirm_registries,
    )


def _fail(code: str, message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": {"code": code, "message": message}}))
    print(f"pharmacheck: error: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _check_one(settings: Settings, url: str, as_json: bool) -> int:
    from .render import render_text
    from .service import open_checker

    async with open_checker(settings) as checker:
        report = await checker.check(url)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        print(render_text(report))
    return EXIT_OK


def _read_urls(path: str) -> list[str]:
    try:
        # utf-8-sig: files saved by Windows editors start with a byte order mark that would glue onto the first URL.
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8-sig")
        with handle:
            lines = [line.strip().lstrip("\ufeff") for line in handle]
    except OSError as exc:
        raise UsageError("invalid_option", f"{path}: cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError("invalid_option", f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return [line for line in lines if line and not line.startswith("#")]


async def _batch(settings: Settings, args: argparse.Namespace) -> int:
    from .batch import run_batch

    urls = _read_urls(args.file)
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


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from .evaluate import LabelsError, evaluate, read_labels, render_summary

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
                                    progress=progress if sys.stderr.isatty() else None)
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


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from .api.main import create_app

    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    as_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        if args.command == "rules":
            from .rules import load_rules
            from .scoring import scoring_table

            print(json.dumps(scoring_table(load_rules(args.rules)), indent=2))
            return EXIT_OK
        settings = settings_from_args(args)
        if args.command == "check":
            return asyncio.run(_check_one(settings, args.url, args.json))
        if args.command == "batch":
            return asyncio.run(_batch(settings, args))
        if args.command == "eval":
            return _eval(settings, args)
        if args.command == "serve":
            return _serve(settings, args)
    except UsageError as exc:
        return _fail(exc.code, exc.message, as_json)
    except FetchError as exc:
        return _fail(exc.code, exc.message, as_json)
    except (RulesError, KnownSitesError, SettingsError) as exc:
        return _fail("invalid_option", str(exc), as_json)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`pharmacheck check URL | head`): what it wanted was printed, so no traceback.
        # Standard output is pointed at devnull so the interpreter's own flush at exit cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
