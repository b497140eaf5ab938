"""Opening a database: the engine, sessions, and migrations to the current schema."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("pharmacheck.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any number chosen once: PostgreSQL holds this advisory lock while one process migrates, so two workers that
# start together do not both try to create the same tables.
MIGRATION_LOCK = 7_042_611_301


class StoreError(Exception):
    """The database cannot be used; the message names it (without its password) and says why."""


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a database URL as people write it: postgresql:// uses psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(engine_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


class Database:
    """One database: an engine (pooled connections) and a session factory. Thread-safe; share one per URL."""

    def __init__(self, url: str, *, migrate: bool = True):
        self.url = url
        try:
            parsed = make_url(engine_url(url))
        except ArgumentError:
            raise StoreError(f"database URL {url!r} is not a database URL (sqlite:///PATH or postgresql://HOST/NAME)") from None
        self.dialect = parsed.get_backend_name()
        kwargs: dict = {"future": True}
        if self.dialect == "sqlite":
            path = parsed.database
            if path and path != ":memory:":
                try:
                    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"database {safe_url(url)}: cannot create its folder: {exc.strerror or exc}") from None
            # One connection per thread, checked for liveness; the service calls the store from worker threads.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise StoreError(f"database {safe_url(url)}: unsupported ({exc})") from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, future=True)
        if migrate:
            self.upgrade()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back when it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _alembic_config(self):
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (the newest by default); safe to call on an up-to-date database."""
        from alembic import command

        from alembic.util import CommandError

        try:
            command.upgrade(self._alembic_config(), revision)
        except (DBAPIError, SQLAlchemyError) as exc:
            raise StoreError(f"database {safe_url(self.url)}: cannot open or migrate it: {_reason(exc)}") from None
        except CommandError as exc:
            # Typically a schema revision this version does not know: the database was made by another version.
            raise StoreError(f"database {safe_url(self.url)}: its schema is not one this version of pharmacheck "
                             f"knows ({_reason(exc)}); use the pharmacheck that made it, or another database") from None

    def revisions(self) -> tuple[str | None, str | None]:
        """(the schema revision the database is at, the newest revision this version of pharmacheck knows)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except (DBAPIError, SQLAlchemyError) as exc:
            raise StoreError(f"database {safe_url(self.url)}: cannot open it: {_reason(exc)}") from None
        return current, head

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the service read while a batch writes; foreign keys are off in SQLite unless asked for.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _reason(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return text[:300]


_OPEN: dict[str, Database] = {}
_OPEN_LOCK = threading.Lock()


def open_database(url: str) -> Database:
    """The process's Database for `url`, opened (and migrated) on first use."""
    with _OPEN_LOCK:
        database = _OPEN.get(url)
        if database is None:
            database = _OPEN[url] = Database(url)
        return database


def close_all() -> None:
    """Dispose every engine open_database made (tests, and processes that fork)."""
    with _OPEN_LOCK:
        for database in _OPEN.values():
            database.dispose()
        _OPEN.clear()
