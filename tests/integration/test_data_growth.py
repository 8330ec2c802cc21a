"""What keeps working as the years of visits grow (migration 0050, booking/retention.py): the
purge in short batches, outbox rows cleaned with their visits, references that never wait on
an old visit, and one transaction writing tens of thousands of visits."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from booking.retention import forget
from tests.factories import insert_booking, insert_outbox

pytestmark = pytest.mark.usefixtures("seeded")

DAYS = 30
LONG_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS + 5)
LATELY = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS - 5)

#: Visits of `$1` different people, confirmed, spread over the seeded desks 15 minutes apart
#: from 2040 on (nothing else is there), one statement in the caller's transaction.
MANY_VISITS = """
insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at, language,
                      visitor_name, visitor_email, visitor_email_key, status,
                      manage_token_hash, confirmed_at)
select 'GEN-' || lpad(upper(to_hex(n / 100)), 4, '0') || '-' || lpad((n % 100)::text, 2, '0'),
       d.point_id, d.service_id, d.desk_id,
       timestamptz '2040-01-02 08:00+00' + (n / d.desks) * interval '15 minutes',
       timestamptz '2040-01-02 08:15+00' + (n / d.desks) * interval '15 minutes',
       'pl', 'Visitor ' || n, 'v' || n || '@example.test', 'v' || n || '@example.test',
       'confirmed', '\\x00', now()
  from generate_series(0, $1 - 1) n
  join (select row_number() over (order by d.point_id, d.id) - 1 as k, count(*) over () as desks,
               d.point_id, d.id as desk_id,
               (select min(service_id) from point_services ps where ps.point_id = d.point_id)
                 as service_id
          from desks d) d on d.k = n % d.desks
"""


async def _past_visit(conn: asyncpg.Connection, ended: dt.datetime) -> asyncpg.Record:
    return await insert_booking(conn, start=ended - dt.timedelta(minutes=30), status="completed")


# ----------------------------------------------------------------------------------- purge


async def test_the_purge_commits_each_batch_on_its_own(pool):
    async with pool.acquire() as conn:
        for n in range(7):
            await _past_visit(conn, LONG_AGO - dt.timedelta(days=n))
        assert (await forget(conn, DAYS, batch=3)).visits == 7
    # A row's xmin is the transaction that last wrote it: one per batch. (purged_at, the
    # transaction's now(), was counted here before, and once two batches shared one value.)
    batches = await pool.fetchval("select count(distinct xmin::text) from bookings")
    assert batches == 3


async def test_the_purge_finds_its_rows_through_an_index(pool):
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("set local enable_seqscan = off")
        for sql, args in (
            (
                "select id from bookings where purged_at is null and ends_at < now() - "
                "make_interval(days => $1) order by ends_at limit $2",
                (DAYS, 1000),
            ),
            (
                "select id from bookings where purged_at is not null and needs <> '{}' limit $1",
                (1000,),
            ),
        ):
            plan = "\n".join(r[0] for r in await conn.fetch(f"explain {sql}", *args))
            assert "Seq Scan" not in plan, plan
            assert "bookings_to_purge" in plan or "bookings_purged_with_needs" in plan, plan


async def test_sent_and_failed_messages_of_a_forgotten_visit_are_deleted(pool):
    async with pool.acquire() as conn:
        old, recent = await _past_visit(conn, LONG_AGO), await _past_visit(conn, LATELY)
        ids = {}
        for visit, name in ((old, "old"), (recent, "recent")):
            for state in ("sent", "failed", "pending"):
                ids[name, state] = await insert_outbox(
                    conn, visit["id"], "confirmed", payload={"token": "secret"}
                )
                if state != "pending":
                    await conn.execute(
                        f"update outbox set {state}_at = now() - interval '40 days' where id = $1",
                        ids[name, state],
                    )
        forgotten = await forget(conn, DAYS)
    assert forgotten.visits == 1 and forgotten.outbox == 2
    left = {r["id"]: r["payload"] for r in await pool.fetch("select id, payload from outbox")}
    assert set(left) == {
        ids["old", "pending"],
        *(ids["recent", s] for s in ("sent", "failed", "pending")),
    }
    assert left[ids["old", "pending"]] == {}
    assert left[ids["recent", "sent"]] == {"token": "secret"}


async def test_messages_an_earlier_purge_kept_are_deleted_in_batches(pool):
    async with pool.acquire() as conn:
        for _ in range(5):
            visit = await _past_visit(conn, LONG_AGO)
            sent = await insert_outbox(conn, visit["id"], "confirmed")
            await conn.execute("update outbox set sent_at = now() where id = $1", sent)
            await conn.execute("update bookings set purged_at = now() where id = $1", visit["id"])
        assert (await forget(conn, DAYS, batch=2)).outbox == 5
    assert await pool.fetchval("select count(*) from outbox") == 0
    assert await pool.fetchval("select count(*) from bookings") == 5  # the visits stay


# ------------------------------------------------------------------------------ references


async def test_a_new_reference_meeting_a_visit_being_purged_is_refused_without_waiting(pool):
    """The store inserts with `on conflict do nothing` and draws again when no row comes back;
    before migration 0050 the insert waited for the purge's batch to commit first."""
    async with pool.acquire() as conn:
        old = await _past_visit(conn, LONG_AGO)
    async with pool.acquire() as purge, purge.transaction():
        await purge.execute("update bookings set visitor_name = null where id = $1", old["id"])
        async with pool.acquire() as conn:
            inserted = await asyncio.wait_for(
                conn.fetchval(
                    """
                    insert into bookings (reference, point_id, service_id, desk_id, starts_at,
                                          ends_at, language, status, manage_token_hash)
                    values ($1, $2, $3, $4, $5, $6, 'pl', 'confirmed', '\\x00')
                    on conflict do nothing
                    returning id
                    """,
                    old["reference"],
                    old["point_id"],
                    old["service_id"],
                    old["desk_id"],
                    LATELY + dt.timedelta(days=400),
                    LATELY + dt.timedelta(days=400, minutes=30),
                ),
                timeout=5,
            )
    assert inserted is None
    assert await pool.fetchval("select count(*) from bookings") == 1


