"""POST/GET /api/v1/checks: check one site and return its report."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.pipeline import Checker
from app.report import ErrorResponse, Report

from .deps import get_checker

router = APIRouter(prefix="/api/v1", tags=["checks"])

ERRORS = {400: {"model": ErrorResponse, "description": "Invalid or refused URL"}, 422: {"model": ErrorResponse}}


class CheckRequest(BaseModel):
    url: str = Field(..., min_length=1, max_length=2048, examples=["https://pharmacy.example"])


@router.post("/checks", response_model=Report, responses=ERRORS)
async def create_check(body: CheckRequest, checker: Checker = Depends(get_checker)) -> Report:
    return await checker.check(body.url)


@router.get("/checks", response_model=Report, responses=ERRORS)
async def get_check(
    url: str = Query(..., min_length=1, max_length=2048, description="Address of the pharmacy site"),
    checker: Checker = Depends(get_checker),
) -> Report:
    return await checker.check(url)
