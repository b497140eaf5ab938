"""Batch jobs in the store: the jobs, their items, the leases workers hold on them, and the webhook outbox.

The store is the queue's memory. A unit of work is one canonical address of one job (three spellings of a site
in a job are one unit): a worker leases all its queued items at once, renews the lease while it checks, and
finishes them in the same transaction that keeps the report, records the check and writes the webhook
deliveries. Finishing is conditional on still holding the lease, so an item is finished once, however many
workers were sent after it: a worker that died lets its lease run out (`reap_expired` puts the items back in
the queue), and a worker that lost its lease finds that its late answer is not taken.

Calls block; from async code run them in a thread (asyncio.to_thread).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import and_, func, insert, or_, select, update

from app.report import Report

from .checks import check_row
from .db import Database
from .models import Job, JobItem, StoredReport, WebhookDelivery
from .reports import _aware, add_report

ACTIVE = ("queued", "running")
FINISHED_ITEM_STATES = ("done", "failed", "cancelled")
INSERT_CHUNK = 5000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LeaseLost(Exception):
    """The worker no longer holds the unit (its lease ran out and another worker took it): its answer is dropped."""


@dataclass(frozen=True)
class NewItem:
    """One address as submitted: its canonical spelling, or why it was refused before anything was fetched."""

    input_url: str
    canonical_url: str | None
    domain: str | None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Unit:
    """A leased unit of work: the items of one job with one canonical address."""

    job_id: str
    canonical_url: str
    domain: str
    max_age: int
    force: bool
    job_created_at: datetime
    attempts: int  # checks started on it before this lease
    items: int


@dataclass
class JobView:
    id: str
    state: str
    source: str
    total: int
    unique_urls: int
    max_age: int
    force: bool
    webhook_url: str | None
    webhook_items: bool
    owner: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    from_cache: int = 0
    rejected: int = 0  # refused when submitted (never queued)

    @property
    def remaining(self) -> int:
        return self.counts.get("queued", 0) + self.counts.get("running", 0)

    @property
    def finished(self) -> int:
        return sum(self.counts.get(s, 0) for s in FINISHED_ITEM_STATES)

    def eta_seconds(self, now: datetime | None = None) -> int | None:
        """Seconds until the rest is done at the pace so far; None before there is a pace, 0 when finished."""
        if self.state not in ACTIVE:
            return 0
        processed = self.counts.get("done", 0) + self.counts.get("failed", 0) - self.rejected
        if self.started_at is None or processed <= 0:
            return None
        elapsed = ((now or utcnow()) - self.started_at).total_seconds()
        if elapsed <= 0:
            return None
        return int(round(self.remaining * elapsed / processed))


@dataclass
class ItemView:
    input_index: int
    input_url: str
    canonical_url: str | None
    state: str
    attempts: int
    from_cache: bool
    report_id: int | None
    error_code: str | None
    error_message: str | None
    finished_at: datetime | None
    verdict: str | None = None
    score: int | None = None
    final_url: str | None = None
    algorithm_version: str | None = None
    checked_at: datetime | None = None
    report_json: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    job_id: str
    event: str
    ref: dict
    attempts: int  # including the one now being made
    webhook_url: str
    webhook_secret: str


class JobStore:
    def __init__(self, database: Database):
        self.database = database

    # --- creating and reading jobs ---------------------------------------------------------------------

    def create(
        self, items: list[NewItem], *, source: str, max_age: int, force: bool = False, owner: str | None = None,
        webhook_url: str | None = None, webhook_secret: str | None = None, webhook_items: bool = False,
    ) -> str:
        job_id = uuid.uuid4().hex
        now = utcnow()
        unique = len({i.canonical_url for i in items if i.canonical_url})
        with self.database.session() as session:
            session.add(Job(
                id=job_id, owner=owner, state="queued" if unique else "done", source=source, total=len(items),
                unique_urls=unique, max_age=max_age, force=force, webhook_url=webhook_url,
                webhook_secret=webhook_secret, webhook_items=webhook_items, created_at=now,
                started_at=None if unique else now, finished_at=None if unique else now,
            ))
            session.flush()
            rows = [
                {
                    "job_id": job_id, "input_index": n, "input_url": item.input_url[:4096],
                    "canonical_url": item.canonical_url, "domain": item.domain and item.domain[:255],
                    "state": "queued" if item.canonical_url else "failed", "attempts": 0, "available_at": now,
                    "from_cache": False, "error_code": None if item.canonical_url else (item.error_code or "invalid_url"),
                    "error_message": None if item.canonical_url else (item.error_message or "")[:500],
                    "finished_at": None if item.canonical_url else now,
                }
                for n, item in enumerate(items)
            ]
            for start in range(0, len(rows), INSERT_CHUNK):
                session.execute(insert(JobItem), rows[start:start + INSERT_CHUNK])
            if webhook_url and webhook_items:  # refused addresses are finished items from the start
                for n, item in enumerate(items):
                    if not item.canonical_url:
                        _add_delivery(session, job_id, "item.finished", {"input_index": n}, now)
            if webhook_url and not unique:
                _add_delivery(session, job_id, "job.finished", {}, now)
        return job_id

    def view(self, job_id: str) -> JobView | None:
        with self.database.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                return None
            return _view(session, job)

    def owner_of(self, job_id: str) -> tuple[bool, str | None]:
        """(the job exists, its owner)."""
        with self.database.session() as session:
            owner = session.execute(select(Job.owner).where(Job.id == job_id)).first()
            return (owner is not None, owner[0] if owner else None)

    def results(
        self, job_id: str, *, after: int = -1, limit: int = 100, states: Iterable[str] | None = None,
        with_reports: bool = False,
    ) -> list[ItemView]:
        """Items in input order from index `after + 1`, with what their report says."""
        columns = [JobItem, StoredReport.verdict, StoredReport.score, StoredReport.final_url,
                   StoredReport.algorithm_version, StoredReport.checked_at]
        if with_reports:
            columns.append(StoredReport.report_json)
        query = (
            select(*columns).outerjoin(StoredReport, StoredReport.id == JobItem.report_id)
            .where(JobItem.job_id == job_id, JobItem.input_index > after)
        )
        if states:
            query = query.where(JobItem.state.in_(list(states)))
        query = query.order_by(JobItem.input_index).limit(max(1, min(limit, 10_000)))
        out = []
        with self.database.session() as session:
            for row in session.execute(query):
                item: JobItem = row[0]
                out.append(ItemView(
                    input_index=item.input_index, input_url=item.input_url, canonical_url=item.canonical_url,
                    state=item.state, attempts=item.attempts, from_cache=item.from_cache, report_id=item.report_id,
                    error_code=item.error_code, error_message=item.error_message,
                    finished_at=_aware(item.finished_at) if item.finished_at else None,
                    verdict=row[1], score=row[2], final_url=row[3], algorithm_version=row[4],
                    checked_at=_aware(row[5]) if row[5] else None, report_json=row[6] if with_reports else None,
                ))
        return out

    def item(self, job_id: str, input_index: int) -> ItemView | None:
        found = self.results(job_id, after=input_index - 1, limit=1)
        return found[0] if found and found[0].input_index == input_index else None

    def cancel(self, job_id: str) -> JobView | None:
        """Queued items are cancelled; items being checked now finish and keep their answers."""
        now = utcnow()
        with self.database.session() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None:
                return None
            if job.state in ACTIVE:
                session.execute(
                    update(JobItem).where(JobItem.job_id == job_id, JobItem.state == "queued")
                    .values(state="cancelled", finished_at=now, error_code="cancelled",
                            error_message="The job was cancelled before this address was checked.")
                )
                job.state, job.finished_at = "cancelled", now
                if job.webhook_url:
                    _add_delivery(session, job_id, "job.finished", {}, now)
            session.flush()
            return _view(session, job)

    # --- the queue ----------------------------------------------------------------------------------------

    def queued_units(self, job_id: str, *, after: int = -1, limit: int | None = None) -> list[str]:
        """The canonical addresses of a job that still wait for a worker (each once), in input order; `after`
        and `limit` take them a slice at a time (by the first input index of each)."""
        return [c for c, _ in self.queued_units_from(job_id, after=after, limit=limit)]

    def queued_units_from(self, job_id: str, *, after: int = -1, limit: int | None = None) -> list[tuple[str, int]]:
        first = func.min(JobItem.input_index)
        query = (select(JobItem.canonical_url, first).where(JobItem.job_id == job_id, JobItem.state == "queued")
                 .group_by(JobItem.canonical_url).having(first > after).order_by(first))
        if limit is not None:
            query = query.limit(limit)
        with self.database.session() as session:
            return [(c, i) for c, i in session.execute(query) if c]

    def queued_unit_count(self) -> int:
        units = (select(JobItem.job_id, JobItem.canonical_url).where(JobItem.state == "queued")
                 .group_by(JobItem.job_id, JobItem.canonical_url).subquery())
        with self.database.session() as session:
            return int(session.scalar(select(func.count()).select_from(units)) or 0)

    def active_jobs(self) -> list[str]:
        with self.database.session() as session:
            return [j for (j,) in session.execute(select(Job.id).where(Job.state.in_(ACTIVE)).order_by(Job.created_at))]

    def lease_unit(self, job_id: str, canonical_url: str, owner: str, lease_seconds: float) -> Unit | None:
        """Lease the unit's queued items (or those whose lease ran out); None when there is nothing to take."""
        with self.database.session() as session:
            return self._lease(session, job_id, canonical_url, owner, lease_seconds)

    def lease_next(self, owner: str, lease_seconds: float, skip_sites: Iterable[str] = ()) -> Unit | None:
        """Lease the next unit waiting in any job (oldest first), for a runner that pulls from the store;
        `skip_sites`: sites being checked now, whose units would only have to wait."""
        skip = sorted(skip_sites)[:500]
        for _ in range(5):
            now = utcnow()
            with self.database.session() as session:
                query = (
                    select(JobItem.job_id, JobItem.canonical_url)
                    .where(JobItem.state == "queued", JobItem.available_at <= now)
                    .order_by(JobItem.available_at, JobItem.id).limit(1)
                    .with_for_update(skip_locked=True)
                )
                if skip:
                    query = query.where(JobItem.domain.not_in(skip))
                row = session.execute(query).first()
                if row is None:
                    return None
                unit = self._lease(session, row[0], row[1], owner, lease_seconds)
                if unit is not None:
                    return unit
        return None

    def lease_site(self, job_id: str, site: str, owner: str, lease_seconds: float) -> Unit | None:
        """Lease the job's next waiting unit on `site` (for the worker that holds the site's lock)."""
        now = utcnow()
        with self.database.session() as session:
            query = (
                select(JobItem.canonical_url)
                .where(JobItem.job_id == job_id, JobItem.domain == site, JobItem.state == "queued",
                       JobItem.available_at <= now)
                .order_by(JobItem.input_index).limit(1).with_for_update(skip_locked=True)
            )
            row = session.execute(query).first()
            return self._lease(session, job_id, row[0], owner, lease_seconds) if row else None

    def _lease(self, session, job_id: str, canonical_url: str, owner: str, lease_seconds: float) -> Unit | None:
        now = utcnow()
        takeable = and_(
            JobItem.job_id == job_id, JobItem.canonical_url == canonical_url,
            or_(and_(JobItem.state == "queued", JobItem.available_at <= now),
                and_(JobItem.state == "running", JobItem.lease_expires_at < now)),
        )
        # The update comes first: it takes the write lock (SQLite) or the rows' locks (PostgreSQL), and its
        # condition is evaluated again on rows another worker changed meanwhile, so one worker wins.
        taken = session.execute(
            update(JobItem).where(takeable)
            .values(state="running", lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
            .returning(JobItem.attempts, JobItem.domain)
        ).all()
        if not taken:
            return None
        job = session.get(Job, job_id)
        if job is None or job.state not in ACTIVE:
            session.rollback()
            return None
        if job.state == "queued":
            session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                            .values(state="running", started_at=now))
        return Unit(
            job_id=job_id, canonical_url=canonical_url, domain=taken[0][1] or "", max_age=job.max_age,
            force=job.force, job_created_at=_aware(job.created_at), attempts=max(a for a, _ in taken),
            items=len(taken),
        )

    def _held(self, unit: Unit, owner: str):
        return and_(JobItem.job_id == unit.job_id, JobItem.canonical_url == unit.canonical_url,
                    JobItem.state == "running", JobItem.lease_owner == owner)

    def start_attempt(self, unit: Unit, owner: str, lease_seconds: float) -> bool:
        """Count a check started on the unit (and renew the lease); False when the lease is lost."""
        with self.database.session() as session:
            result = session.execute(
                update(JobItem).where(self._held(unit, owner))
                .values(attempts=JobItem.attempts + 1, lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
            )
            return result.rowcount > 0

    def renew(self, unit: Unit, owner: str, lease_seconds: float) -> bool:
        with self.database.session() as session:
            result = session.execute(
                update(JobItem).where(self._held(unit, owner))
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
            )
            return result.rowcount > 0

    def release(self, unit: Unit, owner: str, delay: float = 0.0, *, error: tuple[str, str] | None = None) -> bool:
        """Give the unit back to the queue, to be taken again after `delay` seconds (a busy site, a retry)."""
        values = dict(state="queued", lease_owner=None, lease_expires_at=None,
                      available_at=utcnow() + timedelta(seconds=delay))
        if error is not None:
            values.update(error_code=error[0][:64], error_message=error[1][:500])
        with self.database.session() as session:
            return session.execute(update(JobItem).where(self._held(unit, owner)).values(**values)).rowcount > 0

    def complete(
        self, unit: Unit, owner: str, *, report: Report | None = None, report_id: int | None = None,
        from_cache: bool = False, check: dict | None = None,
    ) -> int:
        """Finish the unit with a report (kept now, or one already kept); returns the report's id. Raises LeaseLost,
        keeping nothing, when the worker no longer holds the unit."""
        now = utcnow()
        with self.database.session() as session:
            finished = session.execute(
                update(JobItem).where(self._held(unit, owner))
                .values(state="done", lease_owner=None, lease_expires_at=None, finished_at=now,
                        from_cache=from_cache, error_code=None, error_message=None)
                .returning(JobItem.input_index)
            ).all()
            if not finished:
                raise LeaseLost(unit.canonical_url)
            if report is not None:
                report_id = add_report(session, report, unit.canonical_url)
            session.execute(update(JobItem).where(JobItem.job_id == unit.job_id,
                                                  JobItem.input_index.in_([i for (i,) in finished]))
                            .values(report_id=report_id))
            if check is not None:
                session.add(check_row(**check, report_id=report_id, job_id=unit.job_id, finished_at=now))
            self._item_deliveries(session, unit.job_id, [i for (i,) in finished], now)
            return report_id

    def fail(self, unit: Unit, owner: str, code: str, message: str, *, check: dict | None = None) -> None:
        """Finish the unit without a report (a refused address, attempts used up). Raises LeaseLost."""
        now = utcnow()
        with self.database.session() as session:
            finished = session.execute(
                update(JobItem).where(self._held(unit, owner))
                .values(state="failed", lease_owner=None, lease_expires_at=None, finished_at=now,
                        error_code=code[:64], error_message=message[:500])
                .returning(JobItem.input_index)
            ).all()
            if not finished:
                raise LeaseLost(unit.canonical_url)
            if check is not None:
                session.add(check_row(**check, error_code=code, error_message=message, job_id=unit.job_id,
                                      finished_at=now))
            self._item_deliveries(session, unit.job_id, [i for (i,) in finished], now)

    def _item_deliveries(self, session, job_id: str, indexes: list[int], now: datetime) -> None:
        hook = session.execute(select(Job.webhook_url, Job.webhook_items).where(Job.id == job_id)).first()
        if hook and hook[0] and hook[1]:
            for index in sorted(indexes):
                _add_delivery(session, job_id, "item.finished", {"input_index": index}, now)

    def finish_if_complete(self, job_id: str) -> bool:
        """Mark the job done when nothing of it waits or runs; True for the one caller that did it."""
        now = utcnow()
        with self.database.session() as session:
            remaining = session.scalar(select(func.count()).select_from(JobItem)
                                       .where(JobItem.job_id == job_id, JobItem.state.in_(ACTIVE)))
            if remaining:
                return False
            done = session.execute(update(Job).where(Job.id == job_id, Job.state.in_(ACTIVE))
                                   .values(state="done", finished_at=now)).rowcount
            if done:
                url = session.scalar(select(Job.webhook_url).where(Job.id == job_id))
                if url:
                    _add_delivery(session, job_id, "job.finished", {}, now)
            return bool(done)

    def reap_expired(self) -> list[tuple[str, str, int]]:
        """Put items whose lease ran out back in the queue; returns the units freed (job, address, attempts)."""
        now = utcnow()
        with self.database.session() as session:
            freed = session.execute(
                update(JobItem).where(JobItem.state == "running", JobItem.lease_expires_at < now)
                .values(state="queued", lease_owner=None, lease_expires_at=None, available_at=now)
                .returning(JobItem.job_id, JobItem.canonical_url, JobItem.attempts)
            ).all()
        units: dict[tuple[str, str], int] = {}
        for job_id, canonical, attempts in freed:
            units[(job_id, canonical)] = max(attempts, units.get((job_id, canonical), 0))
        return [(j, c, a) for (j, c), a in units.items()]

    def queue_depth(self) -> dict[str, int]:
        with self.database.session() as session:
            rows = session.execute(select(JobItem.state, func.count()).where(JobItem.state.in_(ACTIVE))
                                   .group_by(JobItem.state)).all()
        return {state: n for state, n in rows}

    def jobs_by_state(self) -> dict[str, int]:
        with self.database.session() as session:
            return {s: n for s, n in session.execute(select(Job.state, func.count()).group_by(Job.state)).all()}

    def next_available(self) -> datetime | None:
        """When the earliest queued item may be taken (for a runner deciding how long to sleep)."""
        with self.database.session() as session:
            when = session.scalar(select(func.min(JobItem.available_at)).where(JobItem.state == "queued"))
        return _aware(when) if when else None

    # --- webhook outbox -----------------------------------------------------------------------------------

    def claim_deliveries(self, limit: int, claim_seconds: float) -> list[Delivery]:
        """Take up to `limit` due deliveries for one attempt each; a claim not settled in `claim_seconds` (the
        sender died) makes the delivery due again."""
        now = utcnow()
        with self.database.session() as session:
            due = (select(WebhookDelivery.id).where(WebhookDelivery.state == "pending",
                                                    WebhookDelivery.next_attempt_at <= now)
                   .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
                   .with_for_update(skip_locked=True))
            ids = [i for (i,) in session.execute(due)]
            if not ids:
                return []
            claimed = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.state == "pending",
                       WebhookDelivery.next_attempt_at <= now)
                .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + timedelta(seconds=claim_seconds))
                .returning(WebhookDelivery.id, WebhookDelivery.job_id, WebhookDelivery.event,
                           WebhookDelivery.payload, WebhookDelivery.attempts)
            ).all()
            hooks = dict(
                (j, (u, s)) for j, u, s in session.execute(
                    select(Job.id, Job.webhook_url, Job.webhook_secret).where(Job.id.in_({c[1] for c in claimed}))
                )
            )
        return [
            Delivery(id=i, job_id=j, event=e, ref=json.loads(p or "{}"), attempts=a,
                     webhook_url=hooks.get(j, ("", ""))[0] or "", webhook_secret=hooks.get(j, ("", ""))[1] or "")
            for i, j, e, p, a in sorted(claimed)
        ]

    def settle_delivery(self, delivery_id: int, *, delivered: bool, status: int | None, error: str | None,
                        retry_in: float | None) -> None:
        """Record an attempt: delivered, to be retried in `retry_in` seconds, or (retry_in None) given up."""
        now = utcnow()
        values: dict = {"last_status": status, "last_error": (error or None) and error[:500]}
        if delivered:
            values.update(state="delivered", delivered_at=now)
        elif retry_in is None:
            values.update(state="failed")
        else:
            values.update(next_attempt_at=now + timedelta(seconds=retry_in))
        with self.database.session() as session:
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))

    def deliveries(self, job_id: str) -> list[WebhookDelivery]:
        with self.database.session() as session:
            return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)
                                        .order_by(WebhookDelivery.id)))


