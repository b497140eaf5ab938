"""What every `pharmacheck` command shares: exit codes, one-line errors, option types and the options that
build Settings."""

from __future__ import annotations

import argparse
import sys

from app.settings import Settings, SettingsError, parse_resolve

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(Exception):
    """Input the command cannot use; main() prints it as one line and exits 2."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line and exit 2, the same as every other input error
        raise UsageError("invalid_option", message)


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def bounded(lo: int, hi: int, what: str):
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
port = bounded(1, 65535, "a port")
page_budget = bounded(1, 50, "pages per site")


def count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def shared_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that checks sites."""
    p.add_argument("--rules", metavar="PATH", help="rules file to use instead of the built-in rules.yaml")
    p.add_argument("--known-sites", metavar="FILE", help="CSV domain,label,source of sites known to be legit or rogue")
    p.add_argument("--model", metavar="PATH", help="second-opinion model file instead of the built-in one; 'off' for none")
    p.add_argument("--max-pages", type=page_budget, metavar="N", help="pages to read per site (default from rules.yaml: 5)")
    p.add_argument("--cacert", metavar="FILE", help="extra CA bundle to trust (PEM)")
    p.add_argument(
        "--resolve", action="append", default=[], metavar="HOST:PORT:ADDRESS",
        help="connect to ADDRESS for HOST:PORT (curl's meaning); the only way a private address is ever reached",
    )
    p.add_argument("--allow-port", action="append", type=port, default=[], metavar="PORT",
                   help="also allow this destination port besides 80 and 443")
    p.add_argument("--record", metavar="FILE.warc.gz", help="write every request and response, and the report, to a WARC file")
    p.add_argument("--confirm-registries", action="store_true",
                   help="ask each registry a site claims (LegitScript, GPhC, ...) whether it lists the site")
    p.add_argument("--replay", action="append", default=[], metavar="WARC",
                   help="answer every fetch from this WARC file or folder of WARC files; nothing touches the network")
    rendering = p.add_mutually_exclusive_group()
    rendering.add_argument("--render", dest="render", action="store_const", const="always",
                           help="run every page's JavaScript in the browser before reading it (default: only pages "
                                "that look built by JavaScript; PHARMACHECK_RENDER=auto|always|off)")
    rendering.add_argument("--no-render", dest="render", action="store_const", const="off",
                           help="never run a page's JavaScript: read only the HTML the server sends")
    pictures = p.add_mutually_exclusive_group()
    pictures.add_argument("--screenshot", dest="screenshots", action="store_const", const=True, default=None,
                          help="keep a small picture of the start page with the report (needs the browser; the "
                               "service does by default, check and batch do not)")
    pictures.add_argument("--no-screenshot", dest="screenshots", action="store_const", const=False,
                          help="never take a picture of the start page")
    data_options(p)


def data_options(p: argparse.ArgumentParser) -> None:
    """Where pharmacheck keeps what it stores (reports, lists): for every command that opens the store."""
    p.add_argument("--data-dir", metavar="DIR", help="folder for the embedded database (default $PHARMACHECK_DATA_DIR "
                                                     "or ~/.local/share/pharmacheck)")
    p.add_argument("--database-url", metavar="URL", help="database to use instead of the embedded SQLite file "
                                                         "(e.g. postgresql://user@host/pharmacheck)")


def command_line_settings(args: argparse.Namespace) -> Settings:
    """Settings for a command that checks sites and prints what it found (check, batch): like the service's,
    but a start-page picture only when --screenshot asks for one (it costs a browser render per site)."""
    settings = settings_from_args(args)
    return settings.with_(screenshots=False) if getattr(args, "screenshots", None) is None else settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    base = Settings.from_env()
    try:
        resolve = tuple(parse_resolve(v) for v in getattr(args, "resolve", []) or []) or base.resolve
    except SettingsError as exc:
        raise UsageError("invalid_option", str(exc)) from None
    ports = tuple(sorted(set(base.allowed_ports) | set(getattr(args, "allow_port", []) or [])))
    settings = base.with_(
        rules_path=getattr(args, "rules", None) or base.rules_path,
        known_sites_path=getattr(args, "known_sites", None) or base.known_sites_path,
        model_path=getattr(args, "model", None) or base.model_path,
        opinions_path=getattr(args, "opinions", None) or base.opinions_path,
        max_pages=getattr(args, "max_pages", None) or base.max_pages,
        cacert=getattr(args, "cacert", None) or base.cacert,
        resolve=resolve,
        allowed_ports=ports,
        record_path=getattr(args, "record", None),
        replay_paths=tuple(getattr(args, "replay", []) or []) or base.replay_paths,
        confirm_registries=getattr(args, "confirm_registries", False) or base.confirm_registries,
        render=getattr(args, "render", None) or base.render,
        screenshots=base.screenshots if getattr(args, "screenshots", None) is None else args.screenshots,
    )
    if settings.render == "always" and getattr(args, "render", None) == "always":
        from app.browser import unavailable_reason

        problem = unavailable_reason(settings)
        if problem:
            raise UsageError("invalid_option", f"--render: pages cannot be rendered here: {problem}")
    if getattr(args, "data_dir", None):
        settings = settings.with_data_dir(args.data_dir)
    if getattr(args, "database_url", None):
        settings = settings.with_(database_url=args.database_url)
    return settings


def read_urls(path: str) -> list[str]:
    """The URLs in a text file (or '-' for standard input): one a line, blank lines and # comments skipped."""
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
