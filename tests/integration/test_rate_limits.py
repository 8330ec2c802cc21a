"""Rate limits shared through Redis: a flood from one address is stopped, others still book."""

from __future__ import annotations

import asyncio

import httpx
import msgspec
import pytest

from tests.booking_helpers import booking_body, free_slots
from tests.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def limited_server(settings, pool, redis):
    with LiveServer(msgspec.structs.replace(settings, rate_limit=True)) as server:
        yield server


async def _book(http, start: str, email: str, address: str, key: str) -> httpx.Response:
    return await http.post(
        "/api/v1/bookings",
        json=booking_body(start, email),
        headers={"Idempotency-Key": key, "X-Forwarded-For": address},
    )


async def test_a_flood_from_one_address_gets_429_while_another_address_still_books(
    limited_server, pool
):
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        slots = await free_slots(http)
        flood = await asyncio.gather(
            *(
                _book(http, slots[i]["start"], f"bot{i}@example.org", "203.0.113.7", f"k{i}")
                for i in range(30)
            )
        )
        codes = [r.status_code for r in flood]
        limited = [r for r in flood if r.status_code == 429]
        assert limited, codes
        assert codes.count(201) <= 10  # the per-address limit is 10 a minute
        assert int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].headers["content-type"].startswith("application/problem+json")
        person = await _book(http, slots[40]["start"], "olena@example.org", "198.51.100.4", "p")
        assert person.status_code == 201, person.text
    booked = await pool.fetchval("select count(*) from bookings")
    assert booked == codes.count(201) + 1


async def test_one_person_is_limited_across_addresses(limited_server):
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        slots = await free_slots(http)
        codes = []
        for i in range(7):
            response = await _book(
                http, slots[i]["start"], "same.person@example.org", f"192.0.2.{i}", f"s{i}"
            )
            codes.append(response.status_code)
    assert 429 in codes  # 5 booking requests per person per hour
    assert codes[:5].count(429) == 0
