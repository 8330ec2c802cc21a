"""A one-second memory of the public read answers that cost the most: availability and hours.

`GET /availability` runs the rules, the desks' schedules and the slot engine over up to 93 days
and reads the busy visits: about 2 ms of CPU, against 0.12 ms for a request that does nothing
(docs/benchmarks.md). Many visitors ask the same question at once, above all when a release
opens, so each process keeps the answer for `READ_CACHE_SECONDS` (default 1; 0 turns it off) using
litestar's response cache (its in-memory store: a hit skips the handler and its database
connection).

How stale can an answer be?
- In the same process: not after its own write. Every successful unsafe request (POST, PUT,
  PATCH, DELETE answered below 400: a booking, a cancellation, a staff change of hours or
  desks) empties the memory before its answer leaves, so its client never reads the old one.
- From another replica or the worker (a hold expiring, a draw decided), or when an answer was
  computed while a write was committing: at most `READ_CACHE_SECONDS`.
Nothing is ever booked from this memory: a booking re-checks its time against the engine inside
its own transaction, and the exclusion constraint has the last word.
"""

from __future__ import annotations

from litestar.config.response_cache import ResponseCacheConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STORE = "response_cache"


def response_cache_config(seconds: int) -> ResponseCacheConfig:
    enabled = seconds > 0

    def only_successes(_request: object, status_code: int) -> bool:
        return enabled and 200 <= status_code < 300

    return ResponseCacheConfig(
        default_expiration=seconds if enabled else None,
        store=STORE,
        cache_response_filter=only_successes,  # type: ignore[arg-type]
    )


class ForgetOnWriteMiddleware:
    """Empties the response cache after every successful write this process answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def forget_then_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await scope["litestar_app"].stores.get(STORE).delete_all()
            await send(message)

        await self.app(scope, receive, forget_then_send)
