"""Who may use the JSON API, how fast and how much: API keys, rate limits, quotas, usage.

Every JSON answer of the API needs a key when keys are configured, except the documented ones (PUBLIC_PATHS):
the consumer web pages, which work without a key by design, their progress feed, /healthz for monitors, and the
API's own description (/openapi.json, /docs). The gate is a middleware over paths rather than a dependency of
each route, so an endpoint added later is covered without anyone remembering to.

Rate limits use the `limits` library with fixed windows: when a window is spent, the time until it starts
again is exact, so `Retry-After` and `RateLimit-Reset` are true for a request of any cost. Counters live in
this process, or in Redis (`redis_url` / `rate_limit_storage`) so that several API processes share every
client's bucket. Quotas (checks per day or month) and usage are kept in the store, per key and day.

A request that costs more than the caller's whole window or quota could never succeed, so it is refused with
422 `batch_exceeds_limit` and says so, instead of 429 "try again" forever.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

from limits import RateLimitItem, parse
from limits.errors import StorageError as RateStorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings, SettingsError, parse_quota
from app.store import StoreError
from app.store.keys import ApiKeyStore, KeyRecord, hash_key, period_bounds

from .clients import bucket_of, client_address, parse_networks
from .errors import APIError, error_response

log = logging.getLogger("pharmacheck.access")

REALM = 'Bearer realm="pharmacheck"'
# How long a running service trusts what it learnt about a key, and whether any key exists: a key revoked with
# `pharmacheck keys revoke` is refused everywhere within this many seconds.
KEY_CACHE_SECONDS = 10
KEY_CACHE_SIZE = 10_000
# Request counts and last_used_at are written at most this often per process: they are shown to people, not
# billed (checks, which quotas count, are written at once).
USAGE_FLUSH_SECONDS = 2
UNAVAILABLE_RETRY = 5

# The documented exceptions: answered without a key even when keys are required. Everything else under /api/,
# and /report.json, needs one.
PUBLIC_PATHS = {
    "/healthz": "liveness for monitors and load balancers",
    "/openapi.json": "the API's own description, which clients need before they can present a key",
    "/docs": "the API's documentation page",
    "/report/status": "the web page's progress feed for a check it is running (state only, never a report)",
    "/metrics": "Prometheus metrics, text for a scraper, not JSON (keep it behind the proxy if it should not be public)",
}


def is_gated(path: str) -> bool:
    """Whether an answer at this path needs a key when keys are configured."""
    return path.startswith("/api/") or path == "/report.json"


@dataclass(frozen=True)
class Caller:
    """The client of one request: its rate-limit bucket, its key (None: anonymous) and its limits."""

    identity: str
    address: str
    key: KeyRecord | None
    rate: RateLimitItem
    quota: tuple[int, str] | None

    @property
    def keyed(self) -> bool:
        return self.key is not None

    @property
    def who(self) -> str:
        return "this key" if self.keyed else "anonymous clients"


@dataclass(frozen=True)
class Window:
    """The state of a caller's current rate-limit window."""

    limit: int
    remaining: int
    reset_at: float  # when the window starts again (epoch seconds)
    seconds: int  # the window's length

    def reset_in(self, now: float | None = None) -> int:
        return max(0, math.ceil(self.reset_at - (time.time() if now is None else now)))


def describe_rate(rate: RateLimitItem) -> str:
    """30/minute -> "30 checks per minute"; 100/10 minutes -> "100 checks per 10 minutes"."""
    unit = rate.GRANULARITY.name
    span = unit if rate.multiples == 1 else f"{rate.multiples} {unit}s"
    return f"{rate.amount} {'check' if rate.amount == 1 else 'checks'} per {span}"


