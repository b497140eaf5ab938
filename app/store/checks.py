"""Checks that ran: one row per check of a site, whether it ended in a report or failed.

Who asked for a check travels with it as a context variable (`CheckContext`), set by whoever starts the check
(the report cache for the web page and the API, the job runner, the command line by default) and read by the
store listener on the Checker, which keeps the report and its check row together and hands back the report's id.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app.domains import registrable_domain

from .db import Database
from .models import CheckRun


@dataclass
class CheckContext:
    origin: str = "cli"  # web | api | batch | job | cli
    job_id: str | None = None
    worker: str | None = None
    # False when the caller keeps the report itself (the job runner keeps it in the same transaction as the
    # items it answers).
    keep: bool = True
    report_id: int | None = None  # set by the store listener once the report is kept


CURRENT_CHECK: contextvars.ContextVar[CheckContext | None] = contextvars.ContextVar("pharmacheck_check", default=None)


def check_row(
    *, url: str, canonical_url: str, origin: str, started_at: datetime, finished_at: datetime | None = None,
    report_id: int | None = None, error_code: str | None = None, error_message: str | None = None,
    job_id: str | None = None, worker: str | None = None,
) -> CheckRun:
    finished_at = finished_at or datetime.now(timezone.utc)
    return CheckRun(
        url=url[:2048], canonical_url=canonical_url[:2048], domain=(_domain(canonical_url) or "")[:255],
        origin=origin[:16], job_id=job_id, state="failed" if error_code else "done",
        error_code=(error_code or None) and error_code[:64], error_message=(error_message or None) and error_message[:500],
        report_id=report_id, worker=(worker or None) and worker[:128], started_at=started_at, finished_at=finished_at,
        elapsed_ms=max(0, int((finished_at - started_at).total_seconds() * 1000)),
    )


def _domain(url: str) -> str:
    try:
        return registrable_domain(url)
    except Exception:
        return ""


class CheckStore:
    def __init__(self, database: Database):
        self.database = database

    def record_failure(self, *, url: str, canonical_url: str, origin: str, started_at: datetime, code: str,
                       message: str, job_id: str | None = None, worker: str | None = None) -> None:
        with self.database.session() as session:
            session.add(check_row(url=url, canonical_url=canonical_url, origin=origin, started_at=started_at,
                                  error_code=code, error_message=message, job_id=job_id, worker=worker))

    def count(self, *, job_id: str | None = None, canonical_url: str | None = None, since: timedelta | None = None) -> int:
        query = select(func.count()).select_from(CheckRun)
        if job_id is not None:
            query = query.where(CheckRun.job_id == job_id)
        if canonical_url is not None:
            query = query.where(CheckRun.canonical_url == canonical_url)
        if since is not None:
            query = query.where(CheckRun.finished_at >= datetime.now(timezone.utc) - since)
        with self.database.session() as session:
            return int(session.scalar(query) or 0)

    def for_job(self, job_id: str) -> list[CheckRun]:
        with self.database.session() as session:
            return list(session.scalars(select(CheckRun).where(CheckRun.job_id == job_id).order_by(CheckRun.id)))
