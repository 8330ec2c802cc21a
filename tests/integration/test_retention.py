"""Retention (booking/retention.py), table by table: what is personal is forgotten once it has
outlived its use, what is recent stays, and the anonymous facts stay."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets

import asyncpg
import pytest

from booking import retention
from booking.retention import NOT_PERSONAL, PERSONAL_DATA, forget, purge_personal_data
from tests.factories import insert_booking, insert_outbox

pytestmark = pytest.mark.usefixtures("seeded")

DAYS = 30
NOW = dt.datetime.now(dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=DAYS + 5)
LATELY = NOW - dt.timedelta(days=DAYS - 5)

#: Column names that suggest personal data; every column like this must be listed.
LOOKS_PERSONAL = re.compile(
    r"name|mail|phone|note|address|addr|(^|_)ip(_|$)|needs|token|key|label|payload|response"
    r"|error|before|after|csrf|password|person|visitor|message|comment"
)


async def test_every_column_that_may_hold_personal_data_is_listed_with_the_purge(pool):
    rows = await pool.fetch(
        """
        select c.table_name, c.column_name from information_schema.columns c
          join information_schema.tables t using (table_schema, table_name)
         where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
        """
    )
    columns = {(r["table_name"], r["column_name"]) for r in rows}
    looks_personal = {(t, c) for t, c in columns if LOOKS_PERSONAL.search(c)}
    listed = PERSONAL_DATA.keys() | NOT_PERSONAL.keys()
    assert looks_personal - listed == set(), "list them in booking/retention.py, and purge them"
    assert listed - columns == set(), "listed in booking/retention.py but not in the schema"
    assert not PERSONAL_DATA.keys() & NOT_PERSONAL.keys()


# ---------------------------------------------------------------------------------- visits


async def _visit(conn: asyncpg.Connection, start: dt.datetime) -> asyncpg.Record:
    visit = await insert_booking(conn, start=start, status="completed")
    await conn.execute(
        """
        update bookings set visitor_email_key = visitor_email, visitor_phone = '+48 600 000 000',
               notes = 'I bring my daughter', needs = '{pjm}', confirm_token_hash = '\\x01'
         where id = $1
        """,
        visit["id"],
    )
    outbox = await insert_outbox(conn, visit["id"], "confirmed", payload={"token": "secret"})
    await conn.execute(
        "update outbox set last_error = '550 no such user visitor@example.test' where id = $1",
        outbox,
    )
    return visit


async def test_visits_long_past_lose_personal_data_and_keep_their_anonymous_facts(pool):
    async with pool.acquire() as conn:
        old, recent = await _visit(conn, LONG_AGO), await _visit(conn, LATELY)

        assert await purge_personal_data(conn, DAYS) == 1
        assert await purge_personal_data(conn, DAYS) == 0

    rows = {r["id"]: r for r in await pool.fetch("select * from bookings")}
    gone = rows[old["id"]]
    for column in ("visitor_name", "visitor_email", "visitor_email_key", "visitor_phone"):
        assert gone[column] is None, column
    assert gone["notes"] is None and gone["needs"] == [] and gone["confirm_token_hash"] is None
    assert gone["purged_at"] is not None
    for column in ("point_id", "service_id", "desk_id", "starts_at", "language", "status"):
        assert gone[column] == old[column], column
    kept = rows[recent["id"]]
    assert kept["visitor_email"] == "visitor@example.test" and kept["needs"] == ["pjm"]
    assert kept["purged_at"] is None
    outbox = {r["booking_id"]: r for r in await pool.fetch("select * from outbox")}
    assert outbox[old["id"]]["payload"] == {} and outbox[old["id"]]["last_error"] is None
    assert outbox[old["id"]]["kind"] == "confirmed"
    assert outbox[recent["id"]]["payload"] == {"token": "secret"}
    assert outbox[recent["id"]]["last_error"] is not None


async def test_visits_anonymised_by_an_earlier_purge_lose_what_it_left(pool):
    async with pool.acquire() as conn:
        old = await _visit(conn, LONG_AGO)
        # As the previous release's purge left it: needs and the outbox's last error kept.
        await conn.execute(
            """
            update bookings set visitor_name = null, visitor_email = null,
                   visitor_email_key = null, visitor_phone = null, notes = null,
                   confirm_token_hash = null, purged_at = now() - interval '1 day'
             where id = $1
            """,
            old["id"],
        )
        await conn.execute("update outbox set payload = '{}' where booking_id = $1", old["id"])

        assert await purge_personal_data(conn, DAYS) == 0  # no visit newly anonymised

    assert await pool.fetchval("select needs from bookings where id = $1", old["id"]) == []
    assert await pool.fetchval("select last_error from outbox") is None


async def test_a_year_of_visits_is_anonymised_in_short_batches(pool):
    async with pool.acquire() as conn:
        for n in range(7):
            await _visit(conn, LONG_AGO - dt.timedelta(days=n))
        forgotten = await forget(conn, DAYS, batch=3)
    assert forgotten.visits == 7
    assert await pool.fetchval("select count(*) from bookings where visitor_name is not null") == 0


async def test_a_visit_a_live_transaction_holds_is_skipped_not_waited_for(pool):
    async with pool.acquire() as conn:
        held, free = await _visit(conn, LONG_AGO), await _visit(conn, LONG_AGO)
    async with pool.acquire() as other, other.transaction():
        await other.execute("select 1 from bookings where id = $1 for update", held["id"])
        async with pool.acquire() as conn:
            assert await asyncio.wait_for(purge_personal_data(conn, DAYS), 10) == 1
    names = dict(await pool.fetch("select id, visitor_name from bookings"))
    assert names == {held["id"]: "Test Visitor", free["id"]: None}
    async with pool.acquire() as conn:
        assert await purge_personal_data(conn, DAYS) == 1  # taken on the next run


# ----------------------------------------------------------------------------- draw entries


async def _draw_entry(conn: asyncpg.Connection, day: dt.date, email: str) -> asyncpg.Record:
    visit = await insert_booking(conn, status="completed")
    return await conn.fetchrow(
        """
        insert into draw_entries (point_id, day, service_id, language, requested_start,
                                  visitor_name, visitor_email, visitor_email_key, visitor_phone,
                                  notes, needs, token_hash, status, booking_id, decided_at)
        values ($1, $2, $3, 'uk', $4, 'Olena K.', $5, $5, '+48 600 000 000', 'with my son',
                '{pjm}', $6, 'won', $7, $4)
        returning *
        """,
        visit["point_id"],
        day,
        visit["service_id"],
        dt.datetime.combine(day, dt.time(8), dt.UTC),
        email,
        secrets.token_bytes(32),
        visit["id"],
    )


async def test_draw_entries_of_long_past_days_lose_personal_data_and_keep_the_draws_facts(pool):
    async with pool.acquire() as conn:
        old = await _draw_entry(conn, LONG_AGO.date(), "old@example.test")
        recent = await _draw_entry(conn, LATELY.date(), "recent@example.test")
        forgotten = await forget(conn, DAYS)
        assert forgotten.draw_entries == 1
        assert (await forget(conn, DAYS)).draw_entries == 0

    rows = {r["id"]: r for r in await pool.fetch("select * from draw_entries")}
    gone = rows[old["id"]]
    for column in ("visitor_name", "visitor_email", "visitor_email_key", "visitor_phone"):
        assert gone[column] is None, column
    assert gone["notes"] is None and gone["needs"] == [] and gone["purged_at"] is not None
    for column in ("point_id", "day", "service_id", "language", "status", "booking_id"):
        assert gone[column] == old[column], column
    kept = rows[recent["id"]]
    assert kept["visitor_email"] == "recent@example.test" and kept["needs"] == ["pjm"]
    assert kept["purged_at"] is None


# --------------------------------------------------------------------------------- waitlist


async def _waiting(conn: asyncpg.Connection, last_day: dt.date, email: str) -> asyncpg.Record:
    place = await conn.fetchrow("select point_id, service_id from point_services limit 1")
    return await conn.fetchrow(
        """
        insert into waitlist (point_id, service_id, language, first_day, last_day,
                              visitor_name, visitor_email, visitor_email_key, token_hash, status)
        values ($1, $2, 'ru', $3::date - 7, $3, 'Ivan P.', $4, $4, $5, 'expired')
        returning *
        """,
        place["point_id"],
        place["service_id"],
        last_day,
        email,
        secrets.token_bytes(32),
    )


async def test_waitlist_entries_long_past_lose_personal_data_and_keep_their_facts(pool):
    async with pool.acquire() as conn:
        old = await _waiting(conn, LONG_AGO.date(), "old@example.test")
        recent = await _waiting(conn, LATELY.date(), "recent@example.test")
        assert (await forget(conn, DAYS)).waitlist == 1
        assert (await forget(conn, DAYS)).waitlist == 0

    rows = {r["id"]: r for r in await pool.fetch("select * from waitlist")}
    gone = rows[old["id"]]
    for column in ("visitor_name", "visitor_email", "visitor_email_key"):
        assert gone[column] is None, column
    assert gone["purged_at"] is not None
    for column in ("point_id", "service_id", "language", "first_day", "last_day", "status"):
        assert gone[column] == old[column], column
    assert rows[recent["id"]]["visitor_email"] == "recent@example.test"
    assert rows[recent["id"]]["purged_at"] is None


# ------------------------------------------------------------------------- idempotency keys


async def test_idempotency_keys_are_deleted_after_24_hours(pool):
    async with pool.acquire() as conn:
        visit = await insert_booking(conn)
        for key, hours in ((b"old", 25), (b"recent", 23)):
            await conn.execute(
                """
                insert into idempotency_keys (key_hash, request_hash, status_code, response,
                                              booking_id, created_at)
                values ($1, '\\x00', 201, '\\x01', $2, now() - make_interval(hours => $3))
                """,
                key,
                visit["id"],
                hours,
            )
        assert (await forget(conn, DAYS)).idempotency_keys == 1

    keys = [bytes(r["key_hash"]) for r in await pool.fetch("select key_hash from idempotency_keys")]
    assert keys == [b"recent"]
    assert await pool.fetchval("select count(*) from bookings") == 1  # the visit stays


# --------------------------------------------------------------------------- login failures


async def test_login_failures_are_deleted_after_a_day(pool):
    async with pool.acquire() as conn:
        await conn.executemany(
            "insert into login_failures (scope, key, failed_at) values ($1, $2, $3)",
            [
                ("account", "old@example.test", NOW - dt.timedelta(days=2)),
                ("address", "203.0.113.7", NOW - dt.timedelta(hours=25)),
                ("account", "recent@example.test", NOW - dt.timedelta(minutes=5)),
                ("address", "203.0.113.8", NOW - dt.timedelta(hours=23)),
            ],
        )
        assert (await forget(conn, DAYS)).login_failures == 2

    left = {r["key"] for r in await pool.fetch("select key from login_failures")}
    assert left == {"recent@example.test", "203.0.113.8"}


def test_a_day_outlasts_every_window_the_login_brake_and_sessions_use():
    from staff import sessions

    day = dt.timedelta(days=1)
    assert day > sessions.WINDOW and day > sessions.LOCK_FOR
    assert day > sessions.IDLE and day > sessions.ABSOLUTE


# ---------------------------------------------------------------------------- staff sessions


async def test_staff_sessions_are_deleted_a_day_after_they_ended(pool):
    sessions = {
        # name: (created, last seen, expires, revoked), in hours from now
        "live": (-1, 0, 11, None),
        "expired lately": (-20, -10, -8, None),
        "expired long ago": (-40, -30, -28, None),
        "revoked lately": (-3, -3, 9, -2),
        "revoked long ago": (-30, -30, 11, -26),
        "idle for two days": (-49, -48, 11, None),
    }
    async with pool.acquire() as conn:
        staff_id = await conn.fetchval(
            "insert into staff_accounts (email, password_hash, role) "
            "values ('anna@pid.example.test', 'x', 'staff') returning id"
        )

        def at(hours: int | None) -> dt.datetime | None:
            return None if hours is None else NOW + dt.timedelta(hours=hours)

        for name, (created, seen, expires, revoked) in sessions.items():
            await conn.execute(
                """
                insert into staff_sessions (token_hash, staff_id, csrf_hash, created_at,
                                            last_seen_at, expires_at, revoked_at)
                values ($1, $2, '\\x00', $3, $4, $5, $6)
                """,
                name.encode(),
                staff_id,
                at(created),
                at(seen),
                at(expires),
                at(revoked),
            )
        assert (await forget(conn, DAYS)).staff_sessions == 3

    left = {
        bytes(r["token_hash"]).decode() for r in await pool.fetch("select * from staff_sessions")
    }
    assert left == {"live", "expired lately", "revoked lately"}
    assert await pool.fetchval("select count(*) from staff_accounts") == 1


# --------------------------------------------------------------------------------- the job


def test_the_batch_is_bounded():
    assert 0 < retention.BATCH <= 10_000
