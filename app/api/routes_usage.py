"""GET /api/v1/usage: who the API takes the caller for, its rate-limit window, its quota and what it spent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

router = APIRouter(prefix="/api/v1", tags=["usage"])


class KeyOut(BaseModel):
    id: str = Field(description="The key's public id (the part after phk_); never the key itself.")
    name: str
    owner: str | None = None
    source: str = Field(description="`store` (made with `pharmacheck keys create`) or `environment` (PHARMACHECK_API_KEYS).")
    created_at: str | None = None
    last_used_at: str | None = Field(None, description="Updated at most once a minute.")
    revoked_at: str | None = None
    rate_limit: str | None = Field(None, description="The key's own rate, when it has one; otherwise the service's keyed rate applies.")
    quota: str | None = Field(None, description="The key's own quota, when it has one.")


class RateLimitOut(BaseModel):
    policy: str = Field(examples=["600 checks per minute"])
    limit: int
    window_seconds: int
    remaining: int
    reset_seconds: int = Field(description="Seconds until the window starts again with the whole limit.")


class QuotaOut(BaseModel):
    policy: str = Field(examples=["10000 checks per month"])
    limit: int
    period: str = Field(description="`day` or `month` (UTC calendar days and months).")
    used: int
    remaining: int
    period_start: str
    resets_at: str


class DayUsage(BaseModel):
    date: str
    requests: int
    checks: int


class TodayUsage(BaseModel):
    date: str
    requests: int
    checks: int


class MonthUsage(BaseModel):
    month: str
    requests: int
    checks: int


class UsageTotals(BaseModel):
    today: TodayUsage
    this_month: MonthUsage
    days: list[DayUsage] = Field(description="The last 31 days on which the key was used, oldest first.")


class UsageResponse(BaseModel):
    key: KeyOut | None = Field(description="The key the request was made with; null for an anonymous client.")
    anonymous: bool
    client_address: str | None = Field(None, description="For an anonymous client: the address its rate limit is counted by.")
    rate_limit: RateLimitOut
    quota: QuotaOut | None = Field(description="null when the key has no quota.")
    usage: UsageTotals | None = Field(description="Requests answered and checks charged; kept for keys only.")
    keys_required: bool = Field(description="Whether this service refuses requests without a key.")


@router.get("/usage", response_model=UsageResponse)
async def usage(request: Request) -> dict:
    """What the caller may spend and has spent: the rate-limit window, the quota and usage per day.

    Costs nothing: reading it does not take a check from the window or the quota.
    """
    access = request.app.state.access
    return await run_in_threadpool(access.usage, access.caller(request))
