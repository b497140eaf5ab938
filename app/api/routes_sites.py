"""Kept reports: a site's history (GET /api/v1/sites/{domain}/reports) and one report by id."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.domains import registrable_domain
from app.report import ErrorResponse, Report
from app.store import ReportStore

from .errors import APIError

router = APIRouter(prefix="/api/v1", tags=["reports"])

ERRORS = {
    400: {"model": ErrorResponse, "description": "Not a domain name"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    404: {"model": ErrorResponse, "description": "No such report"},
    422: {"model": ErrorResponse, "description": "Malformed request"},
}
DOMAIN = re.compile(r"^[a-z0-9\[\]](?:[a-z0-9.:\[\]-]{0,251}[a-z0-9\]])?$")


class SiteReport(BaseModel):
    id: int
    url: str = Field(description="The address that was checked")
    final_url: str
    verdict: str
    score: int | None
    algorithm_version: str
    checked_at: datetime
    report_url: str = Field(description="GET it for the whole report")


class SiteHistory(BaseModel):
    domain: str = Field(description="The registrable domain the history gathers (every page of the site)")
    reports: list[SiteReport] = Field(description="Newest first")
    next_before: int | None = Field(None, description="Pass as `before` for the next (older) page; null on the last")
    next: str | None = None


def _store(request: Request) -> ReportStore:
    return ReportStore(request.app.state.jobs.database)


def _site(domain: str) -> str:
    text = domain.strip().lower().rstrip(".")
    if not DOMAIN.match(text) or "." not in text and ":" not in text:
        raise APIError(400, "invalid_domain", "Give the site's domain name, such as pharmacy.example (no https:// or path).")
    return registrable_domain(text) or text


@router.get("/sites/{domain}/reports", response_model=SiteHistory, responses=ERRORS)
async def site_reports(
    domain: str, request: Request,
    limit: int = Query(20, ge=1, le=100),
    before: int | None = Query(None, ge=1, description="Reports older than this report id (the previous page's next_before)"),
) -> SiteHistory:
    """Every kept report of a site (any page of its registrable domain), newest first, a page at a time."""
    request.app.state.access.identify(request)
    site = _site(domain)
    found = await asyncio.to_thread(_store(request).history, site, limit=limit + 1, before_id=before)
    page, more = found[:limit], len(found) > limit
    base = request.app.state.settings.public_url or ""
    next_before = page[-1].id if more and page else None
    return SiteHistory(
        domain=site,
        reports=[SiteReport(id=r.id, url=r.url, final_url=r.final_url, verdict=r.verdict, score=r.score,
                            algorithm_version=r.algorithm_version, checked_at=r.checked_at,
                            report_url=f"{base}/api/v1/reports/{r.id}") for r in page],
        next_before=next_before,
        next=f"{base}/api/v1/sites/{site}/reports?before={next_before}&limit={limit}" if next_before else None,
    )


@router.get("/reports/{report_id}", response_model=Report, responses=ERRORS)
async def get_report(report_id: int, request: Request) -> Response:
    """One kept report, whole, as it was made."""
    request.app.state.access.identify(request)
    report = await asyncio.to_thread(_store(request).get, report_id) if 0 < report_id < 2**62 else None
    if report is None:
        raise APIError(404, "report_not_found", f"There is no report {report_id}.")
    return Response(report.model_dump_json(), media_type="application/json")