def _add_delivery(session, job_id: str, event: str, ref: dict, now: datetime) -> None:
    session.add(WebhookDelivery(job_id=job_id, event=event, payload=json.dumps(ref), state="pending", attempts=0,
                                next_attempt_at=now, created_at=now))


def _view(session, job: Job) -> JobView:
    counts = {s: n for s, n in session.execute(
        select(JobItem.state, func.count()).where(JobItem.job_id == job.id).group_by(JobItem.state)).all()}
    cached = session.scalar(select(func.count()).select_from(JobItem)
                            .where(JobItem.job_id == job.id, JobItem.from_cache.is_(True))) or 0
    rejected = session.scalar(select(func.count()).select_from(JobItem)
                              .where(JobItem.job_id == job.id, JobItem.canonical_url.is_(None))) or 0
    return JobView(
        id=job.id, state=job.state, source=job.source, total=job.total, unique_urls=job.unique_urls,
        max_age=job.max_age, force=job.force, webhook_url=job.webhook_url, webhook_items=job.webhook_items,
        owner=job.owner, created_at=_aware(job.created_at),
        started_at=_aware(job.started_at) if job.started_at else None,
        finished_at=_aware(job.finished_at) if job.finished_at else None,
        counts=counts, from_cache=int(cached), rejected=int(rejected),
    )
