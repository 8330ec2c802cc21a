"""Staff book for visitors who phone, write or walk in; a point keeps capacity for them.

The staff booking runs the visitor's own core (the same checks, hold and lifecycle: held then
confirmed at once); without an e-mail nothing is mailed. Internal capacity (an internal-only
desk, places kept in every slot) is invisible to the public API and usable by staff, and a race
of online and staff bookers of one slot never overruns either part.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import re
import uuid

import httpx
import pytest

from tests.booking_helpers import book, booking_body, free_slots
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
POINT = "krakow-basztowa-22"
SERVICE = "everyday-matters"
STAFF = f"/api/v1/staff/points/{POINT}"
INTERNAL_DESK = "krakow-basztowa-22-desk-3"


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


@pytest.fixture
async def token(client, accounts):
    return await login(client, accounts.basztowa)


def staff_body(start: str, **visitor) -> dict:
    return {
        "service_id": SERVICE,
        "start": start,
        "language": "uk",
        "visitor": {"name": "Тарас Шевченко", **visitor},
    }


async def staff_slots(client, token, language="uk"):
    response = await client.get(
        f"{STAFF}/availability",
        params={"service": SERVICE, "language": language},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    return [slot for day in response.json()["days"] for slot in day["slots"]]


def free_at(slots, start) -> int:
    return next((slot["free"] for slot in slots if slot["start"] == start), 0)


# ---------------------------------------------------------------------------- booking for a visitor


async def test_a_visitor_booked_by_phone_without_an_e_mail_is_confirmed_and_mailed_nothing(
    client, token, pool
):
    slot = (await staff_slots(client, token))[0]
    response = await client.post(
        f"{STAFF}/bookings",
        json=staff_body(slot["start"], phone="+48 600 100 200"),
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["status"] == "confirmed"
    assert visit["mailed"] is False
    assert visit["point_phones"]  # the visitor is given the point's number with the reference
    assert "manage_token" not in visit
    assert await pool.fetchval("select count(*) from outbox where channel = 'email'") == 0
    # a mobile number: the confirmation and the reminders go by SMS (notifications/sms.py)
    sms = {r["kind"] for r in await pool.fetch("select kind from outbox where channel = 'sms'")}
    assert "confirmed" in sms
    row = await pool.fetchrow(
        "select booked_by, visitor_email, visitor_phone, confirmed_at from bookings "
        "where reference = $1",
        visit["reference"],
    )
    assert row["booked_by"] == "staff" and row["visitor_email"] is None
    assert row["visitor_phone"] == "+48 600 100 200" and row["confirmed_at"] is not None
    audit = await pool.fetchrow("select * from audit_log where entity = 'visit'")
    assert (audit["action"], audit["entity_id"], audit["staff_email"]) == (
        "book",
        visit["reference"],
        "basztowa@wizyta.test",
    )
    sheet = await client.get(
        f"{STAFF}/visits", params={"date": slot["start"][:10]}, headers=auth(token)
    )
    assert [v["reference"] for v in sheet.json()["visits"]] == [visit["reference"]]


async def test_a_visitor_booked_with_a_landline_and_no_e_mail_is_sent_nothing(client, token, pool):
    slot = (await staff_slots(client, token))[0]
    response = await client.post(
        f"{STAFF}/bookings",
        json=staff_body(slot["start"], phone="+48 12 345 67 89"),  # a Kraków landline
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    assert await pool.fetchval("select count(*) from outbox") == 0


async def test_a_visitor_with_an_e_mail_gets_the_confirmation_and_reminders_not_a_request(
    client, token, pool
):
    slot = (await staff_slots(client, token))[0]
    response = await client.post(
        f"{STAFF}/bookings",
        json=staff_body(slot["start"], email="olena@example.org"),
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    assert response.json()["mailed"] is True
    kinds = {r["kind"] for r in await pool.fetch("select kind from outbox")}
    assert "confirmed" in kinds and "confirmation_request" not in kinds


async def test_without_an_e_mail_a_phone_number_is_needed_and_nothing_is_written(
    client, token, pool
):
    slot = (await staff_slots(client, token))[0]
    response = await client.post(
        f"{STAFF}/bookings", json=staff_body(slot["start"]), headers=auth(token)
    )
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == (
        "contact_missing",
        "visitor.phone",
    )
    assert await pool.fetchval("select count(*) from bookings") == 0
    assert await pool.fetchval("select count(*) from audit_log") == 0


async def test_staff_booking_runs_the_same_checks_as_a_visitors(client, token, accounts, pool):
    # A time with another after it on its day: the first slot offered may be today's last, and
    # the same time seven minutes later would then be outside the hours, not off the grid.
    slots = await staff_slots(client, token)
    slot = next(
        s for s, after in itertools.pairwise(slots) if s["start"][:10] == after["start"][:10]
    )
    body = staff_body(slot["start"], email="olena@example.org")
    first = await client.post(f"{STAFF}/bookings", json=body, headers=auth(token))
    assert first.status_code == 201, first.text
    # the per-person limit, by the same mailbox
    again = await client.post(f"{STAFF}/bookings", json=body, headers=auth(token))
    assert (again.status_code, again.json()["code"]) == (409, "per_person_limit")
    # a time off the grid
    off = staff_body(slot["start"].replace(":00:00", ":07:00").replace(":30:00", ":37:00"))
    off["visitor"]["phone"] = "+48 600 100 200"
    refused = await client.post(f"{STAFF}/bookings", json=off, headers=auth(token))
    assert (refused.status_code, refused.json()["code"]) == (422, "off_grid")
    # another point's staff may not book here
    other = await login(client, accounts.rondo)
    body = staff_body(slot["start"], phone="+48 600 100 200")
    assert (
        await client.post(f"{STAFF}/bookings", json=body, headers=auth(other))
    ).status_code == 403
    assert (await client.post(f"{STAFF}/bookings", json=body)).status_code == 401


# ---------------------------------------------------------------------------- internal capacity


async def test_an_internal_desk_is_invisible_to_the_public_and_booked_by_staff(client, token, pool):
    flagged = await client.patch(
        f"{STAFF}/desks/{INTERNAL_DESK}", json={"internal_only": True}, headers=auth(token)
    )
    assert flagged.status_code == 200, flagged.text
    public = await free_slots(client)
    assert max(slot["free"] for slot in public) == 2
    start = next(slot["start"] for slot in public if slot["free"] == 2)
    assert free_at(await staff_slots(client, token), start) == 3
    # sign languages: only the internal desk speaks them, so the public sees no time at all
    assert await free_slots(client, language="pjm") == []
    assert await staff_slots(client, token, language="pjm")

    desks = []
    for i in range(2):
        response = await book(client, start, f"visitor{i}@example.org")
        assert response.status_code == 201, response.text
        desks.append(response.json()["desk_id"])
    assert INTERNAL_DESK not in desks
    assert free_at(await free_slots(client), start) == 0
    taken = await book(client, start, "late@example.org")
    assert (taken.status_code, taken.json()["code"]) == (409, "slot_taken")
    by_staff = await client.post(
        f"{STAFF}/bookings", json=staff_body(start, phone="+48 600 100 200"), headers=auth(token)
    )
    assert by_staff.status_code == 201, by_staff.text
    assert by_staff.json()["desk_id"] == INTERNAL_DESK


async def test_places_kept_in_every_slot_are_invisible_to_the_public_and_booked_by_staff(
    client, token, pool
):
    before = await free_slots(client)
    start = next(slot["start"] for slot in before if slot["free"] == 3)
    kept = await client.put(
        f"{STAFF}/internal-capacity", json={"places_per_slot": 1}, headers=auth(token)
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["places_per_slot"] == 1
    assert free_at(await free_slots(client), start) == 2
    # staff book first: they fill the kept place, the public's two stay
    response = await client.post(
        f"{STAFF}/bookings", json=staff_body(start, phone="+48 600 100 200"), headers=auth(token)
    )
    assert response.status_code == 201, response.text
    assert free_at(await free_slots(client), start) == 2
    assert free_at(await staff_slots(client, token), start) == 2
    for i in range(2):
        assert (await book(client, start, f"visitor{i}@example.org")).status_code == 201
    assert free_at(await free_slots(client), start) == 0

    # elsewhere: the public fills its part, and the kept place is still the staff's
    other = next(slot["start"] for slot in before if slot["free"] == 3 and slot["start"] != start)
    for i in range(2):
        assert (await book(client, other, f"other{i}@example.org")).status_code == 201
    assert free_at(await free_slots(client), other) == 0
    refused = await book(client, other, "third@example.org")
    assert (refused.status_code, refused.json()["code"]) == (409, "slot_taken")
    assert free_at(await staff_slots(client, token), other) == 1
    response = await client.post(
        f"{STAFF}/bookings", json=staff_body(other, phone="+48 600 100 300"), headers=auth(token)
    )
    assert response.status_code == 201, response.text
    audit = await pool.fetchval("select count(*) from audit_log where entity = 'internal_capacity'")
    assert audit == 1


ROUNDS = 3
ONLINE, BY_STAFF = 24, 8


async def test_a_race_of_online_and_staff_bookers_never_overruns_the_public_part(
    live_server, pool, accounts
):
    limits = httpx.Limits(max_connections=ONLINE + BY_STAFF + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120, limits=limits) as http:
        token = await login(http, accounts.basztowa)
        kept = await http.put(
            f"{STAFF}/internal-capacity", json={"places_per_slot": 1}, headers=auth(token)
        )
        assert kept.status_code == 200, kept.text
        slots = [s for s in await free_slots(http) if s["free"] == 2][:ROUNDS]
        assert len(slots) == ROUNDS

        async def online(start: str, i: int) -> tuple[str, int]:
            response = await http.post(
                "/api/v1/bookings",
                json=booking_body(start, f"v{i}@example.org"),
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            return "online", response.status_code

        async def staff(start: str, i: int) -> tuple[str, int]:
            body = staff_body(start, phone=f"+48 600 100 {i:03d}")
            response = await http.post(f"{STAFF}/bookings", json=body, headers=auth(token))
            return "staff", response.status_code

        for round_number, slot in enumerate(slots):
            racers = [online(slot["start"], round_number * 100 + i) for i in range(ONLINE)]
            racers += [staff(slot["start"], round_number * 100 + i) for i in range(BY_STAFF)]
            outcomes = collections.Counter(await asyncio.gather(*racers))
            assert not [code for _, code in outcomes if code >= 500], outcomes
            rows = await pool.fetch(
                "select booked_by, desk_id from bookings where starts_at = $1",
                dt.datetime.fromisoformat(slot["start"]),
            )
            by = collections.Counter(r["booked_by"] for r in rows)
            assert by["visitor"] <= 2, outcomes  # the public's part: 3 desks, 1 place kept
            assert len(rows) == 3, outcomes  # the kept place went to staff, every desk is used
            assert len({r["desk_id"] for r in rows}) == 3
            assert outcomes[("online", 201)] == by["visitor"]
            assert outcomes[("staff", 201)] == by["staff"]


async def test_the_same_idempotency_key_books_once_and_another_body_with_it_is_refused(
    client, token, pool
):
    slots = await staff_slots(client, token)
    headers = auth(token) | {"Idempotency-Key": "phone-call-1"}
    body = staff_body(slots[0]["start"], phone="+48 600 100 200")
    first = await client.post(f"{STAFF}/bookings", json=body, headers=headers)
    again = await client.post(f"{STAFF}/bookings", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = await client.post(
        f"{STAFF}/bookings",
        json=staff_body(slots[1]["start"], phone="+48 600 100 200"),
        headers=headers,
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert await pool.fetchval("select count(*) from bookings") == 1
    assert await pool.fetchval("select count(*) from audit_log where entity = 'visit'") == 1


# ---------------------------------------------------------------------------- a family's visit


async def test_staff_availability_for_a_family_offers_the_longer_visit_and_staff_book_it(
    client, token, pool
):
    response = await client.get(
        f"{STAFF}/availability",
        params={"service": SERVICE, "language": "uk", "party_size": 3},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["party_size"] == 3
    family = next(s for day in response.json()["days"] for s in day["slots"])
    length = dt.datetime.fromisoformat(family["end"]) - dt.datetime.fromisoformat(family["start"])
    assert length == dt.timedelta(minutes=30 + 2 * 10)  # each extra person's minutes
    booked = await client.post(
        f"{STAFF}/bookings",
        json={**staff_body(family["start"], phone="+48601234567"), "party_size": 3},
        headers=auth(token),
    )
    assert booked.status_code == 201, booked.text
    row = await pool.fetchrow("select party_size, ends_at - starts_at as length from bookings")
    assert (row["party_size"], row["length"]) == (3, length)


async def test_staff_availability_refuses_a_party_larger_than_the_service_takes(client, token):
    response = await client.get(
        f"{STAFF}/availability",
        params={"service": SERVICE, "language": "uk", "party_size": 99},
        headers=auth(token),
    )
    assert response.status_code == 422 and response.json()["code"] == "party_too_large"


async def test_the_booking_page_shows_a_familys_times_and_books_the_family(client, accounts, pool):
    from tests.integration.test_staff_hours_and_desk_pages import form, log_in

    await log_in(client, accounts)
    page = f"/staff/points/{POINT}/book"
    query = {"service": SERVICE, "language": "uk", "party_size": "2", "lang": "en"}
    found = None
    for ahead in range(1, 14):
        day = (dt.date.today() + dt.timedelta(days=ahead)).isoformat()
        shown = await client.get(page, params={**query, "date": day})
        assert shown.status_code == 200, shown.text
        found = re.search(r'name="start" value="([^"]+)"', shown.text)
        if found:
            break
    assert found, "no free time for a family in two weeks"
    assert 'name="party_size" value="2"' in shown.text
    start = dt.datetime.fromisoformat(found.group(1))
    answer = await client.post(
        f"{page}?lang=en",
        data=form(
            client,
            service=SERVICE,
            language="uk",
            date=day,
            key=str(uuid.uuid4()),
            party_size="2",
            start=found.group(1),
            name="Тарас Шевченко",
            phone="+48601234567",
        ),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    row = await pool.fetchrow("select party_size, starts_at, ends_at from bookings")
    assert row["party_size"] == 2 and row["starts_at"] == start
    assert row["ends_at"] - row["starts_at"] == dt.timedelta(minutes=30 + 10)
