"""Clerks at many desks pressing "call next" at the same instant never call one visitor twice:
PostgreSQL decides (booking/queue.py: for update skip locked; one desk's presses take turns).
Against the real server in a process of its own, over real connections; the waiting room's
event stream (another connection, woken by NOTIFY) sees the calls."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest

from scheduling import admin
from tests.staff_helpers import PASSWORD, make_accounts

pytestmark = [pytest.mark.usefixtures("seeded"), pytest.mark.slow]
BASZTOWA = "krakow-basztowa-22"
VISITORS = 200
EXTRA_DESKS = 10


async def _board(lines) -> dict:
    """The next `board` event of a server-sent event stream."""
    event, data = None, []
    async for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif line == "" and event == "board":
            return json.loads("\n".join(data))
        elif line == "":
            event, data = None, []
    raise AssertionError("the stream ended")


async def test_200_presses_of_call_next_call_each_visitor_exactly_once(pool, live_server):
    await make_accounts(pool)
    async with pool.acquire() as conn:
        desks = [f"{BASZTOWA}-desk-{n}" for n in (1, 2, 3)]
        for n in range(EXTRA_DESKS):
            desk = f"{BASZTOWA}-race-{n}"
            await admin.add_desk(conn, BASZTOWA, desk, {"pl": f"Okienko {n}"}, ["uk"], True)
            desks.append(desk)
        await conn.execute(
            """
            insert into queue_tickets (point_id, day, kind, seq, number, service_id, language,
                                       arrived_at)
            select $1, (now() at time zone 'Europe/Warsaw')::date, 'walk_in', n,
                   'W' || lpad(n::text, 3, '0'), 'everyday-matters', 'uk',
                   now() - make_interval(secs => 1000 - n)
              from generate_series(1, $2) n
            """,
            BASZTOWA,
            VISITORS,
        )
    limits = httpx.Limits(max_connections=VISITORS + 10)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as client:
        session = await client.post(
            "/api/v1/staff/sessions", json={"email": "basztowa@wizyta.test", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {session.json()['token']}"}
        async with client.stream("GET", f"/points/{BASZTOWA}/display/events?lang=pl") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            first = await _board(lines)
            assert first["now_serving"] == [] and first["waiting"] == VISITORS

            async def press(n: int) -> httpx.Response:
                """One clerk's press; pressed again after a 503 (the server was too busy to
                take it, and wrote nothing), as its Retry-After says."""
                desk = desks[n % len(desks)]
                url = f"/api/v1/staff/points/{BASZTOWA}/desks/{desk}/call-next"
                for _ in range(10):
                    answer = await client.post(url, headers=headers)
                    if answer.status_code != 503:
                        return answer
                    await asyncio.sleep(float(answer.headers["retry-after"]))
                return answer

            answers = await asyncio.gather(*(press(n) for n in range(VISITORS)))
            assert Counter(a.status_code for a in answers) == {200: VISITORS}, [
                a.text for a in answers if a.status_code != 200
            ][:3]
            called = [a.json()["number"] for a in answers]
            assert len(set(called)) == VISITORS  # nobody called twice

            # the screen hears of it, over its own connection (NOTIFY from another one)
            board = first
            while board["waiting"] != 0 or len(board["now_serving"]) != len(desks):
                board = await asyncio.wait_for(_board(lines), 30)
            assert {c["number"] for c in board["now_serving"]} <= set(called)
            assert "Test Visitor" not in json.dumps(board)
    assert await pool.fetchval("select count(*) from queue_calls") == VISITORS
    assert await pool.fetchval("select max(calls) from queue_tickets") == 1
    statuses = Counter(r["status"] for r in await pool.fetch("select status from queue_tickets"))
    # each desk's last visitor is at the desk, every earlier one is done
    assert statuses == {"called": len(desks), "done": VISITORS - len(desks)}
