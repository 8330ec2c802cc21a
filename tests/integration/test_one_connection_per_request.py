"""A burst of visitors never hangs a web process: a request holds at most one pooled connection,
and a request that cannot get one in time is answered 503 with Retry-After.

Before the booking core had its unit of work, the visitor pages held the request's connection
and then asked the pool for a second one: 100 people opening their manage link at once left
the process answering nothing, /readyz 503 for as long as anyone watched.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.booking_helpers import book, free_slots
from tests.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("seeded")

BURST = 200


async def _a_visit(http: httpx.AsyncClient) -> tuple[str, str]:
    slots = await free_slots(http)
    created = await book(http, slots[0]["start"], "burst@example.org")
    assert created.status_code == 201, created.text
    body = created.json()
    return body["reference"], body["manage_token"]


def _visitor_pages(reference: str, token: str) -> list[str]:
    return [
        f"/bookings/{reference}/sent?token={token}",
        f"/bookings/{reference}/manage?token={token}",
        f"/bookings/{reference}/calendar.ics?token={token}",
        f"/bookings/{reference}/move?token={token}",
        f"/bookings/{reference}/cancel?token={token}",
        f"/bookings/{reference}/confirm?token=not-the-token",
        f"/api/v1/bookings/{reference}",
    ]


async def _burst(base_url: str, path: str, token: str) -> list[httpx.Response]:
    """BURST requests at once, each on a connection of its own (a client per burst: a kept-alive
    connection the server has just closed for idling would fail as the client reuses it)."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        return await asyncio.gather(*(http.get(path, headers=headers) for _ in range(BURST)))


async def test_a_burst_on_every_visitor_page_is_answered_and_the_process_stays_ready(settings):
    with LiveServer(settings, {"DB_POOL_MIN": "1", "DB_POOL_MAX": "4"}) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            reference, token = await _a_visit(http)
            for path in _visitor_pages(reference, token):
                responses = await _burst(server.url, path, token)
                statuses = sorted({r.status_code for r in responses})
                assert set(statuses) <= {200, 503}, (path, statuses)
                assert statuses.count(200), (path, statuses)
                for r in responses:
                    if r.status_code == 503:
                        assert int(r.headers["Retry-After"]) >= 1
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text


async def test_a_request_that_cannot_get_a_connection_in_time_gets_503_with_retry_after(settings):
    env = {"DB_POOL_MIN": "1", "DB_POOL_MAX": "1", "DB_ACQUIRE_TIMEOUT": "0.01"}
    with LiveServer(settings, env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            reference, token = await _a_visit(http)
            page, api = _visitor_pages(reference, token)[1], f"/api/v1/bookings/{reference}"
            for path in (page, api):
                responses = await _burst(server.url, path, token)
                busy = [r for r in responses if r.status_code == 503]
                assert busy, f"{path}: one connection for {BURST} requests never ran short"
                assert {r.status_code for r in responses} <= {200, 503}
                for r in busy:
                    assert int(r.headers["Retry-After"]) >= 1
                    if path.startswith("/api/"):
                        assert r.headers["content-type"].startswith("application/problem+json")
                        assert r.json()["code"] == "store_unavailable"
                    else:
                        assert r.headers["content-type"].startswith("text/html")
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
