"""The week view per desk: its free places online equal `/availability`'s, slot by slot, and
each desk shows whether it is free (a booked desk is no longer free at that time)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.booking_helpers import book, free_slots
from tests.staff_helpers import PASSWORD, auth, login, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
WEEK = f"/api/v1/staff/points/{BASZTOWA}/week"


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


async def test_the_weeks_free_capacity_equals_availability(client, accounts, pool):
    slots = await free_slots(client)
    booked = await book(client, slots[0]["start"], "olena@example.org")
    assert booked.status_code == 201, booked.text
    day = dt.date.fromisoformat(slots[0]["start"][:10])
    token = await login(client, accounts.basztowa)
    params = {"service": "everyday-matters", "language": "uk", "date": day.isoformat()}
    week = await client.get(WEEK, params=params, headers=auth(token))
    assert week.status_code == 200, week.text
    body = week.json()
    monday = day - dt.timedelta(days=day.weekday())
    assert (
        body["first"] >= monday.isoformat()
        and body["last"] == (monday + dt.timedelta(days=6)).isoformat()
    )
    availability = await client.get(
        f"/api/v1/points/{BASZTOWA}/availability",
        params={
            "service": "everyday-matters",
            "language": "uk",
            "from": body["first"],
            "to": body["last"],
        },
    )
    public = {s["start"]: s["free"] for d in availability.json()["days"] for s in d["slots"]}
    ours = {s["start"]: s["free"] for d in body["days"] for s in d["slots"]}
    assert public, "the week has free slots"
    assert {k: v for k, v in ours.items() if v} == public
    desks = {d["id"] for d in body["desks"]}
    for d in body["days"]:
        for s in d["slots"]:
            assert set(s["free_desks"]) <= desks
            assert s["free"] <= len(s["free_desks"])
    taken = await pool.fetchval(
        "select desk_id from bookings where reference = $1", booked.json()["reference"]
    )
    first = next(s for d in body["days"] for s in d["slots"] if s["start"] == slots[0]["start"])
    assert taken not in first["free_desks"]

    other = await login(client, accounts.rondo)
    refused = await client.get(WEEK, params=params, headers=auth(other))
    assert refused.status_code == 403
    wrong = await client.get(WEEK, params=params | {"language": "xx"}, headers=auth(token))
    assert wrong.status_code == 422


async def test_the_week_page_shows_each_desk_and_the_free_places(client, accounts):
    slots = await free_slots(client)
    await client.get("/staff/login")
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "email": accounts.basztowa,
        "password": PASSWORD,
    }
    await client.post("/staff/login", data=form)
    page = await client.get(
        f"/staff/points/{BASZTOWA}/week",
        params={"service": "everyday-matters", "language": "uk", "date": slots[0]["start"][:10]},
    )
    assert page.status_code == 200, page.text
    assert 'id="week"' in page.text and slots[0]["start"][11:16] in page.text