def describe_wait(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes, rest = divmod(seconds, 60)
    if minutes < 120:
        return f"{minutes} minutes" + (f" {rest} seconds" if rest else "")
    return f"{round(seconds / 3600)} hours"


def _quota_words(quota: tuple[int, str]) -> str:
    return f"{quota[0]} checks per {quota[1]}"


def make_rate_storage(uri: str, key_prefix: str = "pharmacheck"):
    """The `limits` storage for a URI: memory:// (this process) or redis://, rediss://, redis+sentinel://."""
    if uri.startswith("memory://"):
        return MemoryStorage()
    try:
        storage = storage_from_string(uri, key_prefix=key_prefix, wrap_exceptions=True)
    except Exception as exc:  # ConfigurationError, a missing client library, a malformed URI
        raise SettingsError(f"rate-limit storage {uri.split('@')[-1]!r} cannot be used: {exc}") from None
    if not storage.check():
        raise SettingsError(f"rate-limit storage {uri.split('@')[-1]!r} cannot be reached")
    return storage


class AccessControl:
    """Keys, rate limits, quotas and usage for one API process. Methods block (store, Redis): from async code
    run them in a thread; `charge` may also be called directly from a route, as the existing routes do."""

    def __init__(self, settings: Settings, database=None):
        self.settings = settings
        secret = settings.api_key_secret
        self.env_keys = {hash_key(k, secret): i for i, k in enumerate(settings.api_keys, start=1)}
        self.keys = tuple(settings.api_keys)  # kept for callers of the earlier API
        self.store = ApiKeyStore(database, secret) if database is not None else None
        self.anonymous = parse(settings.rate_limit_anonymous)
        self.keyed = parse(settings.rate_limit_keyed)
        self.default_quota = parse_quota(settings.api_quota) if settings.api_quota else None
        self.trusted = parse_networks(settings.trusted_proxies)
        self.storage_uri = settings.rate_limit_storage or settings.redis_url or "memory://"
        # Under the installation's name (queue_name), like every other key pharmacheck keeps in Redis.
        self.limiter = FixedWindowRateLimiter(make_rate_storage(self.storage_uri, f"{settings.queue_name}:limits"))
        self._lock = threading.Lock()
        self._verified: OrderedDict[str, tuple[float, KeyRecord | None]] = OrderedDict()
        self._required: tuple[float, bool] | None = None
        self._pending: dict[str, int] = {}
        self._last_used: dict[str, datetime] = {}
        self._next_flush = time.monotonic() + USAGE_FLUSH_SECONDS
        self._flushing: set[asyncio.Task] = set()

    # Who is asking

    def client_address(self, scope: Scope) -> str:
        state = scope.get("state") or {}
        if "client_address" in state:
            return state["client_address"]
        peer = scope.get("client")
        return client_address(peer[0] if peer else None, scope.get("headers") or [], self.trusted, self.settings.forwarded_header)

    def keys_required(self) -> bool:
        mode = self.settings.require_api_key
        if mode == "true":
            return True
        if mode == "false":
            return False
        if self.env_keys:
            return True
        if self.store is None:
            return False
        now = time.monotonic()
        with self._lock:
            if self._required is not None and self._required[0] > now:
                return self._required[1]
        required = self.store.any_active()
        with self._lock:
            self._required = (now + KEY_CACHE_SECONDS, required)
        return required

    @staticmethod
    def presented_key(headers) -> tuple[str | None, str]:
        """(the key, "") or (None, why no key could be read)."""
        key = (headers.get("x-api-key") or "").strip()
        if key:
            return key, ""
        auth = (headers.get("authorization") or "").strip()
        if not auth:
            return None, ""
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None, f" The Authorization header uses the {scheme[:20]!r} scheme; send Authorization: Bearer KEY instead."
        if not credentials.strip():
            return None, " The Authorization header says Bearer but holds no key."
        return credentials.strip(), ""

    def _verify(self, key: str) -> KeyRecord | None:
        digest = hash_key(key, self.settings.api_key_secret)
        for known, index in self.env_keys.items():
            if _same(known, digest):
                return KeyRecord(f"env-{digest[:12]}", f"PHARMACHECK_API_KEYS key {index}", None, None, None, None,
                                 None, None, source="environment")
        if self.store is None:
            return None
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(digest)
            if cached is not None and cached[0] > now:
                return cached[1]
        record = self.store.verify(key)
        with self._lock:
            self._verified[digest] = (now + KEY_CACHE_SECONDS, record)
            self._verified.move_to_end(digest)
            while len(self._verified) > KEY_CACHE_SIZE:
                self._verified.popitem(last=False)
        return record

    def resolve_caller(self, request: Request) -> Caller:
        """The caller of a request; raises 401 (with WWW-Authenticate) for a missing or wrong key."""
        address = self.client_address(request.scope)
        key, problem = self.presented_key(request.headers)
        try:
            if key is None:
                if self.keys_required():
                    raise APIError(401, "api_key_required",
                                   "This service needs an API key: send it in the header X-API-Key: KEY or "
                                   "Authorization: Bearer KEY." + problem, headers={"WWW-Authenticate": REALM})
                return Caller(f"ip:{bucket_of(address)}", address, None, self.anonymous, None)
            record = self._verify(key)
        except (SQLAlchemyError, StoreError):
            log.exception("key store unreachable")
            raise _unavailable("The service cannot reach its key and usage store right now") from None
        if record is None:
            raise APIError(401, "invalid_api_key", "The API key is not valid: no key of this service matches it.",
                           headers={"WWW-Authenticate": f'{REALM}, error="invalid_token", error_description="unknown key"'})
        if not record.active:
            when = record.revoked_at.strftime("%d %B %Y") if record.revoked_at else "earlier"
            raise APIError(401, "invalid_api_key", f"This API key ({record.key_id}) was revoked on {when}; ask for a new one.",
                           headers={"WWW-Authenticate": f'{REALM}, error="invalid_token", error_description="revoked key"'})
        rate = parse(record.rate_limit) if record.rate_limit else self.keyed
        if record.quota == "unlimited":
            quota = None
        else:
            quota = parse_quota(record.quota) if record.quota else self.default_quota
        return Caller(f"key:{record.key_id}", address, record, rate, quota)

    def caller(self, request: Request) -> Caller:
        """The caller the gate identified for this request (identified now when the gate did not run)."""
        caller = getattr(request.state, "caller", None)
        if caller is None:
            caller = self.resolve_caller(request)
            request.state.caller = caller
        return caller

    def identify(self, request: Request) -> tuple[str, bool]:
        """(a stable name of the caller, keyed?): "key:<key id>" for a key, "ip:<address>" for anonymous use."""
        caller = self.caller(request)
        return caller.identity, caller.keyed

    # Limits

    def window(self, caller: Caller) -> Window:
        try:
            stats = self.limiter.get_window_stats(caller.rate, caller.identity)
        except RateStorageError:
            raise _unavailable("The service cannot reach its rate-limit store right now") from None
        now = time.time()
        seconds = caller.rate.get_expiry()
        if stats.reset_time <= now:  # no window open: the next check opens a whole one
            return Window(caller.rate.amount, caller.rate.amount, now + seconds, seconds)
        return Window(caller.rate.amount, stats.remaining, stats.reset_time, seconds)

    def charge(self, request: Request, cost: int = 1, *, queued: bool = False) -> None:
        """Spend `cost` checks for this request, or refuse it.

        A `queued` request (a batch job, whose checks the workers run at their own pace) takes one unit from a
        key's rate-limit window and `cost` from its quota; an anonymous caller, who has no quota, pays the
        window in full for a queued request too.
        """
        caller = self.caller(request)
        window_cost = 1 if queued and caller.keyed and cost > 0 else cost
        if window_cost > caller.rate.amount:
            advice = "" if caller.keyed else f", or use an API key ({describe_rate(self.keyed)})"
            raise APIError(422, "batch_exceeds_limit",
                           f"This request needs {window_cost} checks, but {caller.who} may start at most "
                           f"{describe_rate(caller.rate)}, so it could never be accepted. Send at most "
                           f"{caller.rate.amount} URLs at a time{advice}.")
        if caller.quota is not None and cost > caller.quota[0]:
            raise APIError(422, "batch_exceeds_limit",
                           f"This request needs {cost} checks, but this key's quota is {_quota_words(caller.quota)}, "
                           f"so it could never be accepted. Send at most {caller.quota[0]} URLs per {caller.quota[1]}.")
        try:
            if window_cost > 0:
                accepted = (self.limiter.test(caller.rate, caller.identity, cost=window_cost)
                            and self.limiter.hit(caller.rate, caller.identity, cost=window_cost))
                window = self.window(caller)
                request.state.rate_window = window
                if not accepted:
                    wait = max(1, window.reset_in())
                    needs = "" if window_cost == 1 else f" This request needs {window_cost}."
                    raise APIError(
                        429, "rate_limited",
                        f"Too many checks: {caller.who} may start {describe_rate(caller.rate)} and "
                        f"{'has' if caller.keyed else 'this client has'} {window.remaining} left.{needs} "
                        f"Try again in {describe_wait(wait)}.",
                        headers={"Retry-After": str(wait)},
                    )
        except RateStorageError:
            log.exception("rate-limit store unreachable")
            raise _unavailable("The service cannot reach its rate-limit store right now") from None
        if caller.key is None or self.store is None or cost <= 0:
            return
        try:
            decision = self.store.spend(caller.key.key_id, cost, caller.quota)
        except (SQLAlchemyError, StoreError):
            log.exception("usage store unreachable")
            raise _unavailable("The service cannot reach its key and usage store right now") from None
        if not decision.allowed:
            assert caller.quota is not None
            resets = datetime.combine(decision.period_end, datetime.min.time(), tzinfo=timezone.utc)
            wait = max(1, math.ceil((resets - datetime.now(timezone.utc)).total_seconds()))
            period = "today" if caller.quota[1] == "day" else "this month"
            raise APIError(
                429, "quota_exceeded",
                f"This key has used {decision.used} of its {caller.quota[0]} checks {period}; this request needs "
                f"{cost}. The quota starts again on {resets.day} {resets:%B %Y} (00:00 UTC).",
                headers={"Retry-After": str(wait)},
            )

    def rate_headers(self, window: Window) -> dict[str, str]:
        """IETF draft RateLimit-* (Reset in seconds) and the common X-RateLimit-* (Reset as a Unix time)."""
        return {
            "RateLimit-Limit": str(window.limit),
            "RateLimit-Remaining": str(window.remaining),
            "RateLimit-Reset": str(window.reset_in()),
            "RateLimit-Policy": f"{window.limit};w={window.seconds}",
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": str(math.ceil(window.reset_at)),
        }

    def web_over_limit(self, request: Request) -> int | None:
        """For the consumer page, which needs no key: seconds to wait when this visitor has started too many new
        checks, else None. The anonymous rate per client address, counted apart from the API."""
        identity = "web:" + bucket_of(self.client_address(request.scope))
        caller = Caller(identity, "", None, self.anonymous, None)
        if self.limiter.test(self.anonymous, identity) and self.limiter.hit(self.anonymous, identity):
            return None
        return max(1, self.window(caller).reset_in())

    # Usage

    def note_request(self, caller: Caller) -> bool:
        """Count one answered request of a keyed caller, in memory; True when the counts are due to be written.

        Requests are counted for people to read, not billed (checks are, at once, in `charge`), so they are
        written in batches: one write per key every USAGE_FLUSH_SECONDS instead of one per request."""
        if caller.key is None or self.store is None:
            return False
        with self._lock:
            self._pending[caller.key.key_id] = self._pending.get(caller.key.key_id, 0) + 1
            if caller.key.source == "store":
                self._last_used[caller.key.key_id] = datetime.now(timezone.utc)
            return time.monotonic() >= self._next_flush

    def flush_usage(self) -> None:
        """Write the request counts and last-used times gathered since the last flush."""
        if self.store is None:
            return
        with self._lock:
            pending, self._pending = self._pending, {}
            last_used, self._last_used = self._last_used, {}
            self._next_flush = time.monotonic() + USAGE_FLUSH_SECONDS
        try:
            for key_id, count in pending.items():
                self.store.add_usage(key_id, requests=count)
            for key_id, when in last_used.items():
                self.store.touch(key_id, when)
        except (SQLAlchemyError, StoreError):
            log.exception("could not record the usage of %d keys", len(pending))
            with self._lock:  # kept for the next flush
                for key_id, count in pending.items():
                    self._pending[key_id] = self._pending.get(key_id, 0) + count

    def usage(self, caller: Caller, days: int = 31) -> dict:
        """What GET /api/v1/usage answers: the caller, its window, its quota and what it spent day by day."""
        from datetime import timedelta

        window = self.window(caller)
        body: dict = {
            "key": caller.key.as_dict() if caller.key else None,
            "anonymous": caller.key is None,
            "client_address": caller.address if caller.key is None else None,
            "rate_limit": {
                "policy": describe_rate(caller.rate), "limit": window.limit, "window_seconds": window.seconds,
                "remaining": window.remaining, "reset_seconds": window.reset_in(),
            },
            "quota": None,
            "usage": None,
            "keys_required": self.keys_required(),
        }
        if caller.key is None or self.store is None:
            return body
        self.flush_usage()
        today = datetime.now(timezone.utc).date()
        month_start, month_end = period_bounds("month", today)
        requests_today, checks_today = self.store.totals(caller.key.key_id, today, today + timedelta(days=1))
        requests_month, checks_month = self.store.totals(caller.key.key_id, month_start, month_end)
        body["usage"] = {
            "today": {"date": today.isoformat(), "requests": requests_today, "checks": checks_today},
            "this_month": {"month": month_start.strftime("%Y-%m"), "requests": requests_month, "checks": checks_month},
            "days": [{"date": d.isoformat(), "requests": r, "checks": c}
                     for d, r, c in self.store.days(caller.key.key_id, today - timedelta(days=days - 1))],
        }
        if caller.quota is not None:
            start, end = period_bounds(caller.quota[1], today)
            used = checks_today if caller.quota[1] == "day" else checks_month
            body["quota"] = {
                "policy": _quota_words(caller.quota), "limit": caller.quota[0], "period": caller.quota[1],
                "used": used, "remaining": max(0, caller.quota[0] - used),
                "period_start": start.isoformat(), "resets_at": f"{end.isoformat()}T00:00:00+00:00",
            }
        return body


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def _unavailable(what: str) -> APIError:
    return APIError(503, "unavailable", f"{what}; try again in {UNAVAILABLE_RETRY} seconds.",
                    headers={"Retry-After": str(UNAVAILABLE_RETRY)})


def require_quota(request: Request) -> None:
    """Dependency: one check's worth of quota. A plain function, so FastAPI runs it in a worker thread."""
    request.app.state.access.charge(request)


class AccessMiddleware:
    """The gate in front of the application: finds the client's address (trusted proxies), refuses JSON answers
    without a valid key when keys are required, and puts the caller's rate-limit headers on every API answer."""

    def __init__(self, app: ASGIApp, access: AccessControl):
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        peer = scope.get("client")
        state["client_address"] = client_address(peer[0] if peer else None, scope.get("headers") or [],
                                                 self.access.trusted, self.access.settings.forwarded_header)
        if not is_gated(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            caller, window = await asyncio.to_thread(self._identify, request)
        except APIError as exc:
            await error_response(exc.status, exc.code, exc.message, exc.headers)(scope, receive, send)
            return
        state["caller"] = caller
        state["rate_window"] = window

        async def send_with_rate_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                window_now = state.get("rate_window") or window
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                for name, value in self.access.rate_headers(window_now).items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_rate_headers)
        finally:
            if self.access.note_request(caller):
                # Written beside the next requests, not before them: the answer has gone, and nobody waits.
                task = asyncio.ensure_future(asyncio.to_thread(self.access.flush_usage))
                self.access._flushing.add(task)
                task.add_done_callback(self.access._flushing.discard)

    def _identify(self, request: Request) -> tuple[Caller, Window]:
        caller = self.access.resolve_caller(request)
        return caller, self.access.window(caller)
