"""`pharmacheck keys create|list|revoke`: API keys for the JSON API, kept (hashed) in the store.

A key is printed once, when it is made; the store keeps only a keyed hash of it. A running service sees a new
or revoked key within seconds (app/api/access.py, KEY_CACHE_SECONDS).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone

from app.settings import parse_quota

from .common import EXIT_OK, Parser, UsageError, data_options, settings_from_args

NO_LIMIT = ("unlimited", "none")


def _rate(value: str) -> str:
    from limits import parse

    try:
        item = parse(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a rate such as 120/minute or 5000/hour, got {value!r}") from None
    if item.amount < 1:
        raise argparse.ArgumentTypeError(f"a rate allows at least 1 check, got {value!r}")
    return value.strip()


def _quota(value: str) -> str:
    if value.strip().lower() in NO_LIMIT:
        return "unlimited"
    try:
        amount, period = parse_quota(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return f"{amount}/{period}"


def register(sub) -> None:
    keys = sub.add_parser("keys", help="make, list and revoke API keys for the JSON API")
    actions = keys.add_subparsers(dest="keys_command", required=True, parser_class=Parser)

    create = actions.add_parser("create", help="make a key; it is printed once and cannot be shown again")
    create.add_argument("--name", required=True, help="who or what the key is for, e.g. 'Safe Meds Watch crawler'")
    create.add_argument("--owner", help="a contact for the key, e.g. an e-mail address")
    create.add_argument("--rate", type=_rate, metavar="RATE",
                        help="this key's rate limit, e.g. 120/minute (default: PHARMACHECK_RATE_LIMIT_KEYED, 600/minute)")
    create.add_argument("--quota", type=_quota, metavar="N/PERIOD",
                        help="checks this key may spend per day or month, e.g. 10000/month; 'unlimited' for none "
                             "(default: PHARMACHECK_API_QUOTA, else none)")
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    data_options(create)

    listing = actions.add_parser("list", help="the keys, with when they were made and last used, and their usage")
    listing.add_argument("--active", action="store_true", help="leave out revoked keys")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    data_options(listing)

    revoke = actions.add_parser("revoke", help="revoke a key: it is refused from now on (by a running service within seconds)")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id, as `keys list` shows it (or the whole key)")
    revoke.add_argument("--json", action="store_true", help="print the revoked key's record as JSON")
    data_options(revoke)

    keys.set_defaults(handler=run)


def _store(args):
    from app.store import open_database
    from app.store.keys import ApiKeyStore

    settings = settings_from_args(args)
    return settings, ApiKeyStore(open_database(settings.effective_database_url), settings.api_key_secret)


def run(args: argparse.Namespace) -> int:
    return {"create": _create, "list": _list, "revoke": _revoke}[args.keys_command](args)


def _create(args) -> int:
    from app.store.keys import ApiKeyError

    settings, store = _store(args)
    try:
        record, key = store.create(args.name, args.owner, args.rate, args.quota)
    except ApiKeyError as exc:
        raise UsageError("invalid_option", str(exc)) from None
    if args.json:
        print(json.dumps({"key": key, **record.as_dict()}, indent=2))
        return EXIT_OK
    # The key alone on standard output (KEY=$(pharmacheck keys create --name ...)); the explanation on stderr.
    print(key)
    rate = record.rate_limit or settings.rate_limit_keyed
    quota = record.quota or settings.api_quota or "unlimited"
    notes = [
        f"Key {record.key_id} for {record.name!r} made. This is the only time the key is shown: pharmacheck keeps a "
        "hash of it, not the key.",
        "Send it as the header 'X-API-Key: KEY' or 'Authorization: Bearer KEY'.",
        f"Rate limit {rate}; quota {quota}.",
    ]
    if settings.require_api_key == "auto" and not settings.api_keys:
        notes.append("While a key exists, the API asks every request for one (PHARMACHECK_REQUIRE_API_KEY=false keeps keys optional).")
    print("\n".join(notes), file=sys.stderr)
    return EXIT_OK


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


def _list(args) -> int:
    settings, store = _store(args)
    today = datetime.now(timezone.utc).date()
    month_start = today.replace(day=1)
    records = store.list(include_revoked=not args.active)
    rows = []
    for record in records:
        _, checks_month = store.totals(record.key_id, month_start, today + timedelta(days=1))
        rows.append((record, checks_month))
    env_count = len(settings.api_keys)
    if args.json:
        print(json.dumps({
            "keys": [{**r.as_dict(), "checks_this_month": c} for r, c in rows],
            "environment_keys": env_count,
        }, indent=2))
        return EXIT_OK
    if not rows:
        print("No keys in the store." + ("" if env_count else " Make one with: pharmacheck keys create --name NAME"))
    else:
        header = ("ID", "NAME", "OWNER", "CREATED", "LAST USED", "RATE", "QUOTA", "CHECKS THIS MONTH", "STATUS")
        table = [header] + [(
            r.key_id, r.name, r.owner or "", _when(r.created_at), _when(r.last_used_at),
            r.rate_limit or f"{settings.rate_limit_keyed} (default)", r.quota or (f"{settings.api_quota} (default)" if settings.api_quota else "none"),
            str(c), "active" if r.active else f"revoked {_when(r.revoked_at)}",
        ) for r, c in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if env_count:
        print(f"\n{env_count} more key{'s' if env_count != 1 else ''} from PHARMACHECK_API_KEYS (not in the store; "
              "remove them from the environment to revoke them).")
    return EXIT_OK


def _revoke(args) -> int:
    from app.store.keys import key_id_of

    _, store = _store(args)
    key_id = key_id_of(args.key_id.strip()) or args.key_id.strip().removeprefix("phk_")
    already = store.get(key_id)
    record = store.revoke(key_id)
    if record is None:
        raise UsageError("invalid_option", f"no key with the id {key_id!r}; `pharmacheck keys list` shows the ids")
    if args.json:
        print(json.dumps(record.as_dict(), indent=2))
    elif already is not None and not already.active:
        print(f"Key {record.key_id} ({record.name}) was already revoked on {_when(record.revoked_at)}.")
    else:
        print(f"Key {record.key_id} ({record.name}) revoked; a running service refuses it within seconds.")
    return EXIT_OK

