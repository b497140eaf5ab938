"""API keys and what they spend, in the store.

A key is `phk_<key id>_<secret>`: the key id names the key in lists and usage without giving it away; the secret
is 32 random bytes. Only HMAC-SHA256 of the whole key is kept (a slow password hash would add nothing to a key
with 256 random bits, and would cost every API request). The key itself is shown once, when it is made.

Usage is kept per key and day (UTC). A quota ("10000/month") is checked by adding the checks of the days of the
current period; the check and the count happen in one transaction, so two processes cannot both spend the last
checks of a quota.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .db import Database
from .models import ApiKey, ApiUsage

KEY_PREFIX = "phk_"
KEY_ID_LENGTH = 8
_KEY_SHAPE = re.compile(r"^phk_([a-z2-7]{8})_([A-Za-z0-9_-]{43})$")
# Used when no PHARMACHECK_API_KEY_SECRET is set: a fixed label keeps the hash specific to pharmacheck keys.
DEFAULT_HASH_KEY = b"pharmacheck api key v1"
MAX_NAME = 200


class ApiKeyError(ValueError):
    """A key cannot be made or changed as asked; the message says why."""


@dataclass(frozen=True)
class KeyRecord:
    """A key as the service and `pharmacheck keys list` see it (never the key itself)."""

    key_id: str
    name: str
    owner: str | None
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    rate_limit: str | None
    quota: str | None
    source: str = "store"  # "store" (pharmacheck keys create) or "environment" (PHARMACHECK_API_KEYS)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, row: ApiKey) -> "KeyRecord":
        return cls(row.key_id, row.name, row.owner, _aware(row.created_at), _aware(row.last_used_at),
                   _aware(row.revoked_at), row.rate_limit, row.quota)

    def as_dict(self) -> dict:
        return {
            "id": self.key_id, "name": self.name, "owner": self.owner, "source": self.source,
            "created_at": _iso(self.created_at), "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at), "rate_limit": self.rate_limit, "quota": self.quota,
        }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def hash_key(key: str, secret: str | None = None) -> str:
    return hmac.new(secret.encode() if secret else DEFAULT_HASH_KEY, key.encode(), hashlib.sha256).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id of a key of pharmacheck's own shape, else None."""
    match = _KEY_SHAPE.match(key)
    return match.group(1) if match else None


def _new_key() -> tuple[str, str]:
    key_id = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}"


def period_bounds(period: str, today: date) -> tuple[date, date]:
    """The first day of the quota period holding `today` and the first day of the next one."""
    if period == "day":
        return today, today + timedelta(days=1)
    start = today.replace(day=1)
    following = date(start.year + 1, 1, 1) if start.month == 12 else date(start.year, start.month + 1, 1)
    return start, following


@dataclass(frozen=True)
class QuotaDecision:
    allowed: bool
    used: int  # checks spent in the period, this request included when it was allowed (0 without a quota)
    period_start: date
    period_end: date


