"""Draw entries written in groups (booking/draw_batch.py): each entrant gets their own outcome.

The process gathers the entries of a moment and writes them in one transaction; these tests
send many at once, with the awkward ones among them (one person twice, one key twice, a key
reused with another body, a time the rules do not offer), and check what each request got and
what PostgreSQL keeps.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import zoneinfo

import httpx
import pytest

from tests.booking_helpers import (
    BASZTOWA,
    bearer,
    book,
    booking_body,
    close_the_draw_window,
    publish_a_day,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


@pytest.fixture
async def starts(pool):
    day = await publish_a_day(pool, BASZTOWA, days_ahead=10, opens="08:00", closes="18:00")
    return [
        (dt.datetime.combine(day, dt.time(8), WARSAW) + dt.timedelta(minutes=30 * i)).isoformat()
        for i in range(20)
    ]


@pytest.fixture
def server(settings):
    # Every request below arrives while the first group gathers (its 300 ms are no bound on
    # anything: the test passes whichever group each request falls in, except if none of them
    # shared one, which the entries' transaction times show).
    with LiveServer(settings, env={"DRAW_GATHER_MS": "300"}) as live:
        yield live


async def test_a_group_answers_each_entrant_with_their_own_outcome(server, pool, starts):
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
        await _each_their_own(client, pool, starts)


async def _each_their_own(client, pool, starts):
    # The process learns of the release from the point's configuration it reads (a visitor
    # looks at the day before booking it); until then a request goes the usual way.
    first = await book(client, starts[5], "early@example.org", language="pjm")
    assert first.status_code == 202
    plain = [
        book(client, starts[i % 5], f"person{i}@example.org", key=f"k{i}", language="pjm")
        for i in range(30)
    ]
    awkward = [
        # the same person under another key: one entry per person and day
        book(client, starts[1], "person0@example.org", key="again", language="pjm"),
        # the same key and body twice: one entry, the same answer twice
        book(client, starts[2], "twice@example.org", key="twice", language="pjm"),
        book(client, starts[2], "twice@example.org", key="twice", language="pjm"),
        # the same key with another body
        book(client, starts[3], "reused@example.org", key="reused", language="pjm"),
        book(client, starts[4], "reused@example.org", key="reused", language="pjm"),
        # a time off the slot grid
        book(client, starts[0][:14] + "07" + starts[0][16:], "grid@example.org", language="pjm"),
    ]
    answers = await asyncio.gather(*plain, *awkward)
    # written together: entries of one transaction share its start time
    together = await pool.fetchval(
        "select max(n) from (select count(*) n from draw_entries group by created_at) g"
    )
    assert together > 1
    plain_answers, awkward_answers = answers[:30], answers[30:]
    assert [a.status_code for a in plain_answers] == [202] * 30
    entries = [a.json() for a in plain_answers]
    assert len({e["entry_id"] for e in entries}) == 30
    assert len({e["token"] for e in entries}) == 30
    again, twice_1, twice_2, reused_1, reused_2, off_grid = awkward_answers
    assert again.status_code == 409 and again.json()["code"] == "already_in_draw"
    assert twice_1.status_code == twice_2.status_code == 202
    assert twice_1.json() == twice_2.json()
    assert sorted([reused_1.status_code, reused_2.status_code]) == [202, 422]
    refused = reused_1 if reused_1.status_code == 422 else reused_2
    assert refused.json()["code"] == "idempotency_key_reused"
    assert off_grid.status_code == 422 and off_grid.json()["code"] == "off_grid"

    people = await pool.fetch(
        "select visitor_email, count(*) from draw_entries group by visitor_email"
    )
    assert len(people) == 33 and all(row["count"] == 1 for row in people)
    # a key is kept only with the entry it made: the refused requests left none
    assert await pool.fetchval("select count(*) from idempotency_keys") == 33
    assert (
        await pool.fetchval("select count(*) from idempotency_keys where status_code = 202") == 33
    )
    # each token opens its own entry, and only that one
    mine = await client.get(
        f"/api/v1/draws/{entries[0]['entry_id']}", headers=bearer(entries[0]["token"])
    )
    assert mine.status_code == 200 and mine.json()["entry_id"] == entries[0]["entry_id"]
    theirs = await client.get(
        f"/api/v1/draws/{entries[0]['entry_id']}", headers=bearer(entries[1]["token"])
    )
    assert theirs.status_code == 404

    # The same key again later is answered from its record, not entered again.
    replay = await client.post(
        "/api/v1/bookings",
        json=booking_body(starts[0], "person0@example.org", language="pjm"),
        headers={"Idempotency-Key": "k0"},
    )
    assert replay.status_code == 202 and replay.json() == entries[0]

    # Everyone asks at once after the window: one draw, each their own answer.
    await close_the_draw_window(pool, BASZTOWA)
    entered = [
        first.json(),
        *entries,
        twice_1.json(),
        (reused_1 if reused_1.status_code == 202 else reused_2).json(),
    ]
    results = await asyncio.gather(
        *(client.get(f"/api/v1/draws/{e['entry_id']}", headers=bearer(e["token"])) for e in entered)
    )
    assert [r.status_code for r in results] == [200] * 33
    assert [r.json()["entry_id"] for r in results] == [e["entry_id"] for e in entered]
    outcome = collections.Counter(r.json()["status"] for r in results)
    assert outcome == {"won": 20, "lost": 13}  # 20 sign-language visits that day
    won = [r.json()["reference"] for r in results if r.json()["status"] == "won"]
    assert len(set(won)) == 20 and all(won)
    held = await pool.fetchval(
        "select count(distinct visitor_email) from bookings where status = 'held'"
    )
    assert held == 20
