"""POST/GET /api/v1/checks: check one site and return its report.

Both go through the report cache the web page uses, so a site checked in the last hour (Settings.cache_ttl)
answers at once with the same report, and a request for a site being checked joins that check.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.cache import ReportCache
from app.report import ErrorResponse, Report

from .deps import get_reports

router = APIRouter(prefix="/api/v1", tags=["checks"])

ERRORS = {
    400: {"model": ErrorResponse, "description": "Invalid or refused URL"},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse, "description": "Too many sites are being checked at once; retry after Retry-After seconds"},
}


class CheckRequest(BaseModel):
    url: str = Field(..., min_length=1, max_length=2048, examples=["https://pharmacy.example"])


@router.post("/checks", response_model=Report, responses=ERRORS)
async def create_check(body: CheckRequest, reports: ReportCache = Depends(get_reports)) -> Report:
    return await reports.check(body.url)


@router.get("/checks", response_model=Report, responses=ERRORS)
async def get_check(
    url: str = Query(..., min_length=1, max_length=2048, description="Address of the pharmacy site"),
    reports: ReportCache = Depends(get_reports),
) -> Report:
    return await reports.check(url)
