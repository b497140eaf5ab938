"""Reputation lists in the store: loaded whole, replaced whole in one transaction, read back for the index."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import delete, insert, select

from app.store.db import Database
from app.store.models import ReputationEntry, ReputationList

from .model import ListEntry, ListInfo
from .sources import SOURCES, USER_PREFIX, ListFileError, ParsedList

# Entries are written in chunks so one 45,000-row list never builds one giant statement.
CHUNK = 5_000


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _info(row: ReputationList) -> ListInfo:
    return ListInfo(row.id, row.source, row.title, row.label, row.origin, row.method, _aware(row.loaded_at),
                    row.snapshot_date, row.fresh_days, row.entry_count)


def list_title(source_id: str) -> str:
    if source_id in SOURCES:
        return SOURCES[source_id].title
    return f"your list {source_id[len(USER_PREFIX):]}" if source_id.startswith(USER_PREFIX) else source_id


class ListStore:
    """Calls block: from async code run them in a thread."""

    def __init__(self, database: Database):
        self.database = database

    def replace(self, source_id: str, parsed: ParsedList, *, origin: str, method: str, content: bytes,
                fresh_days: int | None = None, snapshot_override=None) -> ListInfo:
        """Make `parsed` the list for `source_id`, replacing what was loaded before; all or nothing."""
        if not parsed.entries:
            raise ListFileError(f"{origin}: no entries for {source_id} found; the list in the store is unchanged")
        source = SOURCES.get(source_id)
        # One row per domain: a source that names a domain twice (two letters, two types) keeps the first.
        unique: dict[tuple[str, str], object] = {}
        for entry in parsed.entries:
            unique.setdefault((entry.domain, entry.label), entry)
        entries = list(unique.values())
        labels = {e.label for e in entries}
        label = source.label if source else (labels.pop() if len(labels) == 1 else "mixed")
        row = ReputationList(
            source=source_id,
            title=list_title(source_id),
            label=label,
            origin=origin[:2048],
            method=method,
            loaded_at=datetime.now(timezone.utc),
            snapshot_date=snapshot_override or parsed.snapshot_date,
            fresh_days=fresh_days if fresh_days is not None else (source.fresh_days if source else None),
            entry_count=len(entries),
            content_sha256=hashlib.sha256(content).hexdigest(),
        )
        with self.database.session() as session:
            session.execute(delete(ReputationList).where(ReputationList.source == source_id))
            # SQLite enforces the cascade only with foreign keys on (they are); deleting the entries too keeps a
            # database opened without that pragma from keeping orphans.
            session.flush()
            session.add(row)
            session.flush()
            for start in range(0, len(entries), CHUNK):
                session.execute(insert(ReputationEntry), [
                    {"list_id": row.id, "domain": e.domain, "label": e.label, "type": e.type, "name": e.name,
                     "source_row": e.source_row}
                    for e in entries[start:start + CHUNK]
                ])
            session.execute(delete(ReputationEntry).where(
                ReputationEntry.list_id.not_in(select(ReputationList.id))))
            return _info(row)

    def remove(self, source_id: str) -> bool:
        with self.database.session() as session:
            found = session.execute(select(ReputationList.id).where(ReputationList.source == source_id)).first()
            if found is None:
                return False
            session.execute(delete(ReputationEntry).where(ReputationEntry.list_id == found[0]))
            session.execute(delete(ReputationList).where(ReputationList.id == found[0]))
            return True

    def lists(self) -> list[ListInfo]:
        with self.database.session() as session:
            return [_info(r) for r in session.scalars(select(ReputationList).order_by(ReputationList.source))]

    def signature(self) -> tuple:
        """Changes whenever any list is loaded, replaced or removed, by this process or another."""
        with self.database.session() as session:
            return tuple(session.execute(
                select(ReputationList.id, ReputationList.loaded_at, ReputationList.entry_count).order_by(ReputationList.id)
            ).all())

    def entries(self) -> Iterator[tuple[int, ListEntry]]:
        """(list id, entry) for every entry of every list."""
        query = select(ReputationEntry.list_id, ReputationEntry.domain, ReputationEntry.label, ReputationEntry.type,
                       ReputationEntry.name)
        with self.database.engine.connect() as connection:
            for list_id, domain, label, kind, name in connection.execution_options(yield_per=10_000).execute(query):
                yield list_id, ListEntry(domain, label, kind, name)

    def entries_of(self, source_id: str, domain: str | None = None, limit: int = 50) -> list[tuple[ListEntry, str]]:
        """A list's entries (for one domain, when given) with their source rows, for `lists show`."""
        query = (select(ReputationEntry).join(ReputationList, ReputationList.id == ReputationEntry.list_id)
                 .where(ReputationList.source == source_id))
        if domain:
            query = query.where(ReputationEntry.domain == domain)
        with self.database.session() as session:
            return [(ListEntry(r.domain, r.label, r.type, r.name), r.source_row)
                    for r in session.scalars(query.order_by(ReputationEntry.id).limit(limit))]
