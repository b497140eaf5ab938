"""What the API answers and webhooks send about jobs and their items."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.report import Report
from app.store.jobs import ItemView, JobView

JobState = Literal["queued", "running", "done", "cancelled"]
ItemState = Literal["queued", "running", "done", "failed", "cancelled"]


class ItemError(BaseModel):
    code: str = Field(examples=["invalid_url"])
    message: str = Field(examples=["The address has no host name."])


class JobCounts(BaseModel):
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    from_cache: int = Field(0, description="Items answered by a kept report instead of a new check")


class JobLinks(BaseModel):
    self: str
    results: str
    results_jsonl: str
    results_csv: str
    cancel: str


class WebhookOut(BaseModel):
    url: str
    items: bool = Field(description="Whether every finished item is sent too (event item.finished)")
    secret: str | None = Field(None, description="The signing secret: shown only in the answer that created the job")


class JobOut(BaseModel):
    id: str = Field(examples=["5f0c1a7e9b2d4c6f8a1e3b5d7c9f2a4e"])
    state: JobState
    source: Literal["json", "csv", "txt"]
    total: int = Field(description="Addresses submitted (every one is an item with its input index)")
    unique_urls: int = Field(description="Distinct canonical addresses among them: at most this many checks")
    counts: JobCounts
    progress: float = Field(ge=0, le=1, description="Finished items / total")
    eta_seconds: int | None = Field(None, description="Estimated seconds until done at the pace so far")
    max_age: int = Field(description="A kept report at most this many seconds old answers an item")
    force: bool = Field(description="Only reports made after the job was created answer its items")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    webhook: WebhookOut | None = None
    links: JobLinks


class ResultItem(BaseModel):
    index: int = Field(description="Position of the address in the submitted list or file, from 0")
    input_url: str = Field(description="The address as submitted")
    canonical_url: str | None = Field(None, description="The spelling it was checked under (null when refused)")
    state: ItemState
    attempts: int = Field(description="Checks started for it (0 when a kept report answered)")
    from_cache: bool = False
    report_id: int | None = None
    report_url: str | None = Field(None, description="GET it for the whole report")
    verdict: str | None = None
    score: int | None = None
    final_url: str | None = None
    algorithm_version: str | None = None
    checked_at: datetime | None = None
    error: ItemError | None = None
    report: Report | None = Field(None, description="The whole report (in JSON lines downloads, batches, "
                                                    "and pages asked for with reports=true)")


class ResultPage(BaseModel):
    job_id: str
    state: JobState
    items: list[ResultItem]
    next_after: int | None = Field(None, description="Pass as `after` for the next page; null on the last page")
    next: str | None = Field(None, description="The next page's address")


def job_out(view: JobView, base: str = "", secret: str | None = None) -> JobOut:
    path = f"{base}/api/v1/jobs/{view.id}"
    counts = JobCounts(**{k: view.counts.get(k, 0) for k in ("queued", "running", "done", "failed", "cancelled")},
                       from_cache=view.from_cache)
    return JobOut(
        id=view.id, state=view.state, source=view.source, total=view.total, unique_urls=view.unique_urls,
        counts=counts, progress=round(view.finished / view.total, 4) if view.total else 1.0,
        eta_seconds=view.eta_seconds(), max_age=view.max_age, force=view.force, created_at=view.created_at,
        started_at=view.started_at, finished_at=view.finished_at,
        webhook=WebhookOut(url=view.webhook_url, items=view.webhook_items, secret=secret) if view.webhook_url else None,
        links=JobLinks(self=path, results=f"{path}/results", results_jsonl=f"{path}/results.jsonl",
                       results_csv=f"{path}/results.csv", cancel=f"{path}/cancel"),
    )


def result_item(item: ItemView, base: str = "") -> ResultItem:
    report = Report.model_validate_json(item.report_json) if item.report_json else None
    return ResultItem(
        index=item.input_index, input_url=item.input_url, canonical_url=item.canonical_url, state=item.state,
        attempts=item.attempts, from_cache=item.from_cache, report_id=item.report_id,
        report_url=f"{base}/api/v1/reports/{item.report_id}" if item.report_id else None,
        verdict=item.verdict, score=item.score, final_url=item.final_url, algorithm_version=item.algorithm_version,
        checked_at=item.checked_at,
        error=ItemError(code=item.error_code, message=item.error_message or "") if item.error_code and item.state != "done" else None,
        report=report,
    )
