"""HEAD on every GET route, answered as the GET would be but without the body.

FastAPI's routes answer only the methods they name, so a monitor probing /healthz with HEAD got 405 while the
pages (which list HEAD) did not. Mapping HEAD to GET here, before routing, covers every GET route alike and
keeps HEAD out of the OpenAPI document as a second copy of each operation. The headers, Content-Length
included, are those of the GET (RFC 9110, 9.3.2).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the server sends nothing after the headers; a streamed GET still ends below
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
