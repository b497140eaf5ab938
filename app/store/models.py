"""The tables, as SQLAlchemy 2 declarative models. Every change to them comes with a migration in
migrations/versions (tests compare the two)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints and indexes, so migrations can refer to them the same way on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite gives an INTEGER PRIMARY KEY its own row id; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class StoredReport(Base):
    """One finished report, kept whole (the JSON contract) with the columns needed to find it again."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # The address as asked for, and its canonical spelling (app.cache.canonical_url), which reports are found by.
    url: Mapped[str] = mapped_column(String(2048))
    canonical_url: Mapped[str] = mapped_column(String(2048))
    final_url: Mapped[str] = mapped_column(String(2048))
    # The registrable domain of the final address: a site's history gathers every page of it that was checked.
    domain: Mapped[str] = mapped_column(String(255))
    algorithm_version: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(32))
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_archive: Mapped[bool] = mapped_column(Boolean, default=False)
    report_json: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_reports_domain_checked_at", "domain", "checked_at"),
        Index("ix_reports_canonical_url_checked_at", "canonical_url", "checked_at"),
    )


class ApiKey(Base):
    """A key for the JSON API. Only a keyed hash of the key is kept; the key itself is shown once, when made."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # The public part of the key (phk_<key_id>_<secret>): names the key in lists, logs and usage without the secret.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # This key's own limits ("120/minute", "10000/month"); None: the service's defaults.
    rate_limit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quota: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ApiUsage(Base):
    """What one key spent on one day (UTC): requests answered and checks charged. Quotas add up these rows.

    `key_ref` is the key's key_id, or "env-<fingerprint>" for a key from PHARMACHECK_API_KEYS, which has no row
    in api_keys; so there is no foreign key, and a revoked key's history stays."""

    __tablename__ = "api_usage"

    key_ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    checks: Mapped[int] = mapped_column(BigInteger, default=0)
