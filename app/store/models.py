"""The tables, as SQLAlchemy 2 declarative models. Every change to them comes with a migration in
migrations/versions (tests compare the two)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
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


class CheckRun(Base):
    """One check of a site that ran to an end: what was asked, by whom (web, api, batch, job, cli), how it ended
    and how long it took. A report answered from what was kept is not a check; a check that failed is one."""

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048))
    canonical_url: Mapped[str] = mapped_column(String(2048))
    domain: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # done | failed
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    elapsed_ms: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_checks_domain_finished_at", "domain", "finished_at"),
        Index("ix_checks_job_id", "job_id"),
    )


class Job(Base):
    """A batch job: a list of addresses checked by workers, its results read back page by page."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Who may read it back: a digest of the API identity that created it (None: anyone holding the id).
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | done | cancelled
    source: Mapped[str] = mapped_column(String(8))  # json | csv | txt
    total: Mapped[int] = mapped_column(Integer)
    unique_urls: Mapped[int] = mapped_column(Integer)
    # A kept report at most this old answers an item; `force` takes only reports made after the job was created.
    max_age: Mapped[int] = mapped_column(Integer)
    force: Mapped[bool] = mapped_column(Boolean)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    webhook_items: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_jobs_state_created_at", "state", "created_at"),)


class JobItem(Base):
    """One address of a job, in the order it was given. Items of one job with the same canonical address are
    one unit of work: leased, checked and finished together."""

    __tablename__ = "job_items"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    input_index: Mapped[int] = mapped_column(Integer)
    input_url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    domain: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer)
    # A worker holds a running item until lease_expires_at and renews it while it checks; an expired lease
    # (the worker died) puts the item back in the queue.
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), nullable=True)
    from_cache: Mapped[bool] = mapped_column(Boolean)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("job_id", "input_index", name="uq_job_items_job_id_input_index"),
        Index("ix_job_items_job_id_canonical_url", "job_id", "canonical_url"),
        Index("ix_job_items_job_id_state", "job_id", "state"),
        Index("ix_job_items_state_available_at", "state", "available_at"),
    )


class WebhookDelivery(Base):
    """A signed webhook call waiting to be made, or made: written in the same transaction as what it reports,
    so no event is lost or sent for something that did not happen; retried with back-off until answered 2xx."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_job_id", "job_id"),
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
