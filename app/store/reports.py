"""Finished reports in the store: kept whole, found by address or by site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from app.domains import registrable_domain
from app.report import Report

from .db import Database
from .models import StoredReport


@dataclass(frozen=True)
class StoredReportSummary:
    """A kept report without its body: enough for a history list."""

    id: int
    url: str
    canonical_url: str
    final_url: str
    domain: str
    algorithm_version: str
    verdict: str
    score: int | None
    checked_at: datetime

    @classmethod
    def of(cls, row: StoredReport) -> "StoredReportSummary":
        return cls(row.id, row.url, row.canonical_url, row.final_url, row.domain, row.algorithm_version,
                   row.verdict, row.score, _aware(row.checked_at))


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; every time the store writes is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _checked_at(report: Report) -> datetime:
    try:
        return _aware(datetime.fromisoformat(report.checked_at))
    except ValueError:
        return datetime.now(timezone.utc)


def add_report(session, report: Report, canonical_url: str | None = None) -> int:
    """Add `report` to the session's transaction (with whatever else must be kept with it); returns its id."""
    row = StoredReport(
        url=report.url[:2048],
        canonical_url=(canonical_url or report.url)[:2048],
        final_url=(report.final_url or report.url)[:2048],
        domain=(registrable_domain(report.final_url or report.url) or "")[:255],
        algorithm_version=report.algorithm_version,
        verdict=report.verdict,
        score=report.score,
        checked_at=_checked_at(report),
        from_archive=report.from_archive,
        report_json=report.model_dump_json(),
    )
    session.add(row)
    session.flush()
    return row.id


class ReportStore:
    """Reports by id, by canonical address and by site (registrable domain). Calls block: from async code, run
    them in a thread (asyncio.to_thread)."""

    def __init__(self, database: Database):
        self.database = database

    def save(self, report: Report, canonical_url: str | None = None) -> int:
        """Keep `report`; returns its id. `canonical_url` is the spelling it is found by (default: its URL)."""
        with self.database.session() as session:
            return add_report(session, report, canonical_url)

    def get(self, report_id: int) -> Report | None:
        with self.database.session() as session:
            row = session.get(StoredReport, report_id)
            return Report.model_validate_json(row.report_json) if row is not None else None

    def get_with_time(self, report_id: int) -> tuple[Report, datetime] | None:
        with self.database.session() as session:
            row = session.get(StoredReport, report_id)
            return (Report.model_validate_json(row.report_json), _aware(row.checked_at)) if row is not None else None

    def latest(self, canonical_url: str, *, newer_than: datetime | None = None) -> tuple[int, Report] | None:
        """The newest report kept for this address (checked after `newer_than`, when given)."""
        query = select(StoredReport).where(StoredReport.canonical_url == canonical_url)
        if newer_than is not None:
            query = query.where(StoredReport.checked_at > newer_than)
        query = query.order_by(StoredReport.checked_at.desc(), StoredReport.id.desc()).limit(1)
        with self.database.session() as session:
            row = session.scalars(query).first()
            return (row.id, Report.model_validate_json(row.report_json)) if row is not None else None

    def history(self, domain: str, *, limit: int = 20, before_id: int | None = None) -> list[StoredReportSummary]:
        """The site's reports, newest first; `before_id` pages on from the last one of the previous page."""
        query = select(StoredReport).where(StoredReport.domain == registrable_domain(domain))
        if before_id is not None:
            query = query.where(StoredReport.id < before_id)
        query = query.order_by(StoredReport.id.desc()).limit(max(1, min(limit, 1000)))
        with self.database.session() as session:
            return [StoredReportSummary.of(row) for row in session.scalars(query)]
