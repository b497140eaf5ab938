"""Response headers for every page and API answer: a strict Content-Security-Policy, no referrer, no sniffing,
no indexing of reports, and cross-origin GETs for the JSON API and the page's JSON report.

Reports describe sites that would like to look legitimate; `X-Robots-Tag: noindex` keeps a rogue site from
showing off a report page in search results. The pages load nothing but their own stylesheet and script, so
the policy can forbid everything else, inline script included.

The middleware wraps the whole application, Starlette's own error layer included, so that every answer gets
the headers: a refused oversized body, a preflight, a static file and a crash as much as a report page.
"""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("pharmacheck.api")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

NOINDEX_PREFIXES = ("/report", "/api/")

CORS_ALLOWED_HEADERS = "Accept, Accept-Language, Content-Type, Authorization, X-API-Key"
# Headers a script on another origin may read from an API answer (CORS exposes only a few by default).
CORS_EXPOSED_HEADERS = ("Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, "
                        "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, WWW-Authenticate")


def _noindex(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in NOINDEX_PREFIXES)


def install_security_headers(app) -> None:
    """Put SecurityHeadersMiddleware around the application's whole middleware stack.

    `add_middleware` would place it inside Starlette's ServerErrorMiddleware, whose 500 answers would then leave
    without the headers, and inside any middleware added after it.
    """
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeadersMiddleware(build())


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        # The page's JSON report is the same report as the API's, so pages and small tools may read it too.
        is_api = path.startswith("/api/") or path == "/report.json"
        request_headers = {k.lower(): v for k, v in scope.get("headers", [])}
        started = finished = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Frame-Options"] = "DENY"
                if _noindex(path):
                    headers["X-Robots-Tag"] = "noindex, nofollow"
                if is_api:
                    headers["Access-Control-Allow-Origin"] = "*"
                    headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
                    if "access-control-allow-credentials" in headers:
                        del headers["access-control-allow-credentials"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            await send(message)

        if is_api and scope["method"] == "OPTIONS" and b"access-control-request-method" in request_headers:
            await self._preflight(send_with_headers)
            return

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's error layer answers with the project's error and then raises again for the server to
            # log; logging here instead keeps one traceback per failure and lets a complete answer stand.
            log.exception("unexpected error on %s", path)
            if finished:
                return
            if started:
                raise  # half an answer is out: the server can only drop the connection
            from starlette.requests import Request

            from .errors import internal_error

            await internal_error(Request(scope))(scope, receive, send_with_headers)

    async def _preflight(self, send: Send) -> None:
        headers = [
            (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
            (b"access-control-allow-headers", CORS_ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
