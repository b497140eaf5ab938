"""Webhooks: a job's events POSTed to the address its creator gave, signed, and retried until answered 2xx.

Events: `job.finished` (the job is done or was cancelled; the body has the job as GET /api/v1/jobs/{id}
answers it) and, when asked for, `item.finished` for every item (the body has the item as the results list it).
Every request carries:

    Pharmacheck-Event: job.finished
    Pharmacheck-Delivery: 42            (the same on every retry of one delivery: use it to ignore repeats)
    Pharmacheck-Signature: t=1764670000,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the job's secret>

A receiver recomputes the HMAC over the timestamp, a full stop and the raw body, compares it in constant time
and refuses a timestamp more than five minutes old (see `verify`). Deliveries go through the fetch module, so a
webhook address on a private or local network is refused like any other; a delivery not answered 2xx within
the timeout is tried again after 10 s, 30 s, 90 s, ... (at most an hour apart) up to webhook_max_attempts times.
The outbox is in the store, so a restart or a dead worker delays a delivery but does not lose it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
import time

from app import metrics
from app.fetch import Fetcher
from app.netpolicy import FetchError
from app.settings import Settings
from app.store.jobs import Delivery, JobStore

from .models import job_out, result_item

log = logging.getLogger("pharmacheck.webhooks")

SIGNATURE_HEADER = "Pharmacheck-Signature"
EVENT_HEADER = "Pharmacheck-Event"
DELIVERY_HEADER = "Pharmacheck-Delivery"
TOLERANCE = 300
# Refusals that another try cannot change: the address itself is not one pharmacheck will contact.
FINAL_CODES = ("blocked_destination", "invalid_url")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE, now: float | None = None) -> bool:
    """What a receiver does: True when `header` signs `body` with `secret` and is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: 10, 30, 90, ... at most an hour, give or take a fifth."""
    return min(3600.0, 10.0 * 3 ** (attempt - 1)) * random.uniform(0.8, 1.2)


def payload(jobs: JobStore, delivery: Delivery, base: str = "") -> dict:
    """The body of a delivery, built from the store when it is sent (what it reports no longer changes)."""
    body: dict = {"event": delivery.event, "delivery": delivery.id, "job_id": delivery.job_id}
    if delivery.event == "item.finished":
        item = jobs.item(delivery.job_id, int(delivery.ref.get("input_index", -1)))
        body["item"] = result_item(item, base).model_dump(mode="json", exclude={"report"}) if item else None
    else:
        view = jobs.view(delivery.job_id)
        body["job"] = job_out(view, base).model_dump(mode="json") if view else None
    return body


class WebhookSender:
    """Sends due deliveries from the store's outbox, a few at a time; any number of senders may run at once
    (each claims the deliveries it sends)."""

    def __init__(self, settings: Settings, jobs: JobStore, *, concurrency: int = 8, fetcher: Fetcher | None = None):
        self.settings = settings
        self.jobs = jobs
        self.concurrency = concurrency
        # Always the live network: a replayed archive has no answer for a receiver's POST.
        self.fetcher = fetcher or Fetcher(settings)
        self.base = settings.public_url or ""
        self.wake = asyncio.Event()

    async def run_forever(self, idle: float = 1.0) -> None:
        while True:
            try:
                sent = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhook outbox could not be read", exc_info=True)
                sent = 0
            if not sent:
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=idle)
                except TimeoutError:
                    pass
                self.wake.clear()

    async def send_due(self) -> int:
        claim = self.settings.webhook_timeout + 30
        due = await asyncio.to_thread(self.jobs.claim_deliveries, self.concurrency, claim)
        if due:
            await asyncio.gather(*(self.send(d) for d in due))
        return len(due)

    async def send(self, delivery: Delivery) -> bool:
        status: int | None = None
        error: str | None = None
        final = False
        if not delivery.webhook_url:
            error, final = "The job has no webhook address.", True
        else:
            body = json.dumps(await asyncio.to_thread(payload, self.jobs, delivery, self.base)).encode()
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: delivery.event,
                DELIVERY_HEADER: str(delivery.id),
                SIGNATURE_HEADER: signature_header(delivery.webhook_secret, body),
            }
            try:
                status = await self.fetcher.post(delivery.webhook_url, body, headers, timeout=self.settings.webhook_timeout)
            except FetchError as exc:
                error, final = f"{exc.code}: {exc.message}", exc.code in FINAL_CODES
            except Exception as exc:  # one receiver's odd answer must not stop the others
                log.warning("webhook to %s failed", delivery.webhook_url, exc_info=True)
                error = type(exc).__name__
        delivered = status is not None and 200 <= status < 300
        if not delivered and error is None:
            error = f"The receiver answered with HTTP status {status}."
        give_up = final or delivery.attempts >= self.settings.webhook_max_attempts
        retry_in = None if delivered or give_up else backoff(delivery.attempts)
        metrics.WEBHOOKS.labels("delivered" if delivered else "failed" if give_up else "retry").inc()
        await asyncio.to_thread(self.jobs.settle_delivery, delivery.id, delivered=delivered, status=status,
                                error=error, retry_in=retry_in)
        return delivered

    async def aclose(self) -> None:
        await self.fetcher.aclose()
