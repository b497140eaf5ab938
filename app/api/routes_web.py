"""The consumer web pages: the start page, the report page (with a waiting page while a check runs) and the
bookmarklet page. Server-rendered so that they work without JavaScript; app.js only makes the wait smoother.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.cache import CheckerBusy, CheckJob, ReportCache
from app.netpolicy import FetchError
from app.report import FindingOut, Report
from app.rules import Rules

from .templating import render

router = APIRouter(include_in_schema=False)

# How long a report request waits for a running check before answering with the waiting page. Short enough that
# the person sees progress quickly; long enough that a quick site goes straight to its report.
FIRST_WAIT_SECONDS = 1.5
# The waiting page reloads itself this often when JavaScript is off. Each reload makes a screen reader start the
# page again, so not often (WCAG 2.2.1); the page also has a "Refresh now" link.
REFRESH_SECONDS = 5
# "Check again" fetches the site anew only when the kept report is at least this old, so that the button
# cannot be used to make pharmacheck hammer a site.
MIN_RECHECK_AGE = 60

VERDICTS = {
    "likely_legitimate": ("Likely legitimate", "green"),
    "caution": ("Be careful", "amber"),
    "likely_rogue": ("Likely rogue: do not buy here", "red"),
    "not_a_pharmacy": ("Not an online pharmacy", "grey"),
    "unknown": ("We could not tell", "grey"),
}

SEVERITY_LABELS = {
    "critical": "Serious danger sign",
    "high": "Danger sign",
    "medium": "Warning sign",
    "low": "Minor concern",
    "info": "Note",
    "positive": "Good sign",
}

AREA_QUESTIONS = {
    "prescription": "Does the site insist on a valid prescription before it sends prescription medicines?",
    "accreditation": "Does the site claim a licence or seal, and can the claim be looked up on an official register?",
    "contact": "Does the site say who runs it and how to reach them: a street address, a phone number, a pharmacist?",
    "payment": "How can you pay, and is the site's connection secure?",
    "domain": "Does the web address or the way the site sells medicines show the habits of rogue sellers?",
}

STAGES = {
    "queued": "Checking",
    "fetching": "Opening",
    "reading": "Reading",
    "scoring": "Weighing what we found on",
}

PAGE_KINDS = {"start": "Start page"}

# Why a page could not be read, for the person reading the report; the JSON report keeps the technical message.
PAGE_ERRORS = {
    "dns_error": "This address does not exist or is not online.",
    "connect_error": "The site did not let us in: it may be down or no longer online.",
    "timeout": "The site took too long to answer.",
    "tls_invalid": "The site's security certificate is not valid, so its connection cannot be trusted.",
    "http_error": "The site answered with an error instead of the page.",
    "protocol_error": "The site's answer was garbled and could not be read.",
    "not_html": "This address leads to a file, not to a web page.",
    "too_many_redirects": "The site kept sending us from one address to another without reaching a page.",
    "bad_encoding": "The site sent the page in a form that could not be unpacked.",
    "blocked_destination": "The site sent us on to a private or local network, which pharmacheck does not open.",
    "invalid_url": "The site sent us on to an address that cannot be opened.",
}


def plain_page_error(code: str | None, status: int | None = None) -> str:
    if code == "http_error" and status:
        return f"The site answered with an error (code {status}) instead of the page."
    return PAGE_ERRORS.get(code or "", "We could not read this page.")

# Within an area: problems first, worst first, then good signs, then plain notes.
READING_ORDER = ["critical", "high", "medium", "low", "positive", "info"]

_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def progress_line(job: CheckJob, key: str) -> tuple[str, str]:
    """What the check is doing now, as (words, address): "Opening https://…/contact", or before any page is
    opened "Checking pharmacy.example…" rather than the whole address."""
    stage = STAGES.get(job.stage, "Checking")
    if not job.current_url:
        return "Checking", _display_host(key) + "…"
    return stage, job.current_url


def _reports(request: Request) -> ReportCache:
    return request.app.state.reports


def _report_url(key: str) -> str:
    return "/report?" + urlencode({"url": key})


def _error(request: Request, status: int, heading: str, message: str, *, given: str = "", show_form: bool = False,
           headers: dict | None = None) -> Response:
    return render(
        request, "error.html", status_code=status, headers=headers, page_title=f"{heading} · pharmacheck",
        heading=heading, message=message, given=given, show_form=show_form, form_value=given,
        form_error=message if show_form else "", noindex=True,
    )


ADDRESS_HINT = "Type the web address as it appears in your browser's address bar, for example boots.com."
PRIVATE_NETWORK = ("This address leads to a private or local network (such as a home router or a company's internal "
                   "site), not to a public website, so pharmacheck does not open it.")

# One code (invalid_url) stands for many reasons, so the page reads the reason's wording. The JSON API keeps the
# exact technical reason; the page says what a person can do about it. Each entry: pattern, words, add the hint.
PLAIN_REFUSALS: list[tuple[re.Pattern, str, bool]] = [
    (re.compile(r"without a dot"), "This is not a complete web address: it needs an ending such as .com or .co.uk.", True),
    (re.compile(r"spaces or control characters"), "A web address has no spaces or hidden characters in the name of the site.", True),
    (re.compile(r"^Port (\d+) is not allowed"),
     "pharmacheck checks ordinary web addresses only, without a number such as \u201c:{0}\u201d after the name.", True),
    (re.compile(r"^Only http:// and https://|must start with http"),
     "pharmacheck checks websites only: addresses that start with http:// or https://, or with just the name.", True),
    (re.compile(r"user name or password"),
     "The address contains a user name or password (the part before \u201c@\u201d). Leave it out: "
     "pharmacheck never needs one.", True),
    (re.compile(r"longer than (\d+)"), "The address is longer than any shop's web address (more than {0} characters).", True),
    (re.compile(r"local or internal networks|private, local or reserved network"), PRIVATE_NETWORK, False),
    (re.compile(r"is empty"), "Paste the address of a pharmacy website, for example boots.com.", False),
]


def plain_refusal(code: str, message: str) -> str:
    """What a refused address means, in words for the person who typed it."""
    for pattern, words, hint in PLAIN_REFUSALS:
        m = pattern.search(message or "")
        if m:
            text = words.format(*m.groups())
            return f"{text} {ADDRESS_HINT}" if hint else text
    if code == "blocked_destination":
        return PRIVATE_NETWORK
    # Host names with symbols or emoji, stray brackets, backslashes, malformed numbers: a typing mistake.
    return f"The name of the site is not spelt the way a web address can be: check it for typing mistakes, symbols or emoji. {ADDRESS_HINT}"


def _encode_path_spaces(url: str) -> str:
    """Spaces after the site's name, as in a copied "shop.com/my basket", as %20; spaces in the name stay refused."""
    text = url.strip()
    scheme_end = text.find("://")
    start = scheme_end + 3 if scheme_end != -1 else 0
    ends = [i for i in (text.find(c, start) for c in "/?#") if i != -1]
    if not ends:
        return url
    cut = min(ends)
    return text[:cut] + text[cut:].replace(" ", "%20")


