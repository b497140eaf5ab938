"""The tables, as SQLAlchemy 2 declarative models. Every change to them comes with a migration in
migrations/versions (tests compare the two)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text
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


class ReputationList(Base):
    """One loaded reputation list (NABP Not Recommended, NABP accredited, FDA warning letters, a user's own list)
    with where it came from and how old it is. Loading a list again replaces it whole, in one transaction."""

    __tablename__ = "reputation_lists"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # The source id (nabp_not_recommended, nabp_accredited, fda_warning_letters) or user:NAME; one list each.
    source: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # What a listed domain is: rogue, legit, or mixed (a user's list with both labels, one per entry).
    label: Mapped[str] = mapped_column(String(16))
    # The official address it was downloaded from, or the file it was imported from.
    origin: Mapped[str] = mapped_column(String(2048))
    method: Mapped[str] = mapped_column(String(16))  # update (downloaded) or import (from a file)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The date the source itself states for its content (page modified, snapshot in the file name); None if none.
    snapshot_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # How long the source stays current by its publisher's own schedule; past it the list is reported as stale.
    fresh_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entry_count: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))


class ReputationEntry(Base):
    """One domain on a list, with the source's own row kept as it was read."""

    __tablename__ = "reputation_entries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("reputation_lists.id", ondelete="CASCADE"))
    # The host as the source gives it, lower case, IDNA (punycode), without scheme, path, port or "www.".
    domain: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(16))  # rogue or legit
    # NABP's type for accredited sites: pharmacy, veterinary, pbm, resource, ...; empty when the source has none.
    type: Mapped[str] = mapped_column(String(40), default="")
    name: Mapped[str] = mapped_column(String(300), default="")  # the business the source names, when it does
    source_row: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_reputation_entries_domain", "domain"),
        Index("ix_reputation_entries_list_id", "list_id"),
    )


class SiteIdentity(Base):
    """The latest check of a site (registrable domain) as the identity graph knows it."""

    __tablename__ = "site_identities"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    final_url: Mapped[str] = mapped_column(String(2048))
    verdict: Mapped[str] = mapped_column(String(32))
    # Whether the verdict rested on the graph's own findings: such a verdict never makes its neighbours rogue, so
    # one accusation cannot spread through the graph by itself.
    verdict_from_graph: Mapped[bool] = mapped_column(Boolean, default=False)


class IdentityFact(Base):
    """One identity fact a site showed (a phone, an analytics id, a registration number...), where it was seen."""

    __tablename__ = "identity_facts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(ForeignKey("site_identities.domain", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2048), default="")
    snippet: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        Index("ix_identity_facts_kind_value", "kind", "value"),
        Index("ix_identity_facts_domain", "domain"),
    )
