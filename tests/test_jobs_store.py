"""Jobs in the store, on SQLite and on PostgreSQL: units of one canonical address, leases that exclude a second
worker and run out, finishing only while the lease is held, cancelling, and the webhook outbox."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from app.report import Report
from app.store import Database, ReportStore
from app.store.checks import CheckStore
from app.store.jobs import JobStore, LeaseLost, NewItem


def _report(url: str) -> Report:
    return Report(
        url=url, final_url=url, checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        algorithm_version="test", verdict="caution", score=50, grade=None, summary="s", coverage=0.5,
        categories=[], findings=[], pages=[], redirects=[], errors=[],
    )


def _items(*pairs) -> list[NewItem]:
    return [NewItem(input_url=given, canonical_url=key, domain=key and key.split("/")[2]) for given, key in pairs]


@pytest.fixture
def jobs(database_url):
    database = Database(database_url)
    yield JobStore(database)
    database.dispose()


def _row(url: str) -> dict:
    return {"url": url, "canonical_url": url, "origin": "job", "started_at": datetime.now(timezone.utc), "worker": "w"}


def test_spellings_of_one_address_are_one_unit_and_refusals_are_items(jobs):
    a = "https://a.example/"
    job_id = jobs.create(_items(("a.example", a), ("https://A.example", a), ("ftp://x", None), ("b.example", "https://b.example/")),
                         source="json", max_age=60)
    view = jobs.view(job_id)
    assert view.total == 4 and view.unique_urls == 2 and view.state == "queued"
    assert view.counts == {"queued": 3, "failed": 1} and view.rejected == 1
    assert jobs.queued_units(job_id) == [a, "https://b.example/"]
    assert jobs.queued_unit_count() >= 2

    unit = jobs.lease_unit(job_id, a, "w1", 30)
    assert unit.items == 2 and unit.attempts == 0 and unit.domain == "a.example"
    assert jobs.lease_unit(job_id, a, "w2", 30) is None  # held by w1
    assert jobs.view(job_id).state == "running"
    assert jobs.start_attempt(unit, "w1", 30)
    report_id = jobs.complete(unit, "w1", report=_report(a), check=_row(a))
    with pytest.raises(LeaseLost):
        jobs.complete(unit, "w1", report=_report(a))  # finished once only
    items = jobs.results(job_id)
    assert [i.input_index for i in items] == [0, 1, 2, 3]
    assert [i.state for i in items] == ["done", "done", "failed", "queued"]
    assert items[0].report_id == items[1].report_id == report_id and items[0].verdict == "caution"
    assert items[0].attempts == 1 and items[2].error_code == "invalid_url"
    assert not jobs.finish_if_complete(job_id)

    other = jobs.lease_next("w2", 30)
    assert other.canonical_url == "https://b.example/"
    jobs.fail(other, "w2", "blocked_destination", "Private.", check=_row(other.canonical_url))
    assert jobs.finish_if_complete(job_id) and not jobs.finish_if_complete(job_id)
    view = jobs.view(job_id)
    assert view.state == "done" and view.finished == 4 and view.eta_seconds() == 0
    checks = CheckStore(jobs.database).for_job(job_id)
    assert [(c.canonical_url, c.state) for c in checks] == [(a, "done"), ("https://b.example/", "failed")]


def test_an_expired_lease_goes_back_to_the_queue_and_the_late_answer_is_dropped(jobs):
    a = "https://a.example/"
    job_id = jobs.create(_items(("a.example", a)), source="txt", max_age=0)
    first = jobs.lease_unit(job_id, a, "dead", 0.2)
    assert jobs.start_attempt(first, "dead", 0.2)
    time.sleep(0.4)
    assert jobs.lease_next("other", 30) is None  # still 'running' until reaped
    assert jobs.reap_expired() == [(job_id, a, 1)]
    second = jobs.lease_next("alive", 30)
    assert second is not None and second.attempts == 1
    with pytest.raises(LeaseLost):
        jobs.complete(first, "dead", report=_report(a))
    assert ReportStore(jobs.database).latest(a) is None  # the dropped answer kept nothing
    jobs.complete(second, "alive", report=_report(a))
    assert [i.state for i in jobs.results(job_id)] == ["done"]


def test_a_unit_given_back_waits_its_delay(jobs):
    a = "https://a.example/"
    job_id = jobs.create(_items(("a.example", a)), source="json", max_age=0)
    unit = jobs.lease_next("w", 30)
    assert jobs.release(unit, "w", 0.3)
    assert jobs.lease_next("w", 30) is None
    time.sleep(0.4)
    assert jobs.lease_next("w", 30).canonical_url == a
    assert jobs.view(job_id).counts == {"running": 1}


def test_cancel_stops_queued_items_and_running_ones_keep_their_answer(jobs):
    a, b = "https://a.example/", "https://b.example/"
    job_id = jobs.create(_items(("a", a), ("b", b)), source="json", max_age=0, webhook_url="https://hooks.example/",
                         webhook_secret="s" * 20, webhook_items=True)
    running = jobs.lease_unit(job_id, a, "w", 30)
    view = jobs.cancel(job_id)
    assert view.state == "cancelled" and view.counts == {"running": 1, "cancelled": 1}
    assert jobs.lease_unit(job_id, b, "w", 30) is None
    jobs.complete(running, "w", report=_report(a))
    assert [i.state for i in jobs.results(job_id)] == ["done", "cancelled"]
    assert [d.event for d in jobs.deliveries(job_id)] == ["job.finished", "item.finished"]


def test_the_webhook_outbox_is_claimed_once_and_retried(jobs):
    job_id = jobs.create(_items(("bad", None)), source="json", max_age=0, webhook_url="https://hooks.example/",
                         webhook_secret="s" * 20)
    assert jobs.view(job_id).state == "done"  # nothing to check: done at once, and told
    [delivery] = jobs.claim_deliveries(10, 30)
    assert delivery.event == "job.finished" and delivery.attempts == 1 and delivery.webhook_secret == "s" * 20
    assert jobs.claim_deliveries(10, 30) == []  # claimed
    jobs.settle_delivery(delivery.id, delivered=False, status=500, error="boom", retry_in=0)
    [again] = jobs.claim_deliveries(10, 30)
    assert again.id == delivery.id and again.attempts == 2
    jobs.settle_delivery(again.id, delivered=True, status=204, error=None, retry_in=None)
    [row] = jobs.deliveries(job_id)
    assert row.state == "delivered" and row.last_status == 204 and jobs.claim_deliveries(10, 30) == []
