"""GET /healthz and GET /api/v1/rules (the published scoring table)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.pipeline import Checker
from app.scoring import scoring_table
from app.second_opinion import published_second_opinion

from .deps import get_checker

router = APIRouter()


@router.get("/healthz", tags=["meta"])
async def healthz(checker: Checker = Depends(get_checker)) -> dict:
    """Whether the service is up, with the algorithm version of its rules."""
    return {"status": "ok", "algorithm_version": checker.algorithm_version, "from_archive": checker.fetcher.from_archive}


@router.get("/api/v1/rules", tags=["meta"])
async def rules(checker: Checker = Depends(get_checker)) -> dict:
    """The scoring table: every outcome with its severity, points and wording, and the second opinion's rules."""
    table = scoring_table(checker.rules)
    # Reports carry the rules' version plus the model's id; the table says which model that is.
    table["algorithm_version"] = checker.algorithm_version
    table["second_opinion"] = published_second_opinion(checker.rules, checker.opinions)
    return table
