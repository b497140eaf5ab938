"""The tables, as SQLAlchemy 2 declarative models. Every change to them comes with a migration in
migrations/versions (tests compare the two)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, MetaData, String, Text
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


class StoredScreenshot(Base):
    """A picture of a site's start page, named by its SHA-256: a report refers to it (Report.screenshot), and an
    unchanged site checked again refers to the same row."""

    __tablename__ = "screenshots"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
