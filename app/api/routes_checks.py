"""POST/GET /api/v1/checks (one site) and POST /api/v1/batches (many sites, streamed as JSON lines).

One-site checks go through the report cache the web page uses, so a site checked in the last hour
(Settings.cache_ttl) answers at once with the same report, and a request for a site being checked joins that check.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.cache import ReportCache
from app.netpolicy import FetchError
from app.pipeline import Checker
from app.report import Report

from .deps import get_checker, get_reports
from .errors import APIError
from .openapi import ndjson_response

router = APIRouter(prefix="/api/v1", tags=["checks"])

BATCH_CONCURRENCY = 4


class CheckRequest(BaseModel):
    url: str = Field(..., min_length=1, max_length=2048, description="Address of the pharmacy site; a bare domain gets https://.",
                     examples=["https://pharmacy.example"])


class BatchRequest(BaseModel):
    urls: list[str] = Field(..., min_length=1, description="The sites to check, at most 100; each costs one check of quota.",
                            examples=[["https://pharmacy.example", "https://other.example"]])


class BatchLineError(BaseModel):
    code: str = Field(description="invalid_url, blocked_destination or internal_error.")
    message: str


class BatchErrorLine(BaseModel):
    """A line of a batch answer for a URL that was refused or whose check failed."""

    url: str
    error: BatchLineError


async def _charge(request: Request, cost: int = 1) -> None:
    # In the route, after the request was validated: a malformed request costs nothing.
    await run_in_threadpool(request.app.state.access.charge, request, cost)


@router.post("/checks", response_model=Report)
async def create_check(body: CheckRequest, request: Request, reports: ReportCache = Depends(get_reports)) -> Report:
    """Check one site (JSON body `{"url": ...}`) and answer with its report. Costs one check."""
    await _charge(request)
    return await reports.check(body.url)


@router.get("/checks", response_model=Report)
async def get_check(
    request: Request,
    url: str = Query(..., min_length=1, max_length=2048, description="Address of the pharmacy site"),
    reports: ReportCache = Depends(get_reports),
) -> Report:
    """The same check for links and simple clients: the address in the query. Costs one check."""
    await _charge(request)
    return await reports.check(url)


@router.post(
    "/batches",
    response_class=StreamingResponse,
    responses={200: ndjson_response("One line per URL: its report, or `{\"url\", \"error\"}` when it was refused or failed.",
                                    Report, BatchErrorLine)},
)
async def create_batch(body: BatchRequest, request: Request, checker: Checker = Depends(get_checker)):
    """Check many sites; each line of the answer is a report, or `{"url", "error"}` for a refused URL.

    Lines arrive as checks finish, so a client sees results before the slowest site is done. Every URL costs
    one check of quota, charged up front so a batch is never cut off half-way.
    """
    limit = request.app.state.settings.max_batch_urls
    if len(body.urls) > limit:
        raise APIError(422, "batch_too_large", f"A batch may hold at most {limit} URLs; this one has {len(body.urls)}.")
    await _charge(request, len(body.urls))

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
