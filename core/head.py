"""HEAD wherever GET works (RFC 9110 §9.3.2): the GET's status and headers, without content.

litestar routes HEAD only to handlers that list it, and answers 405 before any route middleware
runs, so this wraps the application's whole ASGI handler (`Litestar.asgi_handler`). The GET's
Content-Length is kept (§8.6: it says what a GET would send); its body is dropped. Once the
response is complete the handler is told the client left, so even a stream ends.
"""

from __future__ import annotations

import asyncio

from litestar.types import ASGIApp, Message, Receive, Scope, Send

DISCONNECT: Message = {"type": "http.disconnect"}  # type: ignore[assignment]


class AnswerHeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = asyncio.Event()

        async def headers_only(message: Message) -> None:
            if done.is_set():
                return
            if message["type"] == "http.response.body":
                message = {"type": "http.response.body", "body": b"", "more_body": False}
                done.set()
            await send(message)

        async def until_done() -> Message:
            if done.is_set():
                return DISCONNECT
            client = asyncio.ensure_future(receive())
            finished = asyncio.ensure_future(done.wait())
            await asyncio.wait({client, finished}, return_when=asyncio.FIRST_COMPLETED)
            if client.done():
                finished.cancel()
                return client.result()
            client.cancel()
            return DISCONNECT

        await self.app({**scope, "method": "GET"}, until_done, headers_only)  # type: ignore[arg-type]
