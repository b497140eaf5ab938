"""POST/GET /api/v1/checks (one site) and POST /api/v1/batches (many sites, streamed as JSON lines).

Both go through the report cache the web page uses, so a site checked in the last hour (Settings.cache_ttl, or
the request's own max_age) answers at once with the same report, kept in memory or in the store, and a request
for a site being checked joins that check: three spellings of one site in a batch cost one check.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.cache import CheckerBusy, ReportCache
from app.jobs.models import ItemError, ResultItem
from app.netpolicy import FetchError
from app.report import ErrorResponse, Report

from .access import require_quota
from .deps import get_reports
from .errors import APIError

log = logging.getLogger("pharmacheck.api")

router = APIRouter(prefix="/api/v1", tags=["checks"])

ERRORS = {
    400: {"model": ErrorResponse, "description": "Invalid or refused URL"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    422: {"model": ErrorResponse, "description": "Malformed request"},
    429: {"model": ErrorResponse, "description": "Rate limit reached"},
    503: {"model": ErrorResponse, "description": "Too many sites are being checked at once; retry after Retry-After seconds"},
}

BATCH_CONCURRENCY = 4
# A batch whose check finds the service busy waits this long, a few seconds at a time, before giving that
# address the error line `busy`.
BATCH_BUSY_WAIT = 60.0
MAX_AGE_LIMIT = 365 * 86400
MAX_AGE_DESCRIPTION = ("Seconds: a kept report at most this old answers without a new check (default: the service's "
                       "cache time-to-live, 3600; 0 checks the site now)")


class CheckRequest(BaseModel):
    url: str = Field(..., min_length=1, max_length=2048, examples=["https://pharmacy.example"])
    max_age: int | None = Field(None, ge=0, le=MAX_AGE_LIMIT, description=MAX_AGE_DESCRIPTION)


class BatchRequest(BaseModel):
    urls: list[str] = Field(..., min_length=1, examples=[["https://pharmacy.example", "https://other.example"]])
    max_age: int | None = Field(None, ge=0, le=MAX_AGE_LIMIT, description=MAX_AGE_DESCRIPTION)


@router.post("/checks", response_model=Report, responses=ERRORS, dependencies=[Depends(require_quota)])
async def create_check(body: CheckRequest, reports: ReportCache = Depends(get_reports)) -> Report:
    """Check one site (JSON body `{"url": ...}`, optionally with `max_age`) and answer with its report."""
    return await reports.check(body.url, max_age=body.max_age)


@router.get("/checks", response_model=Report, responses=ERRORS, dependencies=[Depends(require_quota)])
async def get_check(
    url: str = Query(..., min_length=1, max_length=2048, description="Address of the pharmacy site"),
    max_age: int | None = Query(None, ge=0, le=MAX_AGE_LIMIT, description=MAX_AGE_DESCRIPTION),
    reports: ReportCache = Depends(get_reports),
) -> Report:
    """The same check for links and simple clients: the address in the query."""
    return await reports.check(url, max_age=max_age)


@router.post(
    "/batches",
    responses={**ERRORS, 200: {"content": {"application/x-ndjson": {"schema": ResultItem.model_json_schema(
        ref_template="#/components/schemas/{model}")}},
        "description": "One line per address: its input index, the address as given, and its report or error"}},
)
async def create_batch(body: BatchRequest, request: Request, reports: ReportCache = Depends(get_reports)):
    """Check up to 100 sites and stream the answers; each line is an item as in a job's results: `index` (the
    address's position in `urls`), `input_url`, `canonical_url`, `state` (done or failed), and `report` or `error`.

    Lines arrive as checks finish, so a client sees results before the slowest site is done; the index puts
    them back in order. Addresses with one canonical spelling share one check, and a kept report no older
    than `max_age` answers without one. Every distinct address costs one check of quota, charged up front so
    a batch is never cut off half-way. For longer lists, use a job (POST /api/v1/jobs).
    """
    limit = request.app.state.settings.max_batch_urls
    if len(body.urls) > limit:
        raise APIError(422, "batch_too_large", f"A batch may hold at most {limit} URLs; this one has {len(body.urls)}.")
    keys: list[str | FetchError] = []
    for url in body.urls:
        try:
            keys.append(reports.canonical(url))
        except FetchError as exc:
            keys.append(exc)
    distinct = {k for k in keys if isinstance(k, str)}
    if distinct:
        request.app.state.access.charge(request, cost=len(distinct))

    async def one(index: int, url: str, key) -> str:
        item = ResultItem(index=index, input_url=url, state="failed", attempts=0,
                          canonical_url=key if isinstance(key, str) else None)
        if isinstance(key, FetchError):
            item.error = ItemError(code=key.code, message=key.message)
            return item.model_dump_json()
        waited = 0.0
        while True:
            try:
                report = await reports.check(key, max_age=body.max_age, origin="batch")
            except CheckerBusy as exc:
                if waited >= BATCH_BUSY_WAIT:
                    item.error = ItemError(code="busy", message=str(exc))
                    break
                await asyncio.sleep(exc.retry_after)
                waited += exc.retry_after
                continue
            except FetchError as exc:
                item.error = ItemError(code=exc.code, message=exc.message)
            except Exception:  # one site's failure must not end the stream for the others
                log.exception("batch check of %s failed", key)
                item.error = ItemError(code="internal_error", message="This site could not be checked.")
            else:
                item.state, item.attempts, item.report = "done", 1, report
                item.verdict, item.score, item.final_url = report.verdict, report.score, report.final_url
                item.algorithm_version = report.algorithm_version
            break
        return item.model_dump_json(exclude={"report_url", "report_id", "from_cache", "checked_at"})

    async def lines():
        semaphore = asyncio.Semaphore(BATCH_CONCURRENCY)
        queue: asyncio.Queue = asyncio.Queue()

        async def run(index: int, url: str, key) -> None:
            async with semaphore:
                await queue.put(await one(index, url, key))

        tasks = [asyncio.ensure_future(run(i, u, k)) for i, (u, k) in enumerate(zip(body.urls, keys))]
        try:
            for _ in body.urls:
                yield (await queue.get()) + "\n"
        finally:
            for task in tasks:
                task.cancel()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