def _refused(request: Request, given: str, exc: FetchError) -> Response:
    return _error(request, 400, "This address cannot be checked", plain_refusal(exc.code, exc.message), given=given,
                  show_form=True)


def _busy(request: Request, exc: CheckerBusy) -> Response:
    return _error(request, 503, "pharmacheck is busy", str(exc), headers={"Retry-After": str(exc.retry_after)})


def _over_limit(request: Request) -> int | None:
    """Seconds to wait when this visitor has started too many new checks, else None.

    The page needs no API key, so it uses the anonymous rate per client address, counted apart from the API;
    showing a kept report or joining a running check costs nothing.
    """
    access = getattr(request.app.state, "access", None)
    if access is None:
        return None
    identity = "web:" + (request.client.host if request.client else "unknown")
    if access.limiter.hit(access.anonymous, identity):
        return None
    reset, _remaining = access.limiter.get_window_stats(access.anonymous, identity)
    return max(1, int(reset - time.time()) + 1)


def _failed(request: Request, job: CheckJob) -> Response:
    if job.error_code == "internal_error":
        return _error(request, 500, "The check went wrong", job.error_message)
    return _error(request, 400, "This address cannot be checked", plain_refusal(job.error_code, job.error_message),
                  given=job.key, show_form=True)


@router.api_route("/", methods=["GET", "HEAD"])
async def home(request: Request) -> Response:
    return render(request, "home.html", page_title="pharmacheck: is this online pharmacy safe?")


