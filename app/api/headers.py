"""Response headers for every page and API answer: a strict Content-Security-Policy, no referrer, no sniffing,
no indexing of reports, and cross-origin GETs for the JSON API and the page's JSON report.

Reports describe sites that would like to look legitimate; `X-Robots-Tag: noindex` keeps a rogue site from
showing off a report page in search results. The pages load nothing but their own stylesheet and script, so
the policy can forbid everything else, inline script included.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

NOINDEX_PREFIXES = ("/report", "/api/")

CORS_ALLOWED_HEADERS = "Accept, Accept-Language, Content-Type, Authorization, X-API-Key"


def _noindex(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in NOINDEX_PREFIXES)


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

        if is_api and scope["method"] == "OPTIONS" and b"access-control-request-method" in request_headers:
            await self._preflight(send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Frame-Options"] = "DENY"
                if _noindex(path):
                    headers["X-Robots-Tag"] = "noindex, nofollow"
                if is_api:
                    headers["Access-Control-Allow-Origin"] = "*"
                    if "access-control-allow-credentials" in headers:
                        del headers["access-control-allow-credentials"]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, send: Send) -> None:
        headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
            (b"access-control-allow-headers", CORS_ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
