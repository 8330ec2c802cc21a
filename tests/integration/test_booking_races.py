"""Races: many concurrent HTTP requests to the real server (uvicorn on a port) and its pool of
real PostgreSQL connections. The database's constraints, not the application's care, keep the
counts right. Each race also measures how many requests were really in flight at once."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import time
import uuid

import httpx
import pytest

from tests.booking_helpers import booking_body, free_slots

pytestmark = pytest.mark.usefixtures("seeded")

ROUNDS = 20
CONTENDERS = 200


class Timed:
    """An HTTP client that records when each request was in flight."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.spans: list[tuple[float, float]] = []

    async def book(self, start: str, email: str, *, key: str | None = None, **kwargs):
        began = time.perf_counter()
        response = await self.http.post(
            "/api/v1/bookings",
            json=booking_body(start, email, **kwargs),
            headers={"Idempotency-Key": key or str(uuid.uuid4())},
        )
        self.spans.append((began, time.perf_counter()))
        return response

    def peak_concurrency(self) -> int:
        events = sorted([(a, 1) for a, _ in self.spans] + [(b, -1) for _, b in self.spans])
        peak = current = 0
        for _, change in events:
            current += change
            peak = max(peak, current)
        return peak


@pytest.fixture
async def http(live_server):
    # A fresh connection per request: a kept-alive one idle past uvicorn's keep-alive timeout
    # (5 s) may be closed by the server just as the client reuses it (a client-side ReadError).
    limits = httpx.Limits(max_connections=CONTENDERS + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120, limits=limits) as client:
        yield Timed(client)


async def _active_at(pool, start: str) -> int:
    return await pool.fetchval(
        """
        select count(*) from bookings
        where starts_at = $1 and status in ('held', 'confirmed', 'checked_in')
        """,
        dt.datetime.fromisoformat(start),
    )


@pytest.mark.parametrize(("language", "desks"), [("pjm", 1), ("uk", 3)])
async def test_concurrent_bookers_of_one_slot_get_exactly_its_free_places(
    http, pool, language, desks
):
    slots = [s for s in await free_slots(http.http, language=language) if s["free"] == desks]
    assert len(slots) >= ROUNDS
    outcomes = collections.Counter()
    for round_number, slot in enumerate(slots[:ROUNDS]):
        responses = await asyncio.gather(
            *(
                http.book(slot["start"], f"v{round_number}-{i}@example.org", language=language)
                for i in range(CONTENDERS)
            )
        )
        codes = collections.Counter(r.status_code for r in responses)
        outcomes.update(codes)
        assert codes[201] == desks, codes
        assert codes[409] == CONTENDERS - desks, codes
        assert await _active_at(pool, slot["start"]) == desks
        assert len({r.json()["desk_id"] for r in responses if r.status_code == 201}) == desks
    peak = http.peak_concurrency()
    print(
        f"\nrace {language}: {ROUNDS} rounds x {CONTENDERS} requests -> {dict(outcomes)}; "
        f"up to {peak} requests in flight at once"
    )
    assert not [code for code in outcomes if code >= 500]
    assert peak >= 20  # the requests really overlapped


async def test_one_idempotency_key_sent_twenty_times_at_once_books_once(http, pool):
    slots = await free_slots(http.http)
    key = str(uuid.uuid4())
    responses = await asyncio.gather(
        *(http.book(slots[0]["start"], "olena@example.org", key=key) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await pool.fetchval("select count(*) from bookings") == 1
    assert http.peak_concurrency() >= 5


async def test_one_person_booking_ten_slots_at_once_gets_at_most_the_limit(http, pool):
    slots = await free_slots(http.http)
    responses = await asyncio.gather(
        *(http.book(slot["start"], "jan.kowalski@gmail.com") for slot in slots[:10])
    )
    codes = collections.Counter(r.status_code for r in responses)
    assert codes[201] == 1 and codes[409] == 9, codes
    active = await pool.fetchval(
        "select count(*) from bookings where status in ('held', 'confirmed')"
    )
    assert active == 1


async def test_one_person_with_mailbox_variants_is_still_one_person(http):
    slots = await free_slots(http.http)
    variants = [
        "Jan.Kowalski@gmail.com",
        "jankowalski@gmail.com",
        "jan.kowalski+x@gmail.com",
        "JANKOWALSKI@GOOGLEMAIL.COM",
        "j.a.n.kowalski@gmail.com",
    ]
    responses = await asyncio.gather(
        *(http.book(slot["start"], email) for slot, email in zip(slots, variants, strict=False))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
