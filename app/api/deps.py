"""Shared objects for the routers: the one Checker built at start-up."""

from __future__ import annotations

from fastapi import Request

from app.pipeline import Checker


def get_checker(request: Request) -> Checker:
    return request.app.state.checker
