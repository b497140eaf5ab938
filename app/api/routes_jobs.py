"""Batch jobs: POST /api/v1/jobs (a JSON list, or a CSV/TXT upload), then poll, page through results, download
them as JSON lines or CSV, cancel; optional signed webhooks (app/jobs/webhooks.py).

The service answers 202 as soon as the job and its items are in the store; its queue (the service's own
runner, or Redis and `pharmacheck worker` processes) does the checking.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
from typing import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from app import metrics
from app.jobs.inputs import InputError, decode_upload, prepare, text_lines, upload_urls
from app.jobs.models import JobOut, ResultPage, job_out, result_item
from app.jobs.webhooks import new_secret
from app.netpolicy import FetchError, check_url
from app.report import ErrorResponse
from app.store.jobs import JobStore

from .errors import APIError

router = APIRouter(prefix="/api/v1", tags=["jobs"])

ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    404: {"model": ErrorResponse, "description": "No such job (or not one this key created)"},
    422: {"model": ErrorResponse, "description": "Malformed request"},
    429: {"model": ErrorResponse, "description": "Rate limit reached"},
}
CREATE_ERRORS = {
    **ERRORS,
    413: {"model": ErrorResponse, "description": "The request body is larger than the job limit"},
}
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
DOWNLOAD_PAGE = 500
MAX_DAYS = 365


class WebhookIn(BaseModel):
    url: str = Field(..., min_length=1, max_length=2048, examples=["https://hooks.example.org/pharmacheck"])
    secret: str | None = Field(None, min_length=16, max_length=128,
                               description="Signing secret; when left out one is made and shown once in the answer")
    items: bool = Field(False, description="Also send item.finished for every item, not only job.finished")


class JobRequest(BaseModel):
    urls: list[str] = Field(..., min_length=1, examples=[["https://pharmacy.example", "other.example"]])
    max_age: int | None = Field(None, ge=0, le=MAX_DAYS * 86400,
                                description="Seconds: a kept report at most this old answers an item (default: the "
                                            "service's cache time-to-live)")
    force: bool = Field(False, description="Check every site anew (reports made after the job was created still "
                                           "answer the items that share them)")
    webhook: WebhookIn | None = None


REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": JobRequest.model_json_schema(ref_template="#/components/schemas/{model}")},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary",
                             "description": "CSV (a url/website/domain column, else the first) or text, one address a line"},
                    "max_age": {"type": "integer"}, "force": {"type": "boolean"},
                    "webhook_url": {"type": "string"}, "webhook_secret": {"type": "string"},
                    "webhook_items": {"type": "boolean"},
                },
            }},
            "text/csv": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def _jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def _base(request: Request) -> str:
    return request.app.state.settings.public_url or ""


def owner_of_request(request: Request) -> str | None:
    """A digest of the API key behind the request (None for anonymous use): jobs are read back by their creator."""
    identity, keyed = request.app.state.access.identify(request)
    return hashlib.sha256(identity.encode()).hexdigest()[:32] if keyed else None


async def _own_job(request: Request, job_id: str) -> None:
    """404 unless the job exists and this request may see it (a job made with a key is its key's alone)."""
    owner = owner_of_request(request)
    exists, job_owner = (False, None)
    if JOB_ID.match(job_id):
        exists, job_owner = await asyncio.to_thread(_jobs(request).owner_of, job_id)
    if not exists or (job_owner is not None and job_owner != owner):
        raise APIError(404, "job_not_found", f"There is no job {job_id[:40]!r}.")


def _flag(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise APIError(422, "invalid_request", f"{name}: expected true or false, got {value[:40]!r}.")


def _int_option(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.strip().isdigit() or int(value) > MAX_DAYS * 86400:
        raise APIError(422, "invalid_request", f"{name}: expected a number of seconds from 0 to {MAX_DAYS * 86400}.")
    return int(value)


async def _read_request(request: Request) -> tuple[JobRequest, str]:
    """The job asked for and where its list came from (json, csv, txt), from any of the accepted bodies."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    options = dict(request.query_params)
    if kind == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=20)
        except Exception as exc:  # python-multipart's refusals of a broken body
            raise APIError(422, "invalid_request", f"The form could not be read: {str(exc)[:200] or type(exc).__name__}.") from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise APIError(422, "invalid_request", "The form needs a file field named 'file' with the addresses.")
        options.update({k: v for k, v in form.items() if isinstance(v, str)})
        try:
            urls, source = upload_urls(await upload.read(), upload.filename, upload.content_type)
        except InputError as exc:
            raise APIError(422, "invalid_upload", str(exc)) from None
    elif kind in ("text/csv", "text/plain", "application/csv"):
        try:
            text = decode_upload(await request.body(), "The request body")
        except InputError as exc:
            raise APIError(422, "invalid_upload", str(exc)) from None
        if kind == "text/plain":
            urls, source = text_lines(text), "txt"
        else:
            from app.jobs.inputs import csv_urls

            try:
                urls, source = csv_urls(text), "csv"
            except InputError as exc:
                raise APIError(422, "invalid_upload", str(exc)) from None
    else:
        try:
            body = JobRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        return body, "json"
    webhook = None
    if options.get("webhook_url"):
        webhook = WebhookIn(url=options["webhook_url"], secret=options.get("webhook_secret") or None,
                            items=_flag(options.get("webhook_items"), "webhook_items"))
    if not urls:
        raise APIError(422, "empty_job", "The file holds no addresses (one a line, or a CSV column of them).")
    try:
        body = JobRequest(urls=urls, max_age=_int_option(options.get("max_age"), "max_age"),
                          force=_flag(options.get("force"), "force"), webhook=webhook)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return body, source


@router.post("/jobs", status_code=202, response_model=JobOut, responses=CREATE_ERRORS, openapi_extra=REQUEST_BODY)
async def create_job(request: Request) -> JobOut:
    """Check up to 100,000 sites in the background; answers 202 with the job, to poll or be told about.

    The list is a JSON body `{"urls": [...], "max_age", "force", "webhook": {"url", "secret", "items"}}`, or
    a CSV or text file: a form upload (field `file`, options as form fields `max_age`, `force`, `webhook_url`,
    `webhook_secret`, `webhook_items`) or the body itself as text/csv or text/plain (options in the query).
    Every address becomes an item with its input index; one that cannot be checked is an item that failed,
    not a refused job. Addresses with one canonical spelling are checked once, and a kept report no older
    than `max_age` answers without a check (`force`: only reports made after the job was created).
    """
    settings = request.app.state.settings
    body, source = await _read_request(request)
    if len(body.urls) > settings.max_job_urls:
        raise APIError(422, "job_too_large", f"A job may hold at most {settings.max_job_urls} addresses; "
                                             f"this one has {len(body.urls)}.")
    secret = None
    if body.webhook is not None:
        try:
            check_url(body.webhook.url, settings.allowed_ports, settings.resolve)
        except FetchError as exc:
            raise APIError(422, "invalid_webhook", f"webhook.url: {exc.message}") from None
        secret = body.webhook.secret or new_secret()
    items = await asyncio.to_thread(prepare, body.urls, settings)
    unique = len({i.canonical_url for i in items if i.canonical_url})
    # The quota hook: a job costs one check per distinct address it may have to check, charged up front so
    # that a job is never cut off half-way.
    if unique:
        request.app.state.access.charge(request, cost=unique)
    job_id = await asyncio.to_thread(
        _jobs(request).create, items, source=source,
        max_age=settings.cache_ttl if body.max_age is None else body.max_age, force=body.force,
        owner=owner_of_request(request), webhook_url=body.webhook.url if body.webhook else None,
        webhook_secret=secret, webhook_items=bool(body.webhook and body.webhook.items),
    )
    metrics.JOBS_CREATED.inc()
    metrics.JOB_URLS.inc(len(items))
    await request.app.state.queue.submit(job_id)
    view = await asyncio.to_thread(_jobs(request).view, job_id)
    return job_out(view, _base(request), secret=secret)


@router.get("/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
async def get_job(job_id: str, request: Request) -> JobOut:
    """The job's state, counts of its items by state, progress and estimated time left."""
    await _own_job(request, job_id)
    return job_out(await asyncio.to_thread(_jobs(request).view, job_id), _base(request))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, responses=ERRORS)
async def cancel_job(job_id: str, request: Request) -> JobOut:
    """Stop the job: items not yet started are cancelled; those being checked now finish and keep their answers."""
    await _own_job(request, job_id)
    view = await asyncio.to_thread(_jobs(request).cancel, job_id)
    await request.app.state.queue.submit(job_id)  # wakes the webhook sender
    return job_out(view, _base(request))


ITEM_STATES = ("queued", "running", "done", "failed", "cancelled")


@router.get("/jobs/{job_id}/results", response_model=ResultPage, responses=ERRORS)
async def job_results(
    job_id: str, request: Request,
    after: int = Query(-1, ge=-1, description="Items after this input index (the previous page's next_after)"),
    limit: int = Query(100, ge=1, le=1000),
    state: str | None = Query(None, description="Only items in this state (queued, running, done, failed, cancelled)"),
    reports: bool = Query(False, description="Include each item's whole report"),
) -> ResultPage:
    """The items in input order, a page at a time, each with its input index, the address as given, its state
    and its report's verdict (or its error)."""
    await _own_job(request, job_id)
    if state is not None and state not in ITEM_STATES:
        raise APIError(422, "invalid_request", f"state: expected one of {', '.join(ITEM_STATES)}.")
    jobs = _jobs(request)
    view = await asyncio.to_thread(jobs.view, job_id)
    found = await asyncio.to_thread(jobs.results, job_id, after=after, limit=limit + 1,
                                    states=[state] if state else None, with_reports=reports)
    page, more = found[:limit], len(found) > limit
    base = _base(request)
    next_after = page[-1].input_index if more and page else None
    next_link = None
    if next_after is not None:
        query = f"after={next_after}&limit={limit}" + (f"&state={state}" if state else "") + ("&reports=true" if reports else "")
        next_link = f"{base}/api/v1/jobs/{job_id}/results?{query}"
    return ResultPage(job_id=job_id, state=view.state, items=[result_item(i, base) for i in page],
                      next_after=next_after, next=next_link)


async def _all_items(jobs: JobStore, job_id: str, with_reports: bool) -> AsyncIterator[list]:
    after = -1
    while True:
        page = await asyncio.to_thread(jobs.results, job_id, after=after, limit=DOWNLOAD_PAGE, with_reports=with_reports)
        if not page:
            return
        yield page
        after = page[-1].input_index


@router.get("/jobs/{job_id}/results.jsonl", responses={**ERRORS, 200: {
    "content": {"application/x-ndjson": {}}, "description": "One item per line, in input order, with its whole report"}})
async def job_results_jsonl(job_id: str, request: Request):
    """Every item as one JSON line (the results item with its whole report), in input order."""
    await _own_job(request, job_id)
    jobs, base = _jobs(request), _base(request)

    async def lines():
        async for page in _all_items(jobs, job_id, True):
            yield "".join(result_item(i, base).model_dump_json() + "\n" for i in page)

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="job-{job_id}.jsonl"'})


CSV_COLUMNS = ["index", "input_url", "canonical_url", "state", "verdict", "score", "final_url", "algorithm_version",
               "checked_at", "from_cache", "attempts", "error_code", "error_message", "report_url"]


def _cell(value) -> str:
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A spreadsheet runs a cell that starts like a formula; addresses come from whoever submitted the job.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/jobs/{job_id}/results.csv", responses={**ERRORS, 200: {
    "content": {"text/csv": {}}, "description": "One row per item, in input order"}})
async def job_results_csv(job_id: str, request: Request):
    """Every item as a CSV row: index, the address as given, state, verdict, score, error, report address."""
    await _own_job(request, job_id)
    jobs, base = _jobs(request), _base(request)

    async def rows():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        async for page in _all_items(jobs, job_id, False):
            for item in page:
                r = result_item(item, base)
                writer.writerow([_cell(v) for v in (
                    r.index, r.input_url, r.canonical_url, r.state, r.verdict, r.score, r.final_url,
                    r.algorithm_version, r.checked_at, str(r.from_cache).lower(), r.attempts,
                    r.error.code if r.error else None, r.error.message if r.error else None, r.report_url,
                )])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if out.getvalue():
            yield out.getvalue()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="job-{job_id}.csv"'})

