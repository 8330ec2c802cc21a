"""Fair rules against slot trading, per offer: the cut-off of online changes, the limit of moves,
and the delay before a place freed late returns to public booking (the waitlist first).

The edges are tested a minute either side: a visit is put that far from the cut-off (its time
written directly, as the day sheet's tests do: the API books at least two hours ahead), and
the held-back place is read through the slot engine at its `until` plus or minus a minute.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from scheduling import store
from scheduling.availability import slots_for
from tests.booking_helpers import BASZTOWA, EVERYDAY, bearer, book, free_slots
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
OFFER = f"/api/v1/staff/points/{BASZTOWA}/services/{EVERYDAY}"


@pytest.fixture
async def set_rules(client, seeded):
    """PUT the offer as it is, with these fair rules."""
    accounts = await make_accounts(seeded)
    token = await login(client, accounts.basztowa)

    async def put(**rules):
        offer = (await client.get(OFFER, headers=auth(token))).json()
        for key in ("service_id", "names"):
            offer.pop(key)
        response = await client.put(OFFER, json=offer | rules, headers=auth(token))
        assert response.status_code == 200, response.text
        return token

    return put


async def _visit(client, slot=None, email="olena@example.org"):
    slot = slot or (await free_slots(client))[0]
    response = await book(client, slot["start"], email)
    assert response.status_code == 201, response.text
    return response.json()


async def _starts_in(pool, reference: str, minutes: int) -> None:
    await pool.execute(
        """
        update bookings set starts_at = now() + $2::interval,
               ends_at = now() + $2::interval + interval '30 minutes'
        where reference = $1
        """,
        reference,
        dt.timedelta(minutes=minutes),
    )


def _cancel(client, visit):
    return client.post(
        f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
    )


def _move(client, visit, start):
    return client.post(
        f"/api/v1/bookings/{visit['reference']}/reschedule",
        json={"start": start},
        headers=bearer(visit["manage_token"]),
    )


# ---------------------------------------------------------------------------- the cut-off


@pytest.mark.parametrize(("minutes", "allowed"), [(121, True), (119, False)])
async def test_a_visit_is_cancelled_online_until_the_cut_off_and_not_a_minute_after(
    client, pool, set_rules, minutes, allowed
):
    await set_rules(change_cutoff_minutes=120)
    visit = await _visit(client)
    await _starts_in(pool, visit["reference"], minutes)
    response = await _cancel(client, visit)
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
        return
    assert response.status_code == 409, response.text
    problem = response.json()
    assert (problem["code"], problem["minutes"], problem["verb"]) == (
        "change_cutoff_passed",
        120,
        "cancelled",
    )
    assert problem["phone"]  # the visitor is told whom to call
    status = await pool.fetchval(
        "select status from bookings where reference = $1", visit["reference"]
    )
    assert status == "held"


@pytest.mark.parametrize(("minutes", "allowed"), [(121, True), (119, False)])
async def test_a_visit_is_moved_online_until_the_cut_off_and_not_a_minute_after(
    client, pool, set_rules, minutes, allowed
):
    await set_rules(change_cutoff_minutes=120)
    slots = await free_slots(client)
    visit = await _visit(client, slots[0])
    await _starts_in(pool, visit["reference"], minutes)
    response = await _move(client, visit, slots[-1]["start"])
    if allowed:
        assert response.status_code == 200, response.text
        return
    assert (response.status_code, response.json()["code"]) == (409, "change_cutoff_passed")
    assert response.json()["verb"] == "moved"


# ---------------------------------------------------------------------------- moves per visit


async def test_a_visit_is_moved_online_at_most_the_offers_limit(client, pool, set_rules):
    await set_rules(max_moves=2)
    slots = await free_slots(client)
    visit = await _visit(client, slots[0])
    for slot in (slots[-1], slots[-2]):
        response = await _move(client, visit, slot["start"])
        assert response.status_code == 200, response.text
    third = await _move(client, visit, slots[-3]["start"])
    assert third.status_code == 409, third.text
    assert (third.json()["code"], third.json()["moves"]) == ("moves_limit_reached", 2)
    row = await pool.fetchrow(
        "select moves, starts_at from bookings where reference = $1", visit["reference"]
    )
    assert row["moves"] == 2
    assert row["starts_at"] == dt.datetime.fromisoformat(slots[-2]["start"])
    # cancelling is still allowed: the limit is on moves
    assert (await _cancel(client, visit)).status_code == 200


# ---------------------------------------------------------------------------- the release delay


def _free_at(slots, start) -> int:
    return next((slot["free"] for slot in slots if slot["start"] == start), 0)


async def test_a_place_freed_late_returns_to_public_booking_after_the_delay_staff_see_it_at_once(
    client, pool, set_rules
):
    token = await set_rules(late_cancel_minutes=43200, release_delay_minutes=30)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    slot = next(
        s
        for s in await free_slots(client)
        if s["free"] == 3 and dt.datetime.fromisoformat(s["start"]) > tomorrow
    )
    visit = await _visit(client, slot)
    assert (await _cancel(client, visit)).status_code == 200
    held = await pool.fetchrow(
        """
        select h.until, h.desk_id, b.cancelled_at, b.desk_id as visit_desk
        from held_back_places h join bookings b on b.id = h.booking_id
        """
    )
    assert held["until"] - held["cancelled_at"] == dt.timedelta(minutes=30)
    assert held["desk_id"] == held["visit_desk"]
    assert _free_at(await free_slots(client), slot["start"]) == 2
    staff = await client.get(
        f"/api/v1/staff/points/{BASZTOWA}/availability",
        params={"service": EVERYDAY, "language": "uk", "from": slot["start"][:10]},
        headers=auth(token),
    )
    assert _free_at([s for d in staff.json()["days"] for s in d["slots"]], slot["start"]) == 3

    start = dt.datetime.fromisoformat(slot["start"])
    day = start.astimezone(WARSAW).date()
    async with pool.acquire() as conn:
        point = await store.get_point(conn, BASZTOWA)
        offer = await store.get_point_service(conn, BASZTOWA, EVERYDAY)

        async def public_free(now: dt.datetime) -> int:
            (found,) = await slots_for(conn, point, offer, "uk", day, day, now)
            return next((s.free for s in found.slots if s.start == start), 0)

        assert await public_free(held["until"] - dt.timedelta(minutes=1)) == 2
        assert await public_free(held["until"] + dt.timedelta(minutes=1)) == 3


@pytest.mark.parametrize(("margin", "held_back"), [(-1, False), (1, True)])
async def test_a_cancellation_is_late_from_the_offers_threshold_to_the_minute(
    client, pool, set_rules, margin, held_back
):
    slot = (await free_slots(client))[0]
    until_start = dt.datetime.fromisoformat(slot["start"]) - dt.datetime.now(dt.UTC)
    late = int(until_start.total_seconds() // 60) + margin
    await set_rules(late_cancel_minutes=late, release_delay_minutes=30)
    visit = await _visit(client, slot)
    assert (await _cancel(client, visit)).status_code == 200
    assert await pool.fetchval("select count(*) from held_back_places") == int(held_back)
    assert _free_at(await free_slots(client), slot["start"]) == slot["free"] - int(held_back)


async def test_the_waitlist_is_offered_a_place_freed_late_before_it_is_held_back(
    client, pool, set_rules
):
    await set_rules(late_cancel_minutes=43200, release_delay_minutes=30)
    slot = (await free_slots(client, language="pjm"))[0]  # the one desk that signs
    response = await book(client, slot["start"], "first@example.org", language="pjm")
    visit = response.json()
    day = dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW).date()
    joined = await client.post(
        "/api/v1/waitlist",
        json={
            "point_id": BASZTOWA,
            "service_id": EVERYDAY,
            "language": "pjm",
            "first_day": str(day),
            "last_day": str(day),
            "visitor": {"name": "Waiting", "email": "waiting@example.org"},
        },
    )
    assert joined.status_code == 201, joined.text
    assert (await _cancel(client, visit)).status_code == 200
    offered = await pool.fetchrow(
        "select starts_at, status from bookings where visitor_email = 'waiting@example.org'"
    )
    assert offered["starts_at"] == dt.datetime.fromisoformat(slot["start"])
    assert offered["status"] == "held"
    assert await pool.fetchval("select count(*) from held_back_places") == 0
