"""A visitor's booking written in one statement (SQL's book_visit, migrations/0060), on real
PostgreSQL: the Idempotency-Key decides before the slot does, and a twin request that commits
first undoes the other's visit."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import msgspec
import pytest

from booking import idempotency, store
from booking.domain.visit import Visitor, hold_visit
from scheduling import config as point_config
from tests.booking_helpers import BASZTOWA, EVERYDAY, bearer, book, free_slots

pytestmark = pytest.mark.usefixtures("seeded")


async def test_a_retry_after_the_visit_was_cancelled_gets_the_first_answer_not_a_new_visit(
    client, pool
):
    slots = await free_slots(client)
    key = str(uuid.uuid4())
    first = await book(client, slots[0]["start"], "olena@example.org", key=key)
    assert first.status_code == 201, first.text
    visit = first.json()
    cancelled = await client.post(
        f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
    )
    assert cancelled.status_code == 200
    # The slot is free again, so nothing refuses the retry: only the key can answer it.
    again = await book(client, slots[0]["start"], "olena@example.org", key=key)
    assert again.status_code == 201 and again.content == first.content
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_a_refused_booking_leaves_its_key_free_for_the_next_try(client, pool):
    slots = await free_slots(client)
    taken = await book(client, slots[0]["start"], "jan@example.org")
    assert taken.status_code == 201
    key = str(uuid.uuid4())
    # The same visitor's second visit at the point: refused, and nothing of it kept.
    refused = await book(client, slots[1]["start"], "jan@example.org", key=key)
    assert refused.status_code == 409 and refused.json()["code"] == "per_person_limit"
    assert await pool.fetchval("select count(*) from idempotency_keys") == 1  # the first's
    assert await pool.fetchval("select count(*) from bookings") == 1


class _Body(msgspec.Struct):
    email: str


async def test_a_twin_request_that_commits_first_undoes_the_others_visit(pool):
    # Two desks free and a limit of two visits per person: nothing but the key stops the twin
    # from holding the second desk.
    await pool.execute(
        "update point_services set per_person_limit = 2 where point_id = $1 and service_id = $2",
        BASZTOWA,
        EVERYDAY,
    )
    async with pool.acquire() as conn:
        config, now = await point_config.current(conn, BASZTOWA)
    desks = tuple(d.id for d in config.desks if "uk" in d.languages)[:2]
    assert len(desks) == 2
    start = (now + dt.timedelta(days=400)).replace(minute=0, second=0, microsecond=0)
    held, _ = hold_visit(
        point_id=BASZTOWA,
        service_id=EVERYDAY,
        start=start,
        end=start + dt.timedelta(minutes=30),
        language="uk",
        visitor=Visitor("Olena", "olena@example.org", None),
        now=now,
        hold=dt.timedelta(minutes=15),
    )
    ticket = idempotency.Ticket.of("twin", _Body("olena@example.org"))

    def answers(reference: str) -> list[bytes]:
        return ticket.seal_each(_Body(f"{reference}@{desk}") for desk in desks)

    async def booking(conn):
        return await store.book(
            conn,
            held,
            desks,
            config.point,
            ticket.key_hash,
            ticket.request_hash,
            answers,
            {},
        )

    async with pool.acquire() as first, pool.acquire() as twin:
        transaction = first.transaction()
        await transaction.start()
        booked = await booking(first)
        assert booked is not None and booked.placed is not None
        racing = asyncio.create_task(booking(twin))
        await asyncio.sleep(0.3)  # the twin reaches the day's turn and waits there
        await transaction.commit()
        with pytest.raises(store.KeyRaced):
            await racing
        # Its retry, as booking/visits.py does, reads the first answer.
        kept = await booking(twin)
        assert kept is not None and kept.first is not None
        _, status, sealed = kept.first
        answer = msgspec.json.decode(idempotency.unseal("twin", sealed), type=_Body)
        # the answer kept is the one sealed for the desk the visit got
        assert (status, answer.email) == (201, f"{booked.placed.reference}@{booked.placed.desk_id}")
    assert await pool.fetchval("select count(*) from bookings") == 1
    assert await pool.fetchval("select count(*) from outbox") == 1
