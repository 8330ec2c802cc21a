"""The tests' app is built once per process and run again for each test (`app_for`,
tests/conftest.py): a run keeps nothing of the one before, neither the answers it kept in
memory, nor its settings, nor what its lifespan or a handler put in `app.state`."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from tests.booking_helpers import book, free_slots
from tests.conftest import app_for

pytestmark = pytest.mark.usefixtures("seeded")


def free_at(slots, start: str) -> int:
    return next((s["free"] for s in slots if s["start"] == start), 0)


async def test_a_run_again_answers_from_the_database_not_the_last_runs_memory(settings, redis):
    cached = msgspec.structs.replace(settings, read_cache_seconds=3600)
    async with app_for(cached) as app, AsyncTestClient(app=app) as a:
        before = await free_slots(a)
        slot = before[0]
        async with app_for(cached) as other, AsyncTestClient(app=other) as b:
            assert other is not app  # an app in use is never handed out again
            booked = await book(b, slot["start"], "olena@example.com")
            assert booked.status_code == 201, booked.text
        assert await free_slots(a) == before  # `a` answers from its memory (test_read_cache.py)

    async with app_for(cached) as again, AsyncTestClient(app=again) as a:
        assert again is app  # not built again
        assert free_at(await free_slots(a), slot["start"]) == slot["free"] - 1


async def test_a_run_again_has_its_own_settings_and_a_new_lifespan(settings, redis):
    strict = msgspec.structs.replace(settings, proof_of_work=True)
    async with app_for(strict) as app, AsyncTestClient(app=app) as c:
        slot = (await free_slots(c))[0]
        refused = await book(c, slot["start"], "olena@example.com")
        assert refused.status_code == 422, refused.text
        assert "proof of work is required" in refused.json()["detail"]
        first_pool = app.state.pool
        app.state.left_behind = True

    async with app_for(settings) as again, AsyncTestClient(app=again) as c:
        assert again is app
        assert again.state.settings is settings
        assert again.state.pool is not first_pool
        assert "left_behind" not in again.state.dict()
        booked = await book(c, slot["start"], "olena@example.com")
        assert booked.status_code == 201, booked.text
