"""Alembic environment: migrations run on the engine app.store.Database hands over (never from a .ini file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from app.store.db import MIGRATION_LOCK
from app.store.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            # Several workers may start at once against one database; one migrates, the others wait and find
            # the schema current.
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()


if context.is_offline_mode():  # pragma: no cover - pharmacheck always migrates a live database
    raise SystemExit("pharmacheck migrations run against a database, not as SQL scripts")
run_migrations_online()
