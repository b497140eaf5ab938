"""GET /healthz, GET /metrics (Prometheus) and GET /api/v1/rules (the published scoring table)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.pipeline import Checker
from app.scoring import scoring_table

from .deps import get_checker

router = APIRouter()


@router.get("/healthz", tags=["meta"])
async def healthz(checker: Checker = Depends(get_checker)) -> dict:
    """Whether the service is up, with the algorithm version of its rules."""
    return {"status": "ok", "algorithm_version": checker.rules.algorithm_version, "from_archive": checker.fetcher.from_archive}


@router.get("/api/v1/rules", tags=["meta"])
async def rules(checker: Checker = Depends(get_checker)) -> dict:
    """The scoring table: every outcome with its severity, points and wording."""
    return scoring_table(checker.rules)


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus metrics of this process, and the queue and jobs as the store holds them."""
    import asyncio

    from app import metrics

    if not request.app.state.settings.metrics_enabled:
        return Response(status_code=404, content=b'{"error": {"code": "not_found", "message": "Metrics are turned off."}}',
                        media_type="application/json")
    # Reading the queue's depth asks the store: off the event loop.
    return Response(await asyncio.to_thread(metrics.exposition), media_type=CONTENT_TYPE_LATEST)
