"""Liveness and readiness: /healthz says the process runs, /readyz that its stores answer."""

from __future__ import annotations

import asyncio

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

READY_TIMEOUT = 2.0
#: Seconds a balancer or a person may wait before asking a process that is not ready again.
RETRY_AFTER = 2


class HealthController(Controller):
    path = ""
    include_in_schema = True
    tags = ["health"]

    @get("/healthz", media_type=MediaType.JSON, cache=False)
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/readyz",
        media_type=MediaType.JSON,
        cache=False,
        responses={
            503: ResponseSpec(
                data_container=dict[str, object],
                generate_examples=False,
                description="A store does not answer: which one is in `checks`; Retry-After",
            )
        },
    )
    async def readyz(self, state: State) -> Response[dict[str, object]]:
        checks = {
            "postgres": await _check(_ping_postgres(state)),
            "redis": await _check(state.redis.ping()),
        }
        ok = all(v == "ok" for v in checks.values())
        return Response(
            {"status": "ready" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
            headers={} if ok else {"Retry-After": str(RETRY_AFTER)},
        )


async def _ping_postgres(state: State) -> None:
    async with state.pool.acquire(timeout=READY_TIMEOUT) as conn:
        await conn.fetchval("select 1", timeout=READY_TIMEOUT)


async def _check(awaitable: object) -> str:
    try:
        await asyncio.wait_for(awaitable, READY_TIMEOUT)  # type: ignore[arg-type]
    except Exception as e:  # any failure means "not ready"; say which kind
        return f"unavailable: {type(e).__name__}"
    return "ok"
