"""The kept point configuration (scheduling/config.py): every change to what the slot engine
reads gives the point a new version, and a booking always decides on the current rules."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import secrets
from urllib.parse import urlsplit

import asyncpg
import pytest

from core import db
from core.migrate import apply_migrations
from scheduling import config
from scheduling.seed import seed_database
from tests.booking_helpers import BASZTOWA, book, free_slots
from tests.conftest import database_url_for

pytestmark = pytest.mark.usefixtures("seeded")

DEKERTA = "krakow-jana-dekerta-24"


async def version(conn, point_id: str) -> int | None:
    return await conn.fetchval(
        "select version from point_config_versions where point_id = $1", point_id
    )


CHANGES = {
    "a rule": "update calendar_rules set opens = opens where point_id = $1",
    "a new closure": (
        "insert into calendar_rules (id, point_id, kind, dates, labels) "
        "values ('test-closed', $1, 'closed', array['2031-01-02'::date], '{}')"
    ),
    "a desk": "update desks set languages = languages where point_id = $1",
    "a service's duration": "update point_services set duration_minutes = 45 where point_id = $1",
    "the point": "update points set observes_holidays = observes_holidays where id = $1",
    "a service's names": (
        "update services set names = names where id in "
        "(select service_id from point_services where point_id = $1)"
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_each_change_gives_the_point_a_new_version_and_only_that_point(pool, change):
    async with pool.acquire() as conn:
        before, other = await version(conn, BASZTOWA), await version(conn, DEKERTA)
        await conn.execute(CHANGES[change], BASZTOWA)
        after = await version(conn, BASZTOWA)
        assert before is not None and after is not None and after > before
        if change != "a service's names":  # Dekerta offers the same services
            assert await version(conn, DEKERTA) == other


async def test_the_kept_configuration_is_replaced_when_the_version_moves(pool):
    async with pool.acquire() as conn:
        first, _ = await config.current(conn, BASZTOWA)
        again, _ = await config.current(conn, BASZTOWA)
        assert again is first  # nothing changed: kept, not read again
        await conn.execute(
            "update point_services set duration_minutes = 45 "
            "where point_id = $1 and service_id = 'everyday-matters'",
            BASZTOWA,
        )
        changed, _ = await config.current(conn, BASZTOWA)
        assert changed is not first
        assert changed.offer("everyday-matters").duration_minutes == 45


async def test_a_new_version_is_never_one_seen_before_even_after_the_table_is_emptied(pool):
    async with pool.acquire() as conn:
        seen = await version(conn, BASZTOWA)
        await conn.execute("truncate point_config_versions")
        await conn.execute("update points set city = city where id = $1", BASZTOWA)
        assert await version(conn, BASZTOWA) > seen


async def test_a_booking_sees_a_closure_made_after_the_configuration_was_kept(client, pool):
    slots = await free_slots(client)
    assert (await book(client, slots[0]["start"], "first@example.org")).status_code == 201
    day = dt.datetime.fromisoformat(slots[-1]["start"]).date()  # kept by now in this process
    await pool.execute(
        "insert into calendar_rules (id, point_id, kind, dates, labels) "
        "values ('test-closed', $1, 'closed', array[$2::date], '{}')",
        BASZTOWA,
        day,
    )
    refused = await book(client, slots[-1]["start"], "second@example.org")
    assert refused.status_code == 422, refused.text
    assert "closed" in refused.json()["detail"]


async def test_an_unknown_point_is_refused_and_nothing_is_kept(pool):
    async with pool.acquire() as conn:
        with pytest.raises(config.NotFound):
            await config.current(conn, "nowhere")
        assert all(point_id != "nowhere" for _, point_id in config._kept)


@contextlib.asynccontextmanager
async def _migrated_and_seeded(stores, make):
    """A database of its own, migrated and seeded; `make` creates it and returns its url."""
    url = await make()
    try:
        conn = await db.connect(url)
        try:
            await apply_migrations(conn)  # a no-op on a copy of a migrated database
            await seed_database(conn)
        finally:
            await conn.close()
        yield url
    finally:
        await stores.drop_database(url)


async def _copy_of(stores, url: str) -> str:
    """A copy of the database at `url` (a template), in the same cluster."""
    name = f"wizyta_copy_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(stores.server_url)
    try:
        await conn.execute(f'create database "{name}" template "{urlsplit(url).path[1:]}"')
    finally:
        await conn.close()
    return database_url_for(stores.server_url, name)


@pytest.mark.parametrize("made", ["apart", "as a copy of the other"])
async def test_two_databases_with_the_same_points_and_versions_never_get_each_others_config(
    stores, made
):
    async with _migrated_and_seeded(stores, stores.create_database) as first_url:
        make = (
            stores.create_database
            if made == "apart"
            else functools.partial(_copy_of, stores, first_url)
        )
        async with _migrated_and_seeded(stores, make) as second_url:
            first, second = await db.connect(first_url), await db.connect(second_url)
            try:
                # One change each, told apart by its value, numbered alike by each sequence.
                for conn, minutes in ((first, 45), (second, 60)):
                    await conn.execute(
                        "update point_services set duration_minutes = $2 "
                        "where point_id = $1 and service_id = 'everyday-matters'",
                        BASZTOWA,
                        minutes,
                    )
                assert await version(first, BASZTOWA) == await version(second, BASZTOWA)
                for _ in range(2):  # each read after the other database's was kept
                    for conn, minutes in ((first, 45), (second, 60)):
                        kept, _ = await config.current(conn, BASZTOWA)
                        assert kept.offer("everyday-matters").duration_minutes == minutes
            finally:
                await first.close()
                await second.close()


async def test_emptying_the_tables_between_tests_never_gives_a_configuration_number_twice(
    seeded,
):
    """Each process keeps a point's configuration by its number (scheduling/config.py), across
    tests too: the tests' way of emptying the tables must not start the numbers again, or a
    test would be answered from the configuration an earlier test left behind."""
    from scheduling.seed import seed_database
    from tests.conftest import empty_tables

    before = await seeded.fetchval("select max(version) from point_config_versions")
    await empty_tables(seeded)
    async with seeded.acquire() as conn:
        await seed_database(conn)
    assert await seeded.fetchval("select min(version) from point_config_versions") > before
