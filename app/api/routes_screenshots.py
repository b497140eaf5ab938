"""The start-page pictures reports refer to (Report.screenshot): `/screenshots/{sha256}.jpg`.

A picture is named by the SHA-256 of its bytes, so its address never changes what it shows and it can be cached
for good. The JPEG was encoded by our own browser from what it rendered; it is served with its type fixed and
sniffing off, like any other file of the service.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

_NAME = re.compile(r"^([0-9a-f]{64})\.jpg$")


def _from_store(request: Request, sha256: str):
    settings = request.app.state.settings
    if not settings.store_reports:
        return None
    from app.store import ScreenshotStore, open_database

    return ScreenshotStore(open_database(settings.effective_database_url)).get(sha256)


@router.api_route("/screenshots/{name}", methods=["GET", "HEAD"])
async def screenshot(request: Request, name: str) -> Response:
    match = _NAME.match(name)
    if not match:
        return Response(status_code=404)
    sha256 = match.group(1)
    recent = getattr(request.app.state.checker, "screenshots", None)
    shot = recent.get(sha256) if recent is not None else None
    if shot is None:
        shot = await asyncio.to_thread(_from_store, request, sha256)
    if shot is None:
        return Response(status_code=404)
    return Response(shot.data, media_type=shot.media_type,
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
