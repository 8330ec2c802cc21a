"""The waitlist: a freed slot is offered to the first person waiting, with a short hold."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tests.booking_helpers import BASZTOWA, bearer, book, free_slots

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


async def _join(client, email: str, day: dt.date, language: str = "pjm"):
    response = await client.post(
        "/api/v1/waitlist",
        json={
            "point_id": BASZTOWA,
            "service_id": "everyday-matters",
            "language": language,
            "first_day": str(day),
            "last_day": str(day),
            "visitor": {"name": email.split("@")[0], "email": email},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _offer(pool, email: str):
    return await pool.fetchrow(
        """
        select b.reference, b.status, b.starts_at, o.payload->>'token' as token
        from bookings b join outbox o on o.booking_id = b.id and o.kind = 'waitlist_offer'
        where b.visitor_email = $1
        """,
        email,
    )


async def _fully_booked_slot(client):
    slot = (await free_slots(client, language="pjm"))[0]  # the one desk that signs
    visit = (await book(client, slot["start"], "first@example.org", language="pjm")).json()
    day = dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW).date()
    return slot, visit, day


async def test_a_cancellation_reaches_the_first_person_on_the_waitlist(client, pool):
    slot, visit, day = await _fully_booked_slot(client)
    first = await _join(client, "waiting.first@example.org", day)
    second = await _join(client, "waiting.second@example.org", day)
    assert first["status"] == "waiting" and first["token"]

    cancel = await client.post(
        f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
    )
    assert cancel.status_code == 200

    offer = await _offer(pool, "waiting.first@example.org")
    assert offer is not None and offer["status"] == "held"
    assert offer["starts_at"] == dt.datetime.fromisoformat(slot["start"])
    assert await _offer(pool, "waiting.second@example.org") is None
    shown = await client.get(f"/api/v1/waitlist/{first['id']}", headers=bearer(first["token"]))
    assert shown.json()["status"] == "offered" and shown.json()["reference"] == offer["reference"]

    confirmed = await client.post(
        f"/api/v1/bookings/{offer['reference']}/confirm", json={"token": offer["token"]}
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    manage = confirmed.json()["manage_token"]  # the offer had none; it comes with confirming
    own = await client.get(f"/api/v1/bookings/{offer['reference']}", headers=bearer(manage))
    assert own.status_code == 200
    assert (
        await client.get(f"/api/v1/waitlist/{first['id']}", headers=bearer(first["token"]))
    ).json()["status"] == "booked"
    still = await client.get(f"/api/v1/waitlist/{second['id']}", headers=bearer(second["token"]))
    assert still.json()["status"] == "waiting"


async def test_an_unanswered_offer_expires_and_goes_to_the_next_person(client, pool):
    from booking.holds import expire_overdue

    _, visit, day = await _fully_booked_slot(client)
    await _join(client, "slow@example.org", day)
    await _join(client, "next@example.org", day)
    await client.post(
        f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
    )
    await pool.execute(
        "update bookings set hold_expires_at = now() - interval '1 second' "
        "where visitor_email = 'slow@example.org'"
    )
    async with pool.acquire() as conn, conn.transaction():
        await expire_overdue(conn, dt.timedelta(minutes=30))
    assert (await _offer(pool, "slow@example.org"))["status"] == "expired"
    assert (await _offer(pool, "next@example.org"))["status"] == "held"
    statuses = dict(await pool.fetch("select visitor_email, status from waitlist"))
    assert statuses == {"slow@example.org": "expired", "next@example.org": "offered"}


async def test_a_person_can_leave_the_waitlist(client, pool):
    day = dt.date.today() + dt.timedelta(days=3)
    entry = await _join(client, "leaving@example.org", day)
    left = await client.delete(f"/api/v1/waitlist/{entry['id']}", headers=bearer(entry["token"]))
    assert left.status_code == 200 and left.json()["status"] == "withdrawn"
    wrong = await client.get(f"/api/v1/waitlist/{entry['id']}", headers=bearer("guess"))
    assert wrong.status_code == 404


async def test_a_bad_waitlist_request_is_422(client):
    response = await client.post(
        "/api/v1/waitlist",
        json={
            "point_id": BASZTOWA,
            "service_id": "everyday-matters",
            "language": "uk",
            "first_day": "2027-02-10",
            "last_day": "2027-01-01",
            "visitor": {"name": "X", "email": "x@example.org"},
        },
    )
    assert response.status_code == 422
