"""`pharmacheck db status|upgrade`: which database pharmacheck uses and whether its schema is current."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, Parser, data_options, settings_from_args


def register(sub) -> None:
    db = sub.add_parser("db", help="show or upgrade the database pharmacheck keeps reports and lists in")
    actions = db.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    status = actions.add_parser("status", help="which database is used, its schema revision and its tables")
    data_options(status)
    upgrade = actions.add_parser("upgrade", help="bring the schema up to date (done on every start as well)")
    data_options(upgrade)
    db.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.store.db import Database, safe_url

    settings = settings_from_args(args)
    url = settings.effective_database_url
    database = Database(url, migrate=args.db_command == "upgrade")
    try:
        current, head = database.revisions()
        print(f"database  {safe_url(url)}")
        print(f"schema    {current or 'empty'}" + ("" if current == head else f" (this version of pharmacheck expects {head}; "
                                                        "run 'pharmacheck db upgrade')"))
        if current:
            print(f"tables    {', '.join(t for t in database.tables() if t != 'alembic_version')}")
    finally:
        database.dispose()
    return EXIT_OK
