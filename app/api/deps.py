"""Shared objects for the routers: the one Checker built at start-up and the cache of its recent reports."""

from __future__ import annotations

from fastapi import Request

from app.cache import ReportCache
from app.pipeline import Checker


def get_checker(request: Request) -> Checker:
    return request.app.state.checker


def get_reports(request: Request) -> ReportCache:
    return request.app.state.reports
