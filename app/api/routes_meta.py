"""GET /healthz and GET /api/v1/rules (the published scoring table)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.pipeline import Checker
from app.scoring import scoring_table

from .deps import get_checker

router = APIRouter()


@router.get("/healthz", tags=["meta"])
async def healthz(checker: Checker = Depends(get_checker)) -> dict:
    """Whether the service is up, with the algorithm version of its rules and whether it can render pages."""
    return {"status": "ok", "algorithm_version": checker.rules.algorithm_version, "from_archive": checker.fetcher.from_archive,
            "rendering": checker.rendering}


@router.get("/api/v1/rules", tags=["meta"])
async def rules(checker: Checker = Depends(get_checker)) -> dict:
    """The scoring table: every outcome with its severity, points and wording."""
    return scoring_table(checker.rules)
