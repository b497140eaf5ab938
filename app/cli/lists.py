"""`pharmacheck lists update|import|status|remove|show`: the reputation lists checks are judged against."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path

from .common import EXIT_OK, EXIT_USAGE, Parser, UsageError, data_options, port, settings_from_args


def register(sub) -> None:
    lists = sub.add_parser("lists", help="download, import and show the reputation lists (NABP, FDA, your own)")
    actions = lists.add_subparsers(dest="lists_command", required=True, parser_class=Parser)

    update = actions.add_parser("update", help="download lists from their official public addresses")
    update.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="nabp_not_recommended, nabp_accredited, fda_warning_letters (default: all three)")
    update.add_argument("--from", dest="from_url", metavar="URL",
                        help="download the one SOURCE given from this address instead of its official one")
    update.add_argument("--cacert", metavar="FILE", help="extra CA bundle to trust (PEM)")
    update.add_argument("--resolve", action="append", default=[], metavar="HOST:PORT:ADDRESS")
    update.add_argument("--allow-port", action="append", type=port, default=[], metavar="PORT")
    update.add_argument("--json", action="store_true")
    data_options(update)

    load = actions.add_parser("import", help="load a list from a file (CSV, plain text, NABP's workbook or page)")
    load.add_argument("source", metavar="SOURCE",
                      help="nabp_not_recommended, nabp_accredited, fda_warning_letters, or user:NAME for a list of your own")
    load.add_argument("file", metavar="FILE")
    load.add_argument("--label", choices=("rogue", "legit"), help="for a user list: the label of rows that give none")
    load.add_argument("--snapshot-date", metavar="YYYY-MM-DD", help="the date the list is as of, when the file does not say")
    load.add_argument("--fresh-days", type=int, metavar="N", help="days the list stays current (default: the source's own)")
    load.add_argument("--json", action="store_true")
    data_options(load)

    status = actions.add_parser("status", help="which lists are loaded, from where, and how old they are")
    status.add_argument("--json", action="store_true")
    data_options(status)

    remove = actions.add_parser("remove", help="remove a loaded list")
    remove.add_argument("source", metavar="SOURCE")
    data_options(remove)

    show = actions.add_parser("show", help="the lists' entries for a domain (its source rows)")
    show.add_argument("domain")
    show.add_argument("--json", action="store_true")
    data_options(show)
    lists.set_defaults(handler=run)


def _store(args):
    from app.lists.store import ListStore
    from app.store import open_database

    return ListStore(open_database(settings_from_args(args).effective_database_url))


def run(args: argparse.Namespace) -> int:
    from app.lists.sources import ListFileError

    try:
        return {"update": _update, "import": _import, "status": _status, "remove": _remove, "show": _show}[args.lists_command](args)
    except ListFileError as exc:
        raise UsageError("invalid_list", str(exc)) from None


def _info_json(info) -> dict:
    return {
        "source": info.source, "title": info.title, "label": info.label, "origin": info.origin, "method": info.method,
        "loaded_at": info.loaded_at.isoformat(timespec="seconds"),
        "snapshot_date": info.snapshot_date.isoformat() if info.snapshot_date else None,
        "fresh_days": info.fresh_days, "entries": info.entry_count, "age_days": info.age_days(), "stale": info.stale(),
    }


def _loaded_line(info, parsed) -> str:
    skipped = []
    if parsed.skipped_other:
        skipped.append(f"{parsed.skipped_other:,} rows of other lists skipped")
    if parsed.skipped_invalid:
        skipped.append(f"{parsed.skipped_invalid:,} rows without a valid domain skipped")
    when = f"as of {info.snapshot_date.isoformat()}" if info.snapshot_date else "no date stated"
    return (f"{info.source}: {info.entry_count:,} domains, {when}, from {info.origin}"
            + (f" ({'; '.join(skipped)})" if skipped else "") + (" [stale]" if info.stale() else ""))


def _update(args) -> int:
    from app.lists.sources import SOURCES, ListFileError
    from app.lists.update import update

    sources = args.sources or list(SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise UsageError("invalid_option", f"lists update: unknown source {unknown[0]!r}; expected {', '.join(SOURCES)} "
                                           "(your own lists are loaded with 'lists import user:NAME FILE')")
    if args.from_url and len(sources) != 1:
        raise UsageError("invalid_option", "lists update --from URL: name exactly one SOURCE to download from it")
    settings = settings_from_args(args)
    urls = {sources[0]: args.from_url} if args.from_url else {}
    results = asyncio.run(update(settings, _store(args), sources, urls))
    failed = [r for r in results if isinstance(r, ListFileError)]
    if args.json:
        print(json.dumps({"updated": [_info_json(r.info) for r in results if not isinstance(r, ListFileError)],
                          "failed": [str(r) for r in failed]}, indent=2))
    for r in results:
        if isinstance(r, ListFileError):
            print(f"pharmacheck: error: {r}", file=sys.stderr)
        elif not args.json:
            print(_loaded_line(r.info, r.parsed))
    return EXIT_USAGE if failed else EXIT_OK


def _import(args) -> int:
    from app.lists.sources import ListFileError, parse_date, parse_file, source_for

    source_for(args.source)  # a clear error for a name that is neither a source nor user:NAME
    path = Path(args.file)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ListFileError(f"{args.file}: cannot read file: {exc.strerror or exc}") from None
    snapshot = None
    if args.snapshot_date:
        snapshot = parse_date(args.snapshot_date)
        if snapshot is None or snapshot > date.today():
            raise UsageError("invalid_option", f"--snapshot-date {args.snapshot_date!r}: expected a past date as YYYY-MM-DD")
    if args.fresh_days is not None and not 1 <= args.fresh_days <= 3650:
        raise UsageError("invalid_option", f"--fresh-days must be from 1 to 3650, got {args.fresh_days}")
    parsed = parse_file(args.source, body, args.file, label=args.label)
    info = _store(args).replace(args.source, parsed, origin=str(path.resolve()), method="import", content=body,
                                fresh_days=args.fresh_days, snapshot_override=snapshot)
    if args.json:
        print(json.dumps(_info_json(info), indent=2))
    else:
        print(_loaded_line(info, parsed))
    for note in parsed.notes:
        print(f"pharmacheck: note: {note}", file=sys.stderr)
    return EXIT_OK


def _status(args) -> int:
    from app.lists.sources import SOURCES
    from app.store.db import safe_url

    settings = settings_from_args(args)
    lists = _store(args).lists()
    if args.json:
        print(json.dumps({"database": safe_url(settings.effective_database_url),
                          "lists": [_info_json(i) for i in lists]}, indent=2))
        return EXIT_OK
    print(f"database  {safe_url(settings.effective_database_url)}")
    if not lists:
        print("no reputation list is loaded: run 'pharmacheck lists update' (or 'pharmacheck lists import SOURCE FILE')")
        return EXIT_OK
    for info in lists:
        when = info.snapshot_date.isoformat() if info.snapshot_date else "date not stated"
        fresh = f", current for {info.fresh_days} days" if info.fresh_days else ""
        state = "STALE" if info.stale() else "current" if info.fresh_days else "no freshness stated"
        print(f"{info.source:<22} {info.entry_count:>7,} domains  as of {when} ({info.age_days()} days old{fresh}: {state})")
        print(f"{'':<22} {info.method}ed {info.loaded_at.isoformat(timespec='seconds')} from {info.origin}")
    missing = [s for s in SOURCES if s not in {i.source for i in lists}]
    if missing:
        print(f"not loaded: {', '.join(missing)}")
    return EXIT_OK


def _remove(args) -> int:
    from app.lists.sources import source_for

    source_for(args.source)
    if not _store(args).remove(args.source):
        raise UsageError("invalid_option", f"lists remove: no list {args.source!r} is loaded (see 'pharmacheck lists status')")
    print(f"{args.source}: removed")
    return EXIT_OK


def _show(args) -> int:
    from app.lists.domains import lookup_keys

    store = _store(args)
    keys = [k for k, _ in lookup_keys(args.domain)]
    if not keys:
        raise UsageError("invalid_option", f"lists show: {args.domain!r} is not a domain name")
    found = []
    for info in store.lists():
        for key in keys:
            for entry, row in store.entries_of(info.source, key):
                found.append({"list": info.source, "as_of": info.as_of.isoformat(), "domain": entry.domain,
                              "label": entry.label, "type": entry.type, "name": entry.name, "source_row": row})
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print(f"{args.domain}: on none of the loaded lists")
    for item in found if not args.json else []:
        extra = f" as {item['type']}" if item["type"] else ""
        print(f"{item['domain']}: {item['label']}{extra} on {item['list']} (as of {item['as_of']})\n    {item['source_row'][:300]}")
    return EXIT_OK
