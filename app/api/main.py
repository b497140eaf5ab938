"""The FastAPI application: small routers, one Checker built from settings at start-up."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__, metrics
from app.cache import ReportCache
from app.language import warm_up
from app.page import run_analysis
from app.service import make_checker
from app.settings import Settings
from app.store import ReportStore, open_database
from app.store.jobs import JobStore

from . import routes_checks, routes_jobs, routes_meta, routes_screenshots, routes_sites, routes_usage, routes_web
from .access import AccessControl, AccessMiddleware
from .errors import install_error_handlers
from .head import HeadAsGetMiddleware
from .headers import install_security_headers
from .limits import BodyLimitMiddleware
from .openapi import install_openapi
from .templating import STATIC_DIR


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    # Built eagerly so that a broken rules file stops start-up with a clear message instead of failing requests.
    checker = make_checker(settings)
    database = open_database(settings.effective_database_url)
    reports = ReportCache(checker, settings.cache_ttl, store=ReportStore(database) if settings.store_reports else None)
    jobs = JobStore(database)
    metrics.STORE.jobs = jobs
    queue = _job_queue(settings, checker, jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The language model takes a second or two to load; loaded in the analysis pool while the service starts
        # answering, not inside the first check.
        warming = asyncio.ensure_future(run_analysis(warm_up))
        queue.start()
        yield
        warming.cancel()
        await queue.aclose()
        await reports.aclose()
        await checker.aclose()
        # Request counts gathered since the last write (AccessControl.note_request).
        await asyncio.to_thread(app.state.access.flush_usage)

    app = FastAPI(
        title="pharmacheck",
        version=__version__,
        description="Checks whether an online pharmacy is likely legitimate and explains why.",
        lifespan=lifespan,
        # FastAPI's interactive docs load their script from a CDN; /docs is a page of our own instead (routes_web).
        docs_url=None,
        redoc_url=None,
    )
    app.state.checker = checker
    app.state.settings = settings
    app.state.reports = reports
    app.state.jobs = jobs
    app.state.queue = queue
    # Keys and usage live in the store, opened above, so that a database that cannot be used stops start-up.
    access = app.state.access = AccessControl(settings, database)
    install_error_handlers(app)
    app.add_middleware(HeadAsGetMiddleware)
    install_security_headers(app)
    app.add_middleware(metrics.HTTPMetricsMiddleware)
    # An oversized body is refused before any other layer reads it ...
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes,
                       per_path={"/api/v1/jobs": max(settings.max_job_request_bytes, settings.max_request_bytes)})
    # ... but after the gate (added last, so it runs first): a request without a key is refused on its headers,
    # without reading its body, and every API answer, a 413 included, carries the rate-limit headers.
    app.add_middleware(AccessMiddleware, access=access)
    app.include_router(routes_meta.router)
    app.include_router(routes_checks.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_sites.router)
    app.include_router(routes_usage.router)
    app.include_router(routes_web.router)
    app.include_router(routes_screenshots.router)
    install_openapi(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _job_queue(settings: Settings, checker, jobs: JobStore):
    """Where batch jobs are checked: Redis and `pharmacheck worker` processes when a Redis URL is set, else
    this process itself."""
    if settings.redis_url:
        from app.jobs.redisq import RedisJobQueue

        return RedisJobQueue(settings)
    from app.jobs.local import LocalJobQueue

    return LocalJobQueue(checker, jobs, settings)
