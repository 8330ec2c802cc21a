"""Races: many concurrent requests through the real app and its pool of real PostgreSQL
connections. The database's constraints, not the application's care, keep the counts right."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import uuid

import pytest

from tests.booking_helpers import book, free_slots

pytestmark = pytest.mark.usefixtures("seeded")

ROUNDS = 20
CONTENDERS = 200


async def _race(client, start: str, language: str, n: int, tag: str):
    requests = [
        book(client, start, f"visitor-{tag}-{i}@example.org", language=language) for i in range(n)
    ]
    return await asyncio.gather(*requests)


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
    client, pool, language, desks
):
    slots = [s for s in await free_slots(client, language=language) if s["free"] == desks]
    assert len(slots) >= ROUNDS
    outcomes = collections.Counter()
    for round_number, slot in enumerate(slots[:ROUNDS]):
        responses = await _race(client, slot["start"], language, CONTENDERS, f"{round_number}")
        codes = collections.Counter(r.status_code for r in responses)
        outcomes.update(codes)
        assert codes[201] == desks, codes
        assert codes[409] == CONTENDERS - desks, codes
        assert await _active_at(pool, slot["start"]) == desks
        desks_used = {r.json()["desk_id"] for r in responses if r.status_code == 201}
        assert len(desks_used) == desks
    print(f"\nrace {language}: {ROUNDS} rounds x {CONTENDERS} requests -> {dict(outcomes)}")
    assert not [code for code in outcomes if code >= 500]


async def test_one_idempotency_key_sent_twenty_times_at_once_books_once(client, pool):
    slots = await free_slots(client)
    key = str(uuid.uuid4())
    responses = await asyncio.gather(
        *(book(client, slots[0]["start"], "olena@example.org", key=key) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_one_person_booking_ten_slots_at_once_gets_at_most_the_limit(client, pool):
    slots = await free_slots(client)
    responses = await asyncio.gather(
        *(book(client, slot["start"], "jan.kowalski@gmail.com") for slot in slots[:10])
    )
    codes = collections.Counter(r.status_code for r in responses)
    assert codes[201] == 1 and codes[409] == 9, codes
    assert (
        await pool.fetchval("select count(*) from bookings where status in ('held', 'confirmed')")
        == 1
    )


async def test_one_person_with_mailbox_variants_is_still_one_person(client, pool):
    slots = await free_slots(client)
    variants = [
        "Jan.Kowalski@gmail.com",
        "jankowalski@gmail.com",
        "jan.kowalski+x@gmail.com",
        "JANKOWALSKI@GOOGLEMAIL.COM",
        "j.a.n.kowalski@gmail.com",
    ]
    responses = await asyncio.gather(
        *(book(client, slot["start"], email) for slot, email in zip(slots, variants, strict=False))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
