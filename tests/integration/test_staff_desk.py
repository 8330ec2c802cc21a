"""The clerk's desk: the office cancels a visit (the visitor is told the reason) or moves it to
another free time, from the API and from the day sheet; nothing is written on a refusal."""

from __future__ import annotations

import pytest

from tests.booking_helpers import book, confirmation_token, free_slots
from tests.staff_helpers import PASSWORD, auth, login, make_accounts
from web.security import CSRF_COOKIE, STAFF_CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


@pytest.fixture
async def token(client, accounts):
    return await login(client, accounts.basztowa)


async def _confirmed(client, pool, slot, email):
    response = await book(client, slot["start"], email)
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    secret = await confirmation_token(pool, reference)
    url = f"/api/v1/bookings/{reference}/confirm"
    assert (await client.post(url, json={"token": secret})).status_code == 200
    return reference


async def _outbox(pool, reference):
    return await pool.fetch(
        """
        select o.kind, o.payload from outbox o join bookings b on b.id = o.booking_id
        where b.reference = $1 order by o.id
        """,
        reference,
    )


async def test_the_office_cancels_with_a_reason_the_visitor_is_told(client, token, accounts, pool):
    slots = await free_slots(client)
    reference = await _confirmed(client, pool, slots[0], "olena@example.org")
    url = f"/api/v1/staff/bookings/{reference}/cancel"

    other = await login(client, accounts.rondo)
    refused = await client.post(url, json={"reason": "x"}, headers=auth(other))
    assert (refused.status_code, refused.json()["code"]) == (403, "not_your_point")
    empty = await client.post(url, json={"reason": ""}, headers=auth(token))
    assert empty.status_code in (400, 422)
    assert (
        await pool.fetchval("select status from bookings where reference = $1", reference)
        == "confirmed"
    )

    body = {"reason": "Konsultantka jest chora", "language": "pl"}
    response = await client.post(url, json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    row = await pool.fetchrow(
        "select status, cancelled_by from bookings where reference = $1", reference
    )
    assert (row["status"], row["cancelled_by"]) == ("cancelled", "office")
    kinds = [(r["kind"], r["payload"]) for r in await _outbox(pool, reference)]
    told = [p for k, p in kinds if k == "cancelled_by_office"]
    assert len(told) == 1 and "Konsultantka jest chora" in str(told[0])
    again = await client.post(url, json=body, headers=auth(token))
    assert again.status_code == 409
    audit = await pool.fetchval(
        "select count(*) from audit_log where action = 'cancel' and entity_id = $1", reference
    )
    assert audit == 1


async def test_the_office_moves_a_visit_to_another_free_time(client, token, pool):
    slots = await free_slots(client)
    reference = await _confirmed(client, pool, slots[0], "olena@example.org")
    url = f"/api/v1/staff/bookings/{reference}/move"

    nonsense = await client.post(url, json={"start": "2020-01-01T03:00"}, headers=auth(token))
    assert 400 <= nonsense.status_code < 500, nonsense.text
    before = await pool.fetchval("select starts_at from bookings where reference = $1", reference)

    target = slots[-1]["start"]
    response = await client.post(url, json={"start": target}, headers=auth(token))
    assert response.status_code == 200, response.text
    after = await pool.fetchrow(
        "select starts_at, moves, status from bookings where reference = $1", reference
    )
    assert after["starts_at"] != before and after["status"] == "confirmed"
    assert after["starts_at"].isoformat()[:16] == target[:16] or response.json()["start"]
    assert after["moves"] == 0  # the office's move does not count toward the visitor's limit
    assert "moved" in [r["kind"] for r in await _outbox(pool, reference)]


async def test_the_day_sheet_cancels_and_moves(client, accounts, pool):
    slots = await free_slots(client)
    first = await _confirmed(client, pool, slots[0], "olena@example.org")
    second = await _confirmed(client, pool, slots[1], "taras@example.org")
    await client.get("/staff/login")
    await client.post(
        "/staff/login",
        data={
            "csrf_token": client.cookies.get(CSRF_COOKIE),
            "email": accounts.basztowa,
            "password": PASSWORD,
        },
    )
    day = slots[0]["start"][:10]
    sheet = await client.get(f"/staff/points/{BASZTOWA}?date={day}")
    assert f'id="reason-{first}"' in sheet.text
    csrf = client.cookies.get(STAFF_CSRF_COOKIE)
    base = f"/staff/points/{BASZTOWA}/visits"

    missing = await client.post(
        f"{base}/{first}/cancel", data={"csrf_token": csrf, "date": day, "reason": " "}
    )
    assert missing.status_code == 422 and "Please give the reason" in missing.text
    done = await client.post(
        f"{base}/{first}/cancel",
        data={"csrf_token": csrf, "date": day, "reason": "Awaria systemu"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert (
        await pool.fetchval("select status from bookings where reference = $1", first)
        == "cancelled"
    )

    moved = await client.post(
        f"{base}/{second}/move",
        data={"csrf_token": csrf, "date": day, "start": slots[-1]["start"][:16]},
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    start = await pool.fetchval("select starts_at from bookings where reference = $1", second)
    assert start.isoformat()[:10] == slots[-1]["start"][:10]
