"""Prometheus metrics: checks, their durations, fetch errors by code, the job queue and webhooks.

Every process (the service, each `pharmacheck worker`) counts what it does itself in one registry; the queue's
depth and the jobs by state are read from the store when the metrics are scraped, so they are the same
whichever process is asked. The service answers at /metrics; a worker with --metrics-port on a port of its own.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.platform_collector import PlatformCollector

log = logging.getLogger("pharmacheck.metrics")

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 45, 60)

CHECKS = Counter("pharmacheck_checks", "Checks that ended in a report, by who asked and the verdict",
                 ["origin", "verdict"], registry=REGISTRY)
CHECK_FAILURES = Counter("pharmacheck_check_failures", "Checks that ended without a report, by error code",
                         ["origin", "code"], registry=REGISTRY)
CHECK_DURATION = Histogram("pharmacheck_check_duration_seconds", "Time from the start of a check to its report",
                           ["origin"], buckets=DURATION_BUCKETS, registry=REGISTRY)
FETCH_ERRORS = Counter("pharmacheck_fetch_errors", "Pages of checked sites that could not be read, by error code",
                       ["code"], registry=REGISTRY)
CACHE_LOOKUPS = Counter("pharmacheck_report_cache_lookups", "Report look-ups: answered from memory, from the store, or missed",
                        ["result"], registry=REGISTRY)
JOBS_CREATED = Counter("pharmacheck_jobs_created", "Batch jobs created", registry=REGISTRY)
JOB_URLS = Counter("pharmacheck_job_urls_submitted", "Addresses submitted in batch jobs", registry=REGISTRY)
JOB_UNITS = Counter("pharmacheck_job_units", "Units of work (one canonical address of a job) handled by this process, by outcome",
                    ["outcome"], registry=REGISTRY)
WEBHOOKS = Counter("pharmacheck_webhook_deliveries", "Webhook delivery attempts, by outcome", ["outcome"], registry=REGISTRY)
HTTP_REQUESTS = Counter("pharmacheck_http_requests", "HTTP requests answered, by route and status class",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram("pharmacheck_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                          ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
                          registry=REGISTRY)
WORKERS_BUSY = Gauge("pharmacheck_job_units_in_progress", "Units of work this process is checking now", registry=REGISTRY)


def count_report(report, origin: str) -> None:
    """A finished report: its verdict, how long it took and why any of its pages could not be read."""
    CHECKS.labels(origin, report.verdict).inc()
    CHECK_DURATION.labels(origin).observe(max(0.0, report.elapsed_ms / 1000))
    for page in report.pages:
        if page.error:
            FETCH_ERRORS.labels(page.error).inc()


def count_failure(origin: str, code: str) -> None:
    CHECK_FAILURES.labels(origin, code or "unknown").inc()


class StoreCollector:
    """The queue and the jobs, read from the store at scrape time (a failing store costs only these lines)."""

    def __init__(self):
        self.jobs = None  # app.store.jobs.JobStore, set by whoever opens one (the service, a worker)
        self.queue_length = None  # a callable giving the Redis queue's length when there is one

    def collect(self):
        depth = GaugeMetricFamily("pharmacheck_queue_depth", "Job items waiting (queued) or being checked (running)",
                                  labels=["state"])
        jobs = GaugeMetricFamily("pharmacheck_jobs", "Batch jobs by state", labels=["state"])
        if self.jobs is not None:
            try:
                items = self.jobs.queue_depth()
                for state in ("queued", "running"):
                    depth.add_metric([state], items.get(state, 0))
                for state, n in sorted(self.jobs.jobs_by_state().items()):
                    jobs.add_metric([state], n)
            except Exception:
                log.warning("could not read the queue from the store for /metrics", exc_info=True)
        yield depth
        yield jobs


STORE = StoreCollector()
REGISTRY.register(STORE)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


class HTTPMetricsMiddleware:
    """Counts every answer by route template (not by address, which would make a label per site asked about)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def counting(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or ("/static" if scope.get("path", "").startswith("/static/") else "other")
            HTTP_REQUESTS.labels(scope.get("method", ""), name, f"{status[0] // 100}xx").inc()
            HTTP_DURATION.labels(name).observe(time.perf_counter() - started)
