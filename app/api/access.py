"""API keys and rate limits for the JSON API.

Rate limiting uses the `limits` library (moving windows, in-process storage) rather than a hand-written bucket:
its window arithmetic is well tested and its storage can later move to Redis without touching this code.
"""

from __future__ import annotations

import hmac
import time

from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.settings import Settings

from .errors import APIError


class AccessControl:
    def __init__(self, settings: Settings):
        self.keys = tuple(settings.api_keys)
        self.anonymous = parse(settings.rate_limit_anonymous)
        self.keyed = parse(settings.rate_limit_keyed)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _presented_key(self, request: Request) -> str | None:
        key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        return key or None

    def identify(self, request: Request) -> tuple[str, bool]:
        """(rate-limit identity, keyed?) for a request; refuses missing or wrong keys when keys are configured."""
        key = self._presented_key(request)
        if key is not None:
            for known in self.keys:
                if hmac.compare_digest(key.encode(), known.encode()):
                    return f"key:{known}", True
            raise APIError(401, "invalid_api_key", "The API key is not valid.")
        if self.keys:
            raise APIError(401, "api_key_required", "This service requires an API key (header X-API-Key).")
        client = request.client.host if request.client else "unknown"
        return f"ip:{client}", False

    def charge(self, request: Request, cost: int = 1) -> None:
        identity, keyed = self.identify(request)
        limit = self.keyed if keyed else self.anonymous
        if not self.limiter.hit(limit, identity, cost=cost):
            reset, _remaining = self.limiter.get_window_stats(limit, identity)
            retry_after = max(1, int(reset - time.time()) + 1)
            raise APIError(
                429, "rate_limited", f"Too many checks: the limit is {limit}. Try again in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )


def require_quota(request: Request) -> None:
    """Dependency: one check's worth of quota."""
    request.app.state.access.charge(request)