@router.api_route("/report", methods=["GET", "HEAD"])
async def report_page(request: Request, url: str | None = None, again: str | None = None) -> Response:
    reports = _reports(request)
    if url is None or not url.strip():
        return _error(request, 400, "Which pharmacy should we check?",
                      "Paste the address of a pharmacy website, for example www.pharmacy-name.com.", show_form=True)
    try:
        key = reports.canonical(_encode_path_spaces(url))
    except FetchError as exc:
        return _refused(request, url, exc)
    if again:
        reports.forget(key, older_than=MIN_RECHECK_AGE)
    if again or key != url:
        # One address per report, so the link in the address bar is the one to share.
        return RedirectResponse(_report_url(key), status_code=303)

    report = await reports.lookup(key)
    if report is None:
        if reports.job(key) is None and (retry_after := _over_limit(request)) is not None:
            return _error(request, 429, "Too many checks", f"You have started many checks in a short time. Try again in {retry_after} seconds.",
                          headers={"Retry-After": str(retry_after)})
        try:
            job = reports.start(key, "web")
        except CheckerBusy as exc:
            return _busy(request, exc)
        await reports.wait(job, getattr(request.app.state, "web_first_wait", FIRST_WAIT_SECONDS))
        if job.state == "failed":
            return _failed(request, job)
        if job.state == "running":
            stage_text, stage_page = progress_line(job, key)
            return render(
                request, "progress.html", status_code=202, headers={"Cache-Control": "no-store"},
                page_title="Checking… · pharmacheck", noindex=True, key=key, host=_display_host(key), job=job,
                stage_text=stage_text, stage_page=stage_page, report_url=_report_url(key),
                status_url="/report/status?" + urlencode({"url": key}), refresh_seconds=REFRESH_SECONDS,
            )
        report = job.report
    view = report_view(report, request.app.state.checker.rules, key)
    return render(
        request, "report.html", headers={"Cache-Control": "private, max-age=60"},
        page_title=f"{view['label']}: {_display_host(report.final_url)} · pharmacheck", noindex=True,
        report=report, view=view,
    )


@router.get("/report.json")
async def report_json(request: Request, url: str | None = None) -> Response:
    """A kept report as JSON, for the page's JSON link. Never starts a check."""
    reports = _reports(request)
    try:
        key = reports.canonical(url or "")
    except FetchError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=400)
    report = await reports.lookup(key)
    if report is None:
        job = reports.job(key)
        report = job.report if job is not None else None
    if report is None:
        return JSONResponse(
            {"error": {"code": "not_checked", "message": f"This site has not been checked recently; open {_report_url(key)} first."}},
            status_code=404,
        )
    return Response(report.model_dump_json(), media_type="application/json")


@router.get("/report/status")
async def report_status(request: Request, url: str | None = None) -> Response:
    """Progress of a running check as JSON, for the waiting page's script."""
    reports = _reports(request)
    headers = {"Cache-Control": "no-store"}
    try:
        key = reports.canonical(url or "")
    except FetchError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=400, headers=headers)
    body: dict = {"url": key, "report_url": _report_url(key)}
    job = reports.job(key)
    if await reports.lookup(key) is not None:
        body["state"] = "done"
    elif job is None:
        body["state"] = "none"
    else:
        stage_text, stage_page = progress_line(job, key)
        body.update(state=job.state, stage=job.stage, stage_text=stage_text, stage_page=stage_page,
                    page=job.current_url, pages=list(job.pages))
    return JSONResponse(body, headers=headers)


