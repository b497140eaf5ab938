"""POST/GET /api/v1/checks (one site) and POST /api/v1/batches (many sites, streamed as JSON lines).

One-site checks go through the report cache the web page uses, so a site checked in the last hour
(Settings.cache_ttl) answers at once with the same report, and a request for a site being checked joins that check.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.cache import ReportCache
from app.netpolicy import FetchError
from app.pipeline import Checker
from app.report import ErrorResponse, Report

from .access import require_quota
from .deps import get_checker, get_reports
from .errors import APIError

router = APIRouter(prefix="/api/v1", tags=["checks"])

ERRORS = {
    400: {"model": ErrorResponse, "description": "Invalid or refused URL"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    422: {"model": ErrorResponse, "description": "Malformed request"},
    429: {"model": ErrorResponse, "description": "Rate limit reached"},
    503: {"model": ErrorResponse, "description": "Too many sites are being checked at once; retry after Retry-After seconds"},
}

BATCH_CONCURRENCY = 4


class CheckRequest(BaseModel):
    url: str = Field(..., min_length=1, max_length=2048, examples=["https://pharmacy.example"])


class BatchRequest(BaseModel):
    urls: list[str] = Field(..., min_length=1, examples=[["https://pharmacy.example", "https://other.example"]])


@router.post("/checks", response_model=Report, responses=ERRORS, dependencies=[Depends(require_quota)])
async def create_check(body: CheckRequest, reports: ReportCache = Depends(get_reports)) -> Report:
    """Check one site (JSON body `{"url": ...}`) and answer with its report."""
    return await reports.check(body.url)


@router.get("/checks", response_model=Report, responses=ERRORS, dependencies=[Depends(require_quota)])
async def get_check(
    url: str = Query(..., min_length=1, max_length=2048, description="Address of the pharmacy site"),
    reports: ReportCache = Depends(get_reports),
) -> Report:
    """The same check for links and simple clients: the address in the query."""
    return await reports.check(url)


@router.post(
    "/batches",
    responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}}, "description": "One JSON report per line"}},
)
async def create_batch(body: BatchRequest, request: Request, checker: Checker = Depends(get_checker)):
    """Check many sites; each line of the answer is a report, or `{"url", "error"}` for a refused URL.

    Lines arrive as checks finish, so a client sees results before the slowest site is done. Every URL costs
    one check of quota, charged up front so a batch is never cut off half-way.
    """
    limit = request.app.state.settings.max_batch_urls
    if len(body.urls) > limit:
        raise APIError(422, "batch_too_large", f"A batch may hold at most {limit} URLs; this one has {len(body.urls)}.")
    request.app.state.access.charge(request, cost=len(body.urls))

    async def lines():
        semaphore = asyncio.Semaphore(BATCH_CONCURRENCY)
        queue: asyncio.Queue = asyncio.Queue()

        async def one(url: str) -> None:
            async with semaphore:
                try:
                    await queue.put((await checker.check(url)).model_dump_json())
                except FetchError as exc:
                    await queue.put(json.dumps({"url": url, "error": {"code": exc.code, "message": exc.message}}))
                except Exception:  # one site's failure must not end the stream for the others
                    await queue.put(json.dumps({"url": url, "error": {"code": "internal_error", "message": "This site could not be checked."}}))

        tasks = [asyncio.ensure_future(one(u)) for u in body.urls]
        try:
            for _ in body.urls:
                yield (await queue.get()) + "\n"
        finally:
            for task in tasks:
                task.cancel()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
