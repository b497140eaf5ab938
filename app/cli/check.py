"""`pharmacheck check URL`: one site, as a readable report or as JSON."""

from __future__ import annotations

import argparse
import asyncio

from .common import EXIT_OK, command_line_settings, shared_options


def register(sub) -> None:
    check = sub.add_parser("check", help="check one pharmacy site")
    check.add_argument("url")
    check.add_argument("--json", action="store_true", help="print the JSON report")
    shared_options(check)
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_check_one(command_line_settings(args), args.url, args.json))


async def _check_one(settings, url: str, as_json: bool) -> int:
    from app.render import render_text
    from app.service import open_checker

    async with open_checker(settings) as checker:
        report = await checker.check(url)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        print(render_text(report))
    return EXIT_OK