# ----------------------------------------------------------------------- per-person limit


async def test_a_transaction_writing_visits_of_thousands_of_people_holds_few_locks(pool):
    """Each person's lock is an entry in PostgreSQL's shared lock table until the commit:
    50,000 visits of different people in one transaction failed with "out of shared memory"
    (max_locks_per_transaction x max_connections entries in all). Now the transaction holds
    at most 502 of them, however many people it writes. (The bench writes 50,000 in one.)"""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(MANY_VISITS, 2_000)
            locks = await conn.fetchval(
                "select count(*) from pg_locks "
                "where locktype = 'advisory' and pid = pg_backend_pid()"
            )
        assert locks <= 502  # 500 people, and one lock on all of them, shared and exclusive
        assert await conn.fetchval("select count(*) from bookings") == 2_000


async def test_the_limit_holds_for_a_person_past_the_transactions_first_500(pool):
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError) as refused:
            async with conn.transaction():
                await conn.execute(MANY_VISITS, 600)
                await conn.execute(
                    """
                    insert into bookings (reference, point_id, service_id, desk_id, starts_at,
                                          ends_at, language, visitor_email_key, status,
                                          manage_token_hash, confirmed_at)
                    select 'GEN-ZZZZ-0' || n, point_id, service_id, desk_id,
                           starts_at + n * interval '1 year', ends_at + n * interval '1 year',
                           'pl', visitor_email_key, 'confirmed', '\\x00', now()
                      from bookings, generate_series(1, 9) n
                     where reference = 'GEN-0005-50'
                    """
                )
        assert refused.value.sqlstate == "WZ001"
        assert await conn.fetchval("select count(*) from bookings") == 0


async def test_a_booking_waits_for_a_bulk_transaction_past_its_first_500(pool):
    """Past 500 people a transaction takes one exclusive lock instead of one per person; a
    booking in the meantime waits for it (it cannot tell which people the bulk has), then
    goes on."""
    async with pool.acquire() as bulk, pool.acquire() as booker:
        async with bulk.transaction():
            await bulk.execute(MANY_VISITS, 600)
            booking = asyncio.create_task(
                booker.execute(
                    """
                    insert into bookings (reference, point_id, service_id, desk_id, starts_at,
                                          ends_at, language, visitor_email_key, status,
                                          manage_token_hash, confirmed_at)
                    select 'GEN-ZZZZ-01', d.point_id,
                           (select min(service_id) from point_services ps
                             where ps.point_id = d.point_id),
                           d.id, '2050-01-03 10:00+00', '2050-01-03 10:15+00',
                           'pl', 'someone@example.test', 'confirmed', '\\x00', now()
                      from desks d order by d.point_id, d.id limit 1
                    """
                )
            )
            for _ in range(100):
                waiting = await bulk.fetchval(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                )
                if waiting or booking.done():
                    break
                await asyncio.sleep(0.05)
            assert waiting == 1 and not booking.done()
        await asyncio.wait_for(booking, 5)
    assert await pool.fetchval("select count(*) from bookings") == 601
