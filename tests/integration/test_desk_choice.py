"""Which desk a visit goes to (issue 15 #11): the desk with the fewest extra skills first, so the
sign-language desk and the ground-floor room stay free for those who need them; a visit that
asks for step-free access goes to a step-free desk, never to a first-floor room; staff read
the need in words."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from urllib.parse import urlencode

import pytest

from tests.booking_helpers import book, free_slots
from tests.staff_helpers import PASSWORD, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")

BASZTOWA = "krakow-basztowa-22"
RONDO = "krakow-przy-rondzie-6"
CASE_STATUS = "case-status"
STEP_FREE = ["step-free-access"]


def _first_with(slots: list[dict], free: int) -> dict:
    return next(s for s in slots if s["free"] == free)


async def test_spoken_language_visits_leave_the_sign_language_desk_for_last(client):
    slot = _first_with(await free_slots(client, language="uk"), 3)
    desks = []
    for n in range(3):
        response = await book(client, slot["start"], f"person{n}@example.org")
        assert response.status_code == 201, response.text
        desks.append(response.json()["desk_id"])
    assert desks == [f"{BASZTOWA}-desk-1", f"{BASZTOWA}-desk-2", f"{BASZTOWA}-desk-3"]


async def test_a_sign_language_visit_still_gets_the_sign_language_desk(client):
    slot = _first_with(await free_slots(client, language="pjm"), 1)
    response = await book(client, slot["start"], "pjm@example.org", language="pjm")
    assert response.status_code == 201, response.text
    assert response.json()["desk_id"] == f"{BASZTOWA}-desk-3"


AT_RONDO = {"point": RONDO, "service": CASE_STATUS, "language": "pl"}


async def test_step_free_access_goes_to_a_ground_floor_room_and_others_go_upstairs_first(client):
    slots = await free_slots(client, point=RONDO, service=CASE_STATUS, language="pl")
    slot = _first_with(slots, 4)
    plain = await book(client, slot["start"], "a@example.org", **AT_RONDO)
    assert plain.status_code == 201, plain.text
    assert plain.json()["desk_id"] == f"{RONDO}-room-105"  # keeps the ground floor free
    needs = await book(client, slot["start"], "b@example.org", **AT_RONDO, needs=STEP_FREE)
    assert needs.status_code == 201, needs.text
    assert needs.json()["desk_id"] == f"{RONDO}-room-1"
    assert needs.json()["needs"] == STEP_FREE


async def test_step_free_access_is_refused_when_only_first_floor_rooms_are_free(client, pool):
    slots = await free_slots(client, point=RONDO, service=CASE_STATUS, language="pl")
    slot = _first_with(slots, 4)
    for n in range(2):  # both ground-floor rooms taken by visitors who need them
        taken = await book(client, slot["start"], f"g{n}@example.org", **AT_RONDO, needs=STEP_FREE)
        assert taken.json()["desk_id"] in {f"{RONDO}-room-1", f"{RONDO}-room-2"}
    before = await pool.fetchval("select count(*) from bookings")
    refused = await book(client, slot["start"], "c@example.org", **AT_RONDO, needs=STEP_FREE)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "step_free_unavailable"
    assert await pool.fetchval("select count(*) from bookings") == before
    # Without the need, the same time still has two rooms upstairs.
    plain = await book(client, slot["start"], "c@example.org", **AT_RONDO)
    assert plain.status_code == 201, plain.text
    assert plain.json()["desk_id"] == f"{RONDO}-room-105"


async def test_a_desk_not_known_to_be_step_free_is_taken_when_nothing_better_is_free(client):
    # Basztowa's desks say nothing about stairs: a visit that needs step-free access books.
    slot = _first_with(await free_slots(client, language="uk"), 3)
    response = await book(client, slot["start"], "d@example.org", needs=STEP_FREE)
    assert response.status_code == 201, response.text
    assert response.json()["desk_id"] == f"{BASZTOWA}-desk-1"


async def test_the_booking_page_says_why_next_to_the_need(client, pool):
    slots = await free_slots(client, point=RONDO, service=CASE_STATUS, language="pl")
    slot = _first_with(slots, 4)
    for n in range(2):
        await book(client, slot["start"], f"g{n}@example.org", **AT_RONDO, needs=STEP_FREE)
    query = urlencode(
        {
            "service": CASE_STATUS,
            "language": "pl",
            "day": slot["start"][:10],
            "start": slot["start"],
        }
    )
    page = await client.get(f"/points/{RONDO}/book?{query}&lang=en")
    key = re.search(r'name="key" value="([^"]+)"', page.text)[1]
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "service": CASE_STATUS,
        "language": "pl",
        "start": slot["start"],
        "key": key,
        "name": "Jan Kowalski",
        "email": "jan@example.org",
        "needs": "step-free-access",
    }
    answer = await client.post(f"/points/{RONDO}/book?lang=en", data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert 'id="needs-error"' in answer.text
    assert "cannot be reached without stairs" in answer.text
    assert 'value="Jan Kowalski"' in answer.text  # the form is kept


async def test_a_move_keeps_a_step_free_visit_on_the_ground_floor(client, pool):
    from tests.booking_helpers import bearer

    slots = await free_slots(client, point=RONDO, service=CASE_STATUS, language="pl")
    first, second = [s for s in slots if s["free"] == 4][:2]
    visit = (
        await book(client, first["start"], "e@example.org", **AT_RONDO, needs=STEP_FREE)
    ).json()
    moved = await client.post(
        f"/api/v1/bookings/{visit['reference']}/reschedule",
        json={"start": second["start"]},
        headers=bearer(visit["manage_token"]),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["desk_id"] == f"{RONDO}-room-1"
    plain = (await book(client, first["start"], "f@example.org", **AT_RONDO)).json()
    moved = await client.post(
        f"/api/v1/bookings/{plain['reference']}/reschedule",
        json={"start": second["start"]},
        headers=bearer(plain["manage_token"]),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["desk_id"] == f"{RONDO}-room-105"


async def test_the_day_sheet_names_the_need_in_the_staffs_language(client, pool):
    accounts = await make_accounts(pool)
    slots = await free_slots(client, point=RONDO, service=CASE_STATUS, language="pl")
    slot = _first_with(slots, 4)
    await book(client, slot["start"], "g@example.org", **AT_RONDO, needs=STEP_FREE)
    await client.get("/staff/login")
    login = await client.post(
        "/staff/login",
        data={
            "csrf_token": client.cookies.get(CSRF_COOKIE),
            "email": accounts.rondo,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    day = dt.datetime.fromisoformat(slot["start"]).astimezone(zoneinfo.ZoneInfo("Europe/Warsaw"))
    sheet = await client.get(f"/staff/points/{RONDO}?date={day.date().isoformat()}&lang=uk")
    assert sheet.status_code == 200
    assert "step-free-access" not in sheet.text
    assert "доступ без сходів" in sheet.text
    rules = await client.get(f"/staff/points/{RONDO}/rules?lang=en")
    assert rules.status_code == 200
    row = re.search(r"Room 105 \(1st floor\)</th>.*?</tr>", rules.text, re.S)[0]
    assert "no: stairs" in row
    row = re.search(r"Service room 1 \(ground floor\)</th>.*?</tr>", rules.text, re.S)[0]
    assert "<td>yes</td>" in row


async def test_concurrent_bookers_never_put_a_step_free_visit_upstairs_nor_two_on_a_desk(
    live_server, pool
):
    """Twelve bookers of one four-room slot at once, half of them asking for step-free access:
    PostgreSQL decides each desk in the statement that holds the visit."""
    import asyncio
    import collections
    import uuid

    import httpx

    from tests.booking_helpers import booking_body

    async with httpx.AsyncClient(base_url=live_server.url, timeout=120) as http:
        slots = await free_slots(http, point=RONDO, service=CASE_STATUS, language="pl")
        start = _first_with(slots, 4)["start"]

        async def one(n: int) -> httpx.Response:
            extra = {"needs": STEP_FREE} if n % 2 else {}
            body = booking_body(start, f"racer{n}@example.org", **AT_RONDO, **extra)
            return await http.post(
                "/api/v1/bookings", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
            )

        answers = await asyncio.gather(*(one(n) for n in range(12)))
    codes = collections.Counter(a.status_code for a in answers)
    assert set(codes) <= {201, 409}, codes
    assert codes[201] == 4, codes  # every room is taken: upstairs by visitors who can climb
    rows = await pool.fetch("select desk_id, needs from bookings")
    assert len({r["desk_id"] for r in rows}) == len(rows) == 4
    for row in rows:
        if "step-free-access" in row["needs"]:
            assert row["desk_id"] in {f"{RONDO}-room-1", f"{RONDO}-room-2"}, row


async def test_staff_say_whether_a_desk_is_step_free_through_the_desk_api(client, pool):
    from tests.staff_helpers import auth, login

    accounts = await make_accounts(pool)
    token = await login(client, accounts.rondo)
    desks = f"/api/v1/staff/points/{RONDO}/desks"
    listed = {
        d["id"]: d["step_free"] for d in (await client.get(desks, headers=auth(token))).json()
    }
    assert listed[f"{RONDO}-room-1"] is True and listed[f"{RONDO}-room-105"] is False
    created = await client.post(
        desks,
        json={
            "names": {"pl": "Pokój 3", "en": "Room 3", "uk": "Кімната 3", "ru": "Комната 3"},
            "languages": ["pl"],
            "step_free": True,
        },
        headers=auth(token),
    )
    assert created.status_code == 201, created.text
    new = created.json()["result"]["id"]
    assert created.json()["result"]["step_free"] is True
    changed = await client.patch(f"{desks}/{new}", json={"step_free": None}, headers=auth(token))
    assert changed.status_code == 200, changed.text
    assert await pool.fetchval("select step_free from desks where id = $1", new) is None
    await client.patch(f"{desks}/{new}", json={"step_free": False}, headers=auth(token))
    assert await pool.fetchval("select step_free from desks where id = $1", new) is False