class ApiKeyStore:
    """Keys and their usage. Calls block: from async code, run them in a thread."""

    def __init__(self, database: Database, secret: str | None = None):
        self.database = database
        self.secret = secret

    # Keys

    def create(self, name: str, owner: str | None = None, rate_limit: str | None = None,
               quota: str | None = None) -> tuple[KeyRecord, str]:
        """Make a key; returns its record and the key itself, which is not kept and cannot be shown again."""
        name = (name or "").strip()
        if not name:
            raise ApiKeyError("a key needs a name, such as the organisation or program that will use it")
        if len(name) > MAX_NAME or (owner and len(owner) > MAX_NAME):
            raise ApiKeyError(f"names and owners are at most {MAX_NAME} characters")
        if any(not c.isprintable() for c in name + (owner or "")):
            raise ApiKeyError("names and owners cannot hold control characters")
        for _ in range(5):
            key_id, key = _new_key()
            row = ApiKey(key_id=key_id, key_hash=hash_key(key, self.secret), name=name, owner=(owner or "").strip() or None,
                         created_at=datetime.now(timezone.utc), rate_limit=rate_limit, quota=quota)
            try:
                with self.database.session() as session:
                    session.add(row)
                return KeyRecord.of(row), key
            except IntegrityError:  # the 40-bit key id was taken already: draw again
                continue
        raise ApiKeyError("could not draw an unused key id; try again")

    def verify(self, key: str) -> KeyRecord | None:
        """The record of this key (revoked ones too, so the caller can say so), or None for an unknown key."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        with self.database.session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
            if row is None or not hmac.compare_digest(row.key_hash, hash_key(key, self.secret)):
                return None
            return KeyRecord.of(row)

    def get(self, key_id: str) -> KeyRecord | None:
        with self.database.session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
            return KeyRecord.of(row) if row is not None else None

    def list(self, include_revoked: bool = True) -> list[KeyRecord]:
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        with self.database.session() as session:
            return [KeyRecord.of(row) for row in session.scalars(query)]

    def revoke(self, key_id: str) -> KeyRecord | None:
        """Revoke a key (at once for new connections; within seconds for a running service); None if unknown."""
        with self.database.session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = datetime.now(timezone.utc)
            session.flush()
            return KeyRecord.of(row)

    def any_active(self) -> bool:
        with self.database.session() as session:
            return session.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)).first() is not None

    def touch(self, key_id: str, when: datetime) -> None:
        with self.database.session() as session:
            session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=when))

    # Usage

    def _add(self, session, key_ref: str, day: date, requests: int, checks: int) -> None:
        table = ApiUsage.__table__
        if self.database.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).values(key_ref=key_ref, day=day, requests=requests, checks=checks)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key_ref, table.c.day],
            set_={"requests": table.c.requests + statement.excluded.requests,
                  "checks": table.c.checks + statement.excluded.checks},
        )
        session.execute(statement)

    def add_usage(self, key_ref: str, *, requests: int = 0, checks: int = 0, today: date | None = None) -> None:
        with self.database.session() as session:
            self._add(session, key_ref, today or _today(), requests, checks)

    def spend(self, key_ref: str, checks: int, quota: tuple[int, str] | None, *, today: date | None = None) -> QuotaDecision:
        """Count `checks` against the key, unless that would take it past `quota` (amount, "day"|"month")."""
        today = today or _today()
        start, end = period_bounds(quota[1] if quota else "day", today)
        if quota is None:  # nothing to decide: count, one statement
            self.add_usage(key_ref, checks=checks, today=today)
            return QuotaDecision(True, 0, start, end)
        session = self.database._sessions()
        try:
            # Count first, then read the period's total inside the same transaction: the row lock (PostgreSQL) or
            # the write lock (SQLite) taken by the count makes a second process wait for this decision.
            self._add(session, key_ref, today, 0, checks)
            used = session.scalar(select(func.coalesce(func.sum(ApiUsage.checks), 0)).where(
                ApiUsage.key_ref == key_ref, ApiUsage.day >= start, ApiUsage.day < end)) or 0
            if quota is not None and used > quota[0]:
                session.rollback()
                return QuotaDecision(False, int(used) - checks, start, end)
            session.commit()
            return QuotaDecision(True, int(used), start, end)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def totals(self, key_ref: str, start: date, end: date) -> tuple[int, int]:
        """(requests, checks) of the days from `start` up to, not including, `end`."""
        with self.database.session() as session:
            row = session.execute(select(func.coalesce(func.sum(ApiUsage.requests), 0), func.coalesce(func.sum(ApiUsage.checks), 0))
                                  .where(ApiUsage.key_ref == key_ref, ApiUsage.day >= start, ApiUsage.day < end)).one()
            return int(row[0]), int(row[1])

    def days(self, key_ref: str, since: date) -> list[tuple[date, int, int]]:
        """(day, requests, checks) for each day since `since` on which the key was used, oldest first."""
        with self.database.session() as session:
            rows = session.execute(select(ApiUsage.day, ApiUsage.requests, ApiUsage.checks)
                                   .where(ApiUsage.key_ref == key_ref, ApiUsage.day >= since).order_by(ApiUsage.day))
            return [(day, int(r), int(c)) for day, r, c in rows]


def _today() -> date:
    return datetime.now(timezone.utc).date()
