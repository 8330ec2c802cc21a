"""The visit lifecycle through the HTTP API on real PostgreSQL: every 2xx, 4xx and token path."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest

from tests.booking_helpers import (
    BASZTOWA,
    bearer,
    book,
    booking_body,
    confirmation_token,
    free_slots,
)

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


async def _held(client, slot_index: int = 0, email: str = "olena@example.org"):
    slots = await free_slots(client)
    response = await book(client, slots[slot_index]["start"], email)
    assert response.status_code == 201, response.text
    return response.json(), slots


async def test_a_hold_returns_a_reference_a_manage_token_and_an_expiry(client, pool):
    visit, slots = await _held(client)
    assert visit["status"] == "held"
    assert visit["reference"].startswith("KRK-")
    assert len(visit["manage_token"]) >= 43
    assert dt.datetime.fromisoformat(visit["start"]) == dt.datetime.fromisoformat(slots[0]["start"])
    expires = dt.datetime.fromisoformat(visit["expires_at"])
    assert dt.timedelta(minutes=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=30)
    stored = await pool.fetchrow(
        "select manage_token_hash, status from bookings where reference = $1", visit["reference"]
    )
    assert visit["manage_token"].encode() not in bytes(stored["manage_token_hash"])
    kinds = await pool.fetch("select kind from outbox")
    assert [r["kind"] for r in kinds] == ["confirmation_request"]


async def test_the_e_mailed_token_confirms_the_visit_and_a_second_click_is_harmless(client, pool):
    visit, _ = await _held(client)
    token = await confirmation_token(pool, visit["reference"])
    url = f"/api/v1/bookings/{visit['reference']}/confirm"
    first = await client.post(url, json={"token": token})
    assert first.status_code == 200 and first.json()["status"] == "confirmed"
    again = await client.post(url, json={"token": token})
    assert again.status_code == 200 and again.json()["status"] == "confirmed"
    kinds = [r["kind"] for r in await pool.fetch("select kind from outbox order by id")]
    assert kinds.count("confirmed") == 1


async def test_a_wrong_confirmation_token_is_404_and_confirms_nothing(client, pool):
    visit, _ = await _held(client)
    response = await client.post(
        f"/api/v1/bookings/{visit['reference']}/confirm", json={"token": "guess"}
    )
    problem(response, 404)
    status = await pool.fetchval(
        "select status from bookings where reference = $1", visit["reference"]
    )
    assert status == "held"


async def test_the_manage_token_opens_the_visit_and_nothing_else(client):
    visit, _ = await _held(client)
    other, _ = await _held(client, 1, "maria@example.org")
    url = f"/api/v1/bookings/{visit['reference']}"
    assert (await client.get(url, headers=bearer(visit["manage_token"]))).status_code == 200
    problem(await client.get(url), 401)
    wrong = problem(await client.get(url, headers=bearer(other["manage_token"])), 404)
    unknown = problem(
        await client.get("/api/v1/bookings/KRK-0000-00", headers=bearer(visit["manage_token"])),
        404,
    )
    assert wrong["detail"] == unknown["detail"]  # a wrong token reveals nothing


async def test_cancel_frees_the_slot_and_raises_the_sequence(client, pool):
    visit, slots = await _held(client)
    free_before = slots[0]["free"]
    response = await client.post(
        f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["sequence"] == 1
    after = {s["start"]: s["free"] for s in await free_slots(client)}
    assert after[slots[0]["start"]] == free_before
    again = await client.post(
        f"/api/v1/bookings/{visit['reference']}/cancel", headers=bearer(visit["manage_token"])
    )
    problem(again, 409)


async def test_reschedule_keeps_the_reference_and_takes_the_new_time_atomically(client, pool):
    visit, slots = await _held(client)
    token = await confirmation_token(pool, visit["reference"])
    await client.post(f"/api/v1/bookings/{visit['reference']}/confirm", json={"token": token})
    target = slots[4]["start"]
    response = await client.post(
        f"/api/v1/bookings/{visit['reference']}/reschedule",
        json={"start": target},
        headers=bearer(visit["manage_token"]),
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["reference"] == visit["reference"]
    assert moved["sequence"] == 1 and moved["status"] == "confirmed"
    assert dt.datetime.fromisoformat(moved["start"]) == dt.datetime.fromisoformat(target)
    rows = await pool.fetch("select kind, sequence from outbox order by id")
    assert ("moved", 1) in [(r["kind"], r["sequence"]) for r in rows]
    active = await pool.fetchval(
        "select count(*) from bookings where status in ('held', 'confirmed')"
    )
    assert active == 1


async def test_a_time_taken_on_every_desk_is_409(client):
    slots = await free_slots(client, language="pjm")  # one desk speaks Polish sign language
    start = slots[0]["start"]
    assert slots[0]["free"] == 1
    first = await book(client, start, "a@example.org", language="pjm")
    assert first.status_code == 201, first.text
    body = problem(await book(client, start, "b@example.org", language="pjm"), 409)
    assert "taken" in body["detail"]


async def test_the_same_idempotency_key_replays_the_first_answer(client, pool):
    slots = await free_slots(client)
    key = str(uuid.uuid4())
    first = await book(client, slots[0]["start"], "olena@example.org", key=key)
    second = await book(client, slots[0]["start"], "olena@example.org", key=key)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_the_same_idempotency_key_with_another_body_is_422(client, pool):
    slots = await free_slots(client)
    key = str(uuid.uuid4())
    await book(client, slots[0]["start"], "olena@example.org", key=key)
    body = problem(await book(client, slots[1]["start"], "olena@example.org", key=key), 422)
    assert "different request" in body["detail"]
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_a_booking_without_an_idempotency_key_is_refused(client):
    slots = await free_slots(client)
    response = await client.post(
        "/api/v1/bookings", json=booking_body(slots[0]["start"], "olena@example.org")
    )
    assert "Idempotency-Key" in problem(response, 422)["detail"]


async def test_one_mailbox_holds_one_active_visit_per_point(client):
    await _held(client, 0, "Jan.Kowalski@gmail.com")
    slots = await free_slots(client)
    response = await book(client, slots[5]["start"], "jankowalski+again@gmail.com")
    body = problem(response, 409)
    assert body["type"] == "/problems/per-person-limit"


def _next(weekday: int, at: dt.time) -> dt.datetime:
    """The next local `weekday` at least 3 days ahead, at the wall time `at`."""
    day = dt.date.today() + dt.timedelta(days=3)
    while day.weekday() != weekday or day in (dt.date(2026, 12, 24), dt.date(2026, 12, 25)):
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, at, WARSAW)


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        (lambda: _next(2, dt.time(9, 10)).isoformat(), "every 30 minutes"),
        (lambda: _next(2, dt.time(20, 0)).isoformat(), "outside the opening hours"),
        (lambda: _next(6, dt.time(10, 0)).isoformat(), "closed"),
        (lambda: "2020-03-03T10:00:00+01:00", "in the past"),
        (
            lambda: (dt.datetime.now(dt.UTC) + dt.timedelta(days=120)).isoformat(),
            "too far ahead",
        ),
        (lambda: "2027-03-28T02:30:00", "does not exist in Europe/Warsaw"),
        (lambda: "2027-03-28T02:30:00+01:00", "does not exist in Europe/Warsaw"),
        (lambda: "next tuesday at ten", "not a date and time"),
    ],
)
async def test_an_unbookable_start_is_422_saying_why(client, pool, start, fragment):
    body = problem(await book(client, start(), "olena@example.org"), 422)
    assert fragment in body["detail"]
    assert await pool.fetchval("select count(*) from bookings") == 0


async def test_a_start_inside_the_minimum_notice_is_too_soon(client):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    response = await book(client, soon.isoformat(), "olena@example.org")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "too soon" in detail or "outside" in detail or "closed" in detail or "every" in detail


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"language": "de"}, 422, "Unknown language"),
        ({"point": "atlantis"}, 422, "atlantis"),
        ({"service": "astrology"}, 422, "astrology"),
        ({"name": ""}, 400, "name"),
    ],
)
async def test_bad_booking_fields_are_refused_with_what_is_wrong(client, change, status, fragment):
    slots = await free_slots(client)
    response = await book(client, slots[0]["start"], "olena@example.org", **change)
    assert fragment in problem(response, status)["detail"]


async def test_an_invalid_e_mail_is_422(client):
    slots = await free_slots(client)
    response = await book(client, slots[0]["start"], "not-an-email")
    assert "e-mail" in problem(response, 422)["detail"]


async def test_an_oversize_body_is_413_and_stores_nothing(client, pool):
    slots = await free_slots(client)
    body = booking_body(slots[0]["start"], "olena@example.org", notes="x" * 70_000)
    response = await client.post(
        "/api/v1/bookings", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    problem(response, 413)
    assert await pool.fetchval("select count(*) from bookings") == 0


async def test_malformed_json_is_400_not_500(client):
    response = await client.post(
        "/api/v1/bookings",
        content=b"{not json",
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    problem(response, 400)


async def test_an_expired_hold_frees_its_desk_even_with_no_worker(client, pool):
    visit, slots = await _held(client, 0)
    await pool.execute(
        "update bookings set hold_expires_at = now() - interval '1 minute' where reference = $1",
        visit["reference"],
    )
    shown = await client.get(
        f"/api/v1/bookings/{visit['reference']}", headers=bearer(visit["manage_token"])
    )
    assert shown.json()["status"] == "expired"
    token = await confirmation_token(pool, visit["reference"])
    late = await client.post(
        f"/api/v1/bookings/{visit['reference']}/confirm", json={"token": token}
    )
    problem(late, 410)
    # Everyone else takes the slot's other desks, so the last booking needs the expired one.
    for n in range(slots[0]["free"] - 1):
        other = await book(client, slots[0]["start"], f"visitor{n}@example.org")
        assert other.status_code == 201, other.text
    again = await book(client, slots[0]["start"], "someone.else@example.org")
    assert again.status_code == 201, again.text
    assert again.json()["desk_id"] == visit["desk_id"]
    assert (
        await pool.fetchval("select status from bookings where reference = $1", visit["reference"])
        == "expired"
    )
    told = await pool.fetchval(
        "select count(*) from outbox o join bookings b on b.id = o.booking_id "
        "where b.reference = $1 and o.kind = 'hold_expired'",
        visit["reference"],
    )
    assert told == 1


async def test_purge_removes_personal_data_of_old_visits_and_keeps_statistics(client, pool):
    from booking.retention import purge_personal_data

    visit, _ = await _held(client)
    await pool.execute(
        """
        update bookings set status = 'completed', starts_at = now() - interval '40 days',
               ends_at = now() - interval '40 days' + interval '30 minutes'
        where reference = $1
        """,
        visit["reference"],
    )
    async with pool.acquire() as conn:
        assert await purge_personal_data(conn, 30) == 1
        assert await purge_personal_data(conn, 30) == 0
    row = await pool.fetchrow("select * from bookings where reference = $1", visit["reference"])
    assert row["visitor_name"] is None and row["visitor_email"] is None
    assert row["notes"] is None and row["purged_at"] is not None
    assert row["point_id"] == BASZTOWA and row["language"] == "uk"


async def test_a_hold_is_personal_moving_it_keeps_the_name_and_e_mail(client, pool):
    visit, slots = await _held(client)
    handed_over = await client.post(
        f"/api/v1/bookings/{visit['reference']}/reschedule",
        json={"start": slots[2]["start"], "visitor": {"name": "Reseller", "email": "r@x.org"}},
        headers=bearer(visit["manage_token"]),
    )
    assert handed_over.status_code == 400  # no field may change who the visit is for
    moved = await client.post(
        f"/api/v1/bookings/{visit['reference']}/reschedule",
        json={"start": slots[2]["start"]},
        headers=bearer(visit["manage_token"]),
    )
    assert moved.status_code == 200
    assert moved.json()["visitor"] == visit["visitor"]
    row = await pool.fetchrow(
        "select visitor_name, visitor_email from bookings where reference = $1",
        visit["reference"],
    )
    assert (row["visitor_name"], row["visitor_email"]) == ("Олена Коваленко", "olena@example.org")


async def test_expiring_overdue_holds_skips_those_another_transaction_is_expiring(client, pool):
    """Every booking at a point first expires the point's overdue holds. Two transactions doing
    that at once used to queue behind each other's row locks (with many overdue holds, every
    booking of a busy point waited: 503s in the soak); now the second skips the rows the first
    holds and goes on at once, and each hold is expired, and told, exactly once."""
    import asyncio

    from booking.holds import expire_overdue

    visits = [(await _held(client, n, f"v{n}@example.org"))[0] for n in range(3)]
    await pool.execute(
        "update bookings set hold_expires_at = now() - interval '1 minute' "
        "where reference = any($1::text[])",
        [v["reference"] for v in visits],
    )
    async with pool.acquire() as first, pool.acquire() as second, first.transaction():
        expired_first = await expire_overdue(first, dt.timedelta(minutes=30), BASZTOWA)
        async with second.transaction():
            expired_second = await asyncio.wait_for(
                expire_overdue(second, dt.timedelta(minutes=30), BASZTOWA), 5
            )
    assert len(expired_first) == 3  # an outbox row each
    assert expired_second == []
    assert await pool.fetchval("select count(*) from bookings where status = 'expired'") == 3
    told = await pool.fetch(
        "select b.reference, o.sequence = b.sequence as current from outbox o "
        "join bookings b on b.id = o.booking_id where o.kind = 'hold_expired'"
    )
    assert sorted(r["reference"] for r in told) == sorted(v["reference"] for v in visits)
    assert all(r["current"] for r in told)
