"""The point's day from the door to the desk: the kiosk (by reference and by QR payload, walk-in
tickets and their cap), the queue's order, the clerk's moves, and their refusals."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from booking.domain.queue import qr_payload
from tests.factories import insert_booking
from tests.staff_helpers import auth, login, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
RONDO = "krakow-przy-rondzie-6"
API = f"/api/v1/staff/points/{BASZTOWA}"
DESK1, DESK2, DESK3 = (f"{BASZTOWA}-desk-{n}" for n in (1, 2, 3))
KIOSK = f"/points/{BASZTOWA}/kiosk"


@pytest.fixture
async def token(client, seeded):
    accounts = await make_accounts(seeded)
    return await login(client, accounts.basztowa)


async def kiosk_token(client, token, point=BASZTOWA) -> str:
    response = await client.post(
        f"/api/v1/staff/points/{point}/kiosks", json={"label": "entrance"}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def set_up_kiosk(client, token) -> None:
    """Open the kiosk once with its token, as staff would on the tablet."""
    secret = await kiosk_token(client, token)
    response = await client.get(KIOSK, params={"kiosk_token": secret}, follow_redirects=False)
    assert response.status_code == 303
    assert (await client.get(KIOSK)).status_code == 200


async def kiosk_post(client, action: str, **form):
    form["csrf_token"] = client.cookies.get(CSRF_COOKIE)
    return await client.post(f"{KIOSK}/{action}", data=form)


def ticket_on(page: str) -> str:
    found = re.search(r'id="ticket-number">([AW][0-9]{3})<', page)
    assert found, page
    return found.group(1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


async def visit_today(pool, *, minutes_from_now=0, language="en", status="confirmed"):
    async with pool.acquire() as conn:
        return await insert_booking(
            conn,
            point_id=BASZTOWA,
            start=now() + dt.timedelta(minutes=minutes_from_now),
            language=language,
            status=status,
        )


async def tickets(pool) -> list[dict]:
    rows = await pool.fetch("select * from queue_tickets order by id")
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------------- the kiosk


async def test_a_kiosk_needs_a_token_of_its_own_point(client, token, pool):
    assert (await client.get(KIOSK)).status_code == 401
    other = await kiosk_token(client, await login(client, "rondo@wizyta.test"), RONDO)
    response = await client.get(KIOSK, params={"kiosk_token": other})
    assert response.status_code == 403
    assert "another point" in response.text
    visit = await visit_today(pool)
    # nothing can be posted from a kiosk that is not set up
    await client.get(KIOSK)
    response = await kiosk_post(client, "check-in", reference=visit["reference"])
    assert response.status_code == 401
    assert await tickets(pool) == []
    assert await pool.fetchval("select status from bookings") == "confirmed"


async def test_the_kiosk_checks_a_visit_in_by_reference_and_by_qr_payload(client, token, pool):
    await set_up_kiosk(client, token)
    typed = await visit_today(pool, minutes_from_now=-60)
    scanned = await visit_today(pool, minutes_from_now=-30)
    response = await kiosk_post(client, "check-in", reference=typed["reference"].lower())
    assert response.status_code == 200, response.text
    assert ticket_on(response.text) == "A001"
    assert "Test Visitor" not in response.text  # no names on a public screen
    response = await kiosk_post(client, "check-in", reference=qr_payload(scanned["reference"]))
    assert ticket_on(response.text) == "A002"
    # pressed again: the same ticket, not a second one
    response = await kiosk_post(client, "check-in", reference=typed["reference"])
    assert ticket_on(response.text) == "A001"
    statuses = await pool.fetch("select status from bookings")
    assert {r["status"] for r in statuses} == {"checked_in"}
    assert [t["number"] for t in await tickets(pool)] == ["A001", "A002"]


async def test_a_reference_of_another_day_or_point_is_refused_and_nothing_written(
    client, token, pool
):
    await set_up_kiosk(client, token)
    async with pool.acquire() as conn:
        tomorrow = await insert_booking(
            conn, point_id=BASZTOWA, start=now() + dt.timedelta(days=1, hours=1)
        )
        elsewhere = await insert_booking(conn, point_id=RONDO, start=now())
    response = await kiosk_post(client, "check-in", reference=tomorrow["reference"])
    assert response.status_code == 409
    assert "not for today" in response.text
    response = await kiosk_post(client, "check-in", reference=elsewhere["reference"])
    assert response.status_code == 409
    assert "another information point" in response.text
    response = await kiosk_post(client, "check-in", reference="not a reference")
    assert response.status_code == 422
    response = await kiosk_post(client, "check-in", reference="KRK-0000-00")
    assert response.status_code == 404
    assert await tickets(pool) == []
    assert {r["status"] for r in await pool.fetch("select status from bookings")} == {"confirmed"}


async def test_walk_ins_get_tickets_up_to_the_daily_cap(client, token, pool):
    await set_up_kiosk(client, token)
    walk_in = {"service": "everyday-matters", "language": "uk"}
    response = await kiosk_post(client, "walk-in", **walk_in)
    assert response.status_code == 409
    assert "appointment only" in response.text
    response = await client.put(
        f"{API}/queue/settings", json={"walk_ins": True, "walk_in_cap": 2}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    page = await client.get(KIOSK)
    assert "Take a ticket" in page.text
    public = await client.get(f"/points/{BASZTOWA}")
    assert 'id="walk-in-wait"' in public.text and "No waiting now" in public.text
    numbers = [ticket_on((await kiosk_post(client, "walk-in", **walk_in)).text) for _ in "ab"]
    assert numbers == ["W001", "W002"]
    response = await kiosk_post(client, "walk-in", **walk_in)
    assert response.status_code == 409
    assert "All 2 tickets" in response.text
    response = await kiosk_post(client, "walk-in", service="no-such-service", language="uk")
    assert response.status_code == 422
    assert len(await tickets(pool)) == 2


# ---------------------------------------------------------------------------- the queue


async def arrive(pool, visit, minutes_from_now: int) -> None:
    """Check the visit in (at the kiosk's store path) as if it had arrived then."""
    await pool.execute(
        "update bookings set status = 'checked_in', updated_at = $2 where id = $1",
        visit["id"],
        now() + dt.timedelta(minutes=minutes_from_now),
    )


async def walk_in(pool, minutes_from_now: int, language="en", number="W001") -> None:
    await pool.execute(
        """
        insert into queue_tickets (point_id, day, kind, seq, number, service_id, language,
                                   arrived_at)
        values ($1, (now() at time zone 'Europe/Warsaw')::date, 'walk_in', $2, $3,
                'everyday-matters', $4, $5)
        """,
        BASZTOWA,
        int(number[1:]),
        number,
        language,
        now() + dt.timedelta(minutes=minutes_from_now),
    )


async def call(client, token, desk, **params):
    return await client.post(f"{API}/desks/{desk}/call-next", params=params, headers=auth(token))


async def test_booked_visits_in_time_first_by_appointment_then_everyone_by_arrival(
    client, token, pool
):
    on_time_late_slot = await visit_today(pool, minutes_from_now=-20)
    on_time_early_slot = await visit_today(pool, minutes_from_now=-50)
    late = await visit_today(pool, minutes_from_now=-90)  # arrived 40 minutes after its start
    await arrive(pool, on_time_late_slot, -25)
    await arrive(pool, on_time_early_slot, -55)
    await arrive(pool, late, -50)
    await walk_in(pool, -60, number="W001")  # came first, but without an appointment
    await walk_in(pool, -40, number="W002")
    queue = (await client.get(f"{API}/queue", headers=auth(token))).json()
    order = [t["number"] for t in queue["tickets"]]
    refs = {t["number"]: t["reference"] for t in queue["tickets"]}
    expected_refs = [on_time_early_slot["reference"], on_time_late_slot["reference"]]
    assert [refs[n] for n in order[:2]] == expected_refs
    # then by arrival: W001 (-60), the late visit (-50), W002 (-40)
    assert order[2] == "W001" and refs[order[3]] == late["reference"] and order[4] == "W002"
    called = [(await call(client, token, DESK1)).json()["number"] for _ in order]
    assert called == order


async def test_call_next_serves_by_the_desks_languages_and_services_and_refuses_when_nobody(
    client, token, pool
):
    await walk_in(pool, -10, language="pjm", number="W001")
    response = await call(client, token, DESK1)  # desk 1 does not sign
    assert response.status_code == 409
    assert response.json()["code"] == "nobody_to_serve"
    assert (await tickets(pool))[0]["status"] == "waiting"
    assert await pool.fetchval("select count(*) from queue_calls") == 0
    response = await call(client, token, DESK3, services=["legalisation-of-stay-and-work"])
    assert response.status_code == 409
    response = await call(client, token, DESK3, services=["everyday-matters"])
    assert response.status_code == 200
    assert response.json()["number"] == "W001"
    # another point's clerk cannot press this point's desk
    rondo = await login(client, "rondo@wizyta.test")
    assert (await call(client, rondo, DESK1)).status_code == 403


async def test_recall_park_return_transfer_done_and_no_show(client, token, pool):
    visit = await visit_today(pool, minutes_from_now=-5)
    await arrive(pool, visit, -10)
    await walk_in(pool, -8, number="W001")
    first = (await call(client, token, DESK1)).json()
    assert first["reference"] == visit["reference"]
    again = await client.post(f"{API}/desks/{DESK1}/recall", headers=auth(token))
    assert again.json()["calls"] == 2
    parked = await client.post(f"{API}/desks/{DESK1}/park", headers=auth(token))
    assert parked.json()["status"] == "parked"
    assert (await client.post(f"{API}/desks/{DESK1}/done", headers=auth(token))).status_code == 409
    back = await client.post(f"{API}/queue/tickets/{first['number']}/return", headers=auth(token))
    assert back.json()["status"] == "waiting"
    assert (await call(client, token, DESK1)).json()["number"] == first["number"]
    moved = await client.post(
        f"{API}/desks/{DESK1}/transfer", json={"to_desk": DESK2}, headers=auth(token)
    )
    assert (moved.json()["status"], moved.json()["desk_id"]) == ("waiting", DESK2)
    # the transferred visitor is first at desk 2, before the walk-in who waited
    assert (await call(client, token, DESK2)).json()["number"] == first["number"]
    done = await client.post(f"{API}/desks/{DESK2}/done", headers=auth(token))
    assert done.json()["status"] == "done"
    assert await pool.fetchval("select status from bookings") == "completed"
    assert (await call(client, token, DESK1)).json()["number"] == "W001"
    gone = await client.post(f"{API}/desks/{DESK1}/no-show", headers=auth(token))
    assert gone.json()["status"] == "no_show"
    assert await pool.fetchval("select count(*) from queue_calls") == 5


async def test_the_staff_queue_page_calls_the_next_visitor(client, token, pool):
    await walk_in(pool, -8, number="W001")
    login_page = await client.get("/staff/login")
    assert login_page.status_code == 200
    response = await client.post(
        "/staff/login",
        data={
            "email": "basztowa@wizyta.test",
            "password": "correct horse battery staple",
            "csrf_token": client.cookies.get(CSRF_COOKIE),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = await client.get(f"/staff/points/{BASZTOWA}/queue", params={"desk": DESK1})
    assert page.status_code == 200 and "W001" in page.text
    csrf = client.cookies.get("wizyta_staff_csrf")
    response = await client.post(
        f"/staff/points/{BASZTOWA}/queue/desks/{DESK1}/call-next",
        data={"csrf_token": csrf, "services": ["legalisation-of-stay-and-work", "x"]},
    )
    assert response.status_code == 409  # the desk takes other services now
    assert "Nobody waiting can be served" in response.text
    response = await client.post(
        f"/staff/points/{BASZTOWA}/queue/desks/{DESK1}/call-next",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert 'id="current-number">W001<' in page.text
    response = await client.post(
        f"/staff/points/{BASZTOWA}/queue/desks/{DESK2}/call-next", data={"csrf_token": csrf}
    )
    assert response.status_code == 409
    assert "Nobody waiting can be served" in response.text