@router.api_route("/docs", methods=["GET", "HEAD"])
async def api_docs(request: Request) -> Response:
    """The API's endpoints, read from the app's own OpenAPI document: nothing loaded from anywhere else."""
    return render(request, "api.html", page_title="The JSON API · pharmacheck", operations=api_operations(request.app.openapi()))


def api_operations(schema: dict) -> list[dict]:
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            body = (op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", ""))
            operations.append({
                "method": method.upper(),
                "path": path,
                # The first paragraph of the route's own description; FastAPI's summary is only its function name.
                "summary": (op.get("description") or op.get("summary") or "").split("\n\n", 1)[0],
                "parameters": [
                    {"name": p.get("name", ""), "where": p.get("in", ""), "required": p.get("required", False),
                     "description": p.get("description", "")}
                    for p in op.get("parameters", [])
                ],
                "body": body.rsplit("/", 1)[-1],
            })
    return operations


@router.api_route("/bookmarklet", methods=["GET", "HEAD"])
async def bookmarklet(request: Request) -> Response:
    origin = public_origin(request)
    return render(
        request, "bookmarklet.html", page_title="The pharmacheck bookmarklet",
        origin=origin or "", bookmarklet_href=bookmarklet_href(origin) if origin else "",
    )


def public_origin(request: Request) -> str | None:
    """Where people reach this service: PHARMACHECK_PUBLIC_URL, else the scheme and Host of this request.

    The Host header is typed by the client, so it is used only when it is a plain host name or address; it ends
    up inside JavaScript that people keep in their bookmarks.
    """
    configured = getattr(request.app.state.settings, "public_url", None)
    if configured:
        return configured
    host = request.headers.get("host", "")
    scheme = request.url.scheme
    if scheme not in ("http", "https") or not _HOST_HEADER.match(host):
        return None
    return f"{scheme}://{host}"


def bookmarklet_href(origin: str) -> str:
    # Navigation, not an injected script: it works under any page's Content-Security-Policy, and the only thing
    # that leaves the page is its address without query or fragment.
    code = (
        "(function(){var l=window.location;"
        f"window.location.href={json.dumps(origin + '/report?url=')}+encodeURIComponent(l.origin+l.pathname);"
        "})();"
    )
    return "javascript:" + quote(code, safe="(){}[]=+;:/.,'!?_-")


def _display_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _when(checked_at: str) -> str:
    try:
        moment = datetime.fromisoformat(checked_at)
    except ValueError:
        return checked_at
    seconds = int((datetime.now(timezone.utc) - moment).total_seconds())
    stamp = moment.strftime("%d %b %Y %H:%M UTC")
    if seconds < 90:
        return f"just now ({stamp})"
    if seconds < 3600:
        return f"{seconds // 60} minutes ago ({stamp})"
    return f"on {stamp}"


def _area_status(findings: list[FindingOut], score: int | None, points: int) -> tuple[str, str]:
    if score is None:
        return "Not enough to judge", "none"
    if any(f.severity in ("critical", "high") and f.determined for f in findings):
        return "Danger signs", "bad"
    if points < 0:
        return "Warning signs", "warn"
    if points > 0:
        return "Good signs", "good"
    return "Nothing either way", "none"


def _why(report: Report, rules: Rules) -> list[str]:
    scoring = rules.data.scoring
    thresholds = scoring.verdicts
    lines: list[str] = []
    read = [p for p in report.pages if p.error is None and p.status is not None]
    if not read:
        reason = plain_page_error(report.errors[0].code) if report.errors else "The site did not answer."
        lines.append(f"We could not read any page of this site, so there is nothing to judge. {reason}")
        return lines
    if report.verdict_reason:
        lines.append(report.verdict_reason)
    if report.score is None:
        # Points only mean something on the way to a score; listing them here would contradict "No score".
        return lines
    movers = sorted((f for f in report.findings if f.counted_points), key=lambda f: -abs(f.counted_points))
    lines.append(f"Every site starts at {scoring.baseline} points; what we found took this one to {report.score}.")
    for f in movers[:5]:
        lines.append(f"{f.title.rstrip('.')}: {f.counted_points:+d} points.")
    blocked = [f for f in report.findings if f.points > 0 and f.determined and not f.counted_points]
    if blocked and any(f.severity in scoring.bonus_blocked_by for f in report.findings):
        lines.append("Good signs were not counted: a seal or a tidy contact page cannot make up for danger signs.")
    lines.append(
        f"A score of {thresholds.likely_legitimate_min} or more, without danger signs and with something that can "
        f"be checked, reads as likely legitimate; {thresholds.likely_rogue_max} or less with a serious danger sign "
        "as likely rogue; anything else as a reason to be careful."
    )
    judged = sum(1 for c in report.categories if c.score is not None and c.weight > 0)
    total = sum(1 for c in report.categories if c.weight > 0)
    if judged < total:
        lines.append(f"We found enough to judge {judged} of the {total} areas; the others are marked below.")
    return lines


def report_view(report: Report, rules: Rules, key: str) -> dict:
    """What the report page shows, in the order a person reads it; every word comes from the report or here."""
    label, light = VERDICTS.get(report.verdict, (report.verdict, "grey"))
    known = {c.id for c in report.categories}
    areas = []
    groups = [(c.id, c.title, c.score, c.points) for c in report.categories]
    if any(f.category not in known for f in report.findings):
        groups.append(("other", "Other", None, 0))
    for area_id, title, score, points in groups:
        in_area = [f for f in report.findings if (f.category == area_id) or (area_id == "other" and f.category not in known)]
        in_area.sort(key=lambda f: READING_ORDER.index(f.severity) if f.severity in READING_ORDER else len(READING_ORDER))
        shown = [f for f in in_area if f.determined or f.severity != "info"]
        notes = [f for f in in_area if not (f.determined or f.severity != "info")]
        status, tone = _area_status(in_area, score, points)
        areas.append({
            "id": area_id, "title": title, "status": status, "tone": tone,
            "question": AREA_QUESTIONS.get(area_id, ""), "findings": shown, "notes": notes,
        })
    registry_links, seen = [], set()
    for f in report.findings:
        for link in f.verification_links:
            if link.url not in seen:
                seen.add(link.url)
                registry_links.append(link)
    pages = []
    for p in report.pages:
        if p.error:
            state = "not read: " + plain_page_error(p.error, p.status)
        else:
            state = "read" if p.status and p.status < 400 else f"answered with status {p.status}"
        pages.append({"kind": PAGE_KINDS.get(p.kind, p.kind.replace("_", " ").capitalize() + " page"), "url": p.url, "state": state})
    if report.verdict != "unknown":
        no_score_reason = "the pharmacy checks do not apply to this site."
    elif any(p.error is None for p in report.pages):
        no_score_reason = "what we could read of the site is too little to judge it."
    else:
        no_score_reason = "we could not read the site."
    bonus_blocked = any(f.severity in rules.data.scoring.bonus_blocked_by for f in report.findings)
    return {
        "label": label, "light": light, "areas": areas, "why": _why(report, rules), "registry_links": registry_links,
        "pages": pages, "problems": [e for e in report.errors if e.code == "check_error"],
        "severity_labels": SEVERITY_LABELS, "checked_at": _when(report.checked_at),
        # The kept report itself: the API would count against a quota, might ask for a key, and could start a
        # fresh check that no longer matches the page.
        "json_url": "/report.json?" + urlencode({"url": key}),
        "again_url": "/report?" + urlencode({"url": key, "again": "1"}),
        "nothing_read": not any(p.error is None and p.status is not None for p in report.pages),
        "no_score_reason": no_score_reason, "bonus_blocked": bonus_blocked, "scored": report.score is not None,
    }
