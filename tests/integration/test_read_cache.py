"""The read cache (core/cache.py): a replica forgets its answers on its own writes at once, and
shows other replicas' writes no later than READ_CACHE_SECONDS.

Two apps on the same PostgreSQL and Redis play two replicas. The cache is set to an hour here,
so "still the old answer" does not depend on how fast the test runs.
"""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from tests.booking_helpers import BASZTOWA, bearer, book, free_slots

pytestmark = pytest.mark.usefixtures("seeded")


@contextlib.asynccontextmanager
async def replica(settings, seconds: int):
    async with AsyncTestClient(
        app=create_app(msgspec.structs.replace(settings, read_cache_seconds=seconds))
    ) as c:
        yield c


def free_at(slots, start: str) -> int:
    return next((s["free"] for s in slots if s["start"] == start), 0)


async def test_another_replicas_booking_shows_once_this_replica_writes(settings, redis):
    async with replica(settings, 3600) as a, replica(settings, 3600) as b:
        before = await free_slots(a)
        first, second = before[0], before[1]
        booked = await book(b, first["start"], "olena@example.com")
        assert booked.status_code == 201, booked.text

        assert await free_slots(a) == before  # A answers from memory: B's write is not seen yet
        assert free_at(await free_slots(b), first["start"]) == first["free"] - 1  # B forgot

        mine = await book(a, second["start"], "taras@example.com")
        assert mine.status_code == 201, mine.text
        after = await free_slots(a)  # A's own write emptied its memory: both visits show
        assert free_at(after, first["start"]) == first["free"] - 1
        assert free_at(after, second["start"]) == second["free"] - 1


async def test_a_cancellation_frees_the_slot_in_the_next_answer(settings, redis):
    async with replica(settings, 3600) as a:
        slot = (await free_slots(a))[0]
        visit = (await book(a, slot["start"], "olena@example.com")).json()
        assert free_at(await free_slots(a), slot["start"]) == slot["free"] - 1

        cancelled = await a.post(
            f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
        )
        assert cancelled.status_code == 200, cancelled.text
        assert free_at(await free_slots(a), slot["start"]) == slot["free"]


async def test_a_refused_write_keeps_the_answers(settings, redis):
    async with replica(settings, 3600) as a, replica(settings, 3600) as b:
        before = await free_slots(a)
        assert (await book(b, before[0]["start"], "olena@example.com")).status_code == 201
        refused = await book(a, "2020-01-01T10:00:00", "taras@example.com")  # in the past
        assert refused.status_code == 422
        assert await free_slots(a) == before  # nothing was written, nothing was forgotten


async def test_with_the_cache_off_every_answer_is_fresh(settings, redis):
    async with replica(settings, 0) as a, replica(settings, 0) as b:
        slot = (await free_slots(a))[0]
        assert (await book(b, slot["start"], "olena@example.com")).status_code == 201
        assert free_at(await free_slots(a), slot["start"]) == slot["free"] - 1


async def test_hours_are_cached_per_query(settings, redis):
    async with replica(settings, 3600) as a:
        url = f"/api/v1/points/{BASZTOWA}/hours"
        one = await a.get(url, params={"from": "2026-12-01", "to": "2026-12-01"})
        two = await a.get(url, params={"from": "2026-12-02", "to": "2026-12-02"})
        assert one.status_code == two.status_code == 200
        assert one.json()["days"][0]["date"] == "2026-12-01"
        assert two.json()["days"][0]["date"] == "2026-12-02"
