"""Every error leaves the API as `{"error": {"code", "message"}}` with a 4xx status, never a traceback.

A browser asking for a page outside /api/ gets the same message as an HTML page instead.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.cache import CheckerBusy
from app.netpolicy import FetchError

from .validation import describe_unreadable_body, describe_validation

INTERNAL_MESSAGE = "Something went wrong on our side; the error was logged."


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   details: list[dict] | None = None) -> JSONResponse:
    error: dict = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse(status_code=status, content={"error": error}, headers=headers)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path in ("/openapi.json", "/report.json", "/healthz"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _html_error(request: Request, status: int, message: str):
    from .templating import render

    headings = {404: "Page not found", 405: "That does not work here", 429: "Too many requests", 500: "Something went wrong"}
    heading = headings.get(status, "Something went wrong" if status >= 500 else "That request did not work")
    return render(request, "error.html", status_code=status, page_title=f"{heading} · pharmacheck",
                  heading=heading, message=message, noindex=True)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FetchError)
    async def _fetch_error(request: Request, exc: FetchError):
        return error_response(400, exc.code, exc.message)

    @app.exception_handler(CheckerBusy)
    async def _busy(request: Request, exc: CheckerBusy):
        response = error_response(503, "busy", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        message, details = describe_validation(exc.errors(), exc.body, request.headers.get("content-type", ""),
                                               request.scope.get("route"))
        return error_response(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and not _wants_html(request):
            # FastAPI's answer to a body its JSON parser gave up on (100,000 nested brackets, bytes that are not
            # UTF-8): a malformed request like any other, with the reason found again from the body.
            detail = describe_unreadable_body(request.scope.get("pharmacheck.body"))
            return error_response(422, "invalid_request", detail["message"] + ".", details=[detail])
        code = {404: "not_found", 405: "method_not_allowed", 429: "rate_limited"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if _wants_html(request):
            message = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
            return _html_error(request, exc.status_code, message)
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"There is nothing at {request.url.path}; /docs lists the API's paths."
        elif exc.status_code == 405:
            allowed = [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
            if allowed:
                if "GET" in allowed and "HEAD" not in allowed:
                    allowed.append("HEAD")  # answered by HeadAsGetMiddleware
                    headers["Allow"] = ", ".join(allowed)
                usable = [m for m in allowed if m != "HEAD"] or allowed
                message = f"{request.method} is not allowed on {request.url.path}; use {' or '.join(usable)}."
            else:
                message = f"{request.method} is not allowed on {request.url.path}."
        return error_response(exc.status_code, code, message, headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Logged by SecurityHeadersMiddleware, which sees the exception again once this answer has gone out.
        return internal_error(request)


def internal_error(request: Request):
    if _wants_html(request):
        return _html_error(request, 500, INTERNAL_MESSAGE)
    return error_response(500, "internal_error", INTERNAL_MESSAGE)
