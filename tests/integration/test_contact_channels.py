"""How a visitor is told: e-mail, SMS or both, chosen when booking (API and page) and on the
manage page; the phone checked as a mobile and kept in E.164; and the reminder's "I can't come"
link, which only asks on GET (mail scanners follow links) and cancels on POST."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from core.jobs import enqueue_outbox
from tests.booking_helpers import bearer, book, confirmation_token, free_slots
from tests.factories import insert_outbox, run_worker
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")


async def written(pool) -> int:
    return await pool.fetchval("select count(*) from bookings")


async def test_a_booking_asking_for_sms_keeps_the_phone_in_e164(client, pool):
    slot = (await free_slots(client))[0]
    held = await book(
        client,
        slot["start"],
        "olena@example.org",
        visitor={"name": "Олена", "email": "olena@example.org", "phone": "600 100 200"},
        notify_by=["email", "sms"],
    )
    assert held.status_code == 201, held.text
    assert held.json()["visitor"]["phone"] == "+48600100200"
    assert held.json()["notify_by"] == ["email", "sms"]
    row = await pool.fetchrow("select visitor_phone, notify_by from bookings")
    assert (row["visitor_phone"], row["notify_by"]) == ("+48600100200", ["email", "sms"])


@pytest.mark.parametrize(
    ("phone", "notify_by", "code"),
    [
        ("+48 12 345 67 89", ["sms"], "phone_not_mobile"),  # a Kraków landline
        ("+48 12 345 67 89", ["email"], "phone_not_mobile"),
        ("600 100 20", ["email", "sms"], "phone_invalid"),
        (None, ["sms"], "sms_needs_phone"),
    ],
)
async def test_a_phone_no_sms_reaches_is_refused_and_nothing_is_written(
    client, pool, phone, notify_by, code
):
    slot = (await free_slots(client))[0]
    visitor = {"name": "Олена", "email": "olena@example.org"} | ({"phone": phone} if phone else {})
    refused = await book(
        client, slot["start"], "olena@example.org", visitor=visitor, notify_by=notify_by
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == code
    assert refused.json()["field"] == "visitor.phone"
    assert await written(pool) == 0


async def test_the_booking_page_says_a_landline_cannot_get_sms_next_to_the_phone_field(
    client, pool
):
    slot = (await free_slots(client))[0]
    start = slot["start"]
    page = await client.get(
        "/points/krakow-basztowa-22/book",
        params={
            "service": "everyday-matters",
            "language": "uk",
            "start": start,
            "day": start[:10],
            "lang": "uk",
        },
    )
    assert page.status_code == 200
    assert 'name="notify_by"' in page.text
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "service": "everyday-matters",
        "language": "uk",
        "start": start,
        "key": "key-1",
        "name": "Олена",
        "email": "olena@example.org",
        "phone": "12 345 67 89",
        "notify_by": "sms",
    }
    refused = await client.post("/points/krakow-basztowa-22/book?lang=uk", data=form)
    assert refused.status_code == 422
    assert 'id="phone-error"' in refused.text
    assert "не номер мобільного телефону" in refused.text
    assert await written(pool) == 0


async def test_the_manage_page_changes_how_the_visitor_is_told(client, pool):
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], "olena@example.org")
    reference, token = held.json()["reference"], held.json()["manage_token"]
    page = await client.get(f"/bookings/{reference}/manage", params={"token": token, "lang": "en"})
    assert "Messages about this visit" in page.text
    form = {"csrf_token": client.cookies.get(CSRF_COOKIE), "token": token}

    landline = await client.post(
        f"/bookings/{reference}/contact?lang=en",
        data=form | {"notify_by": "sms", "phone": "+48 12 345 67 89"},
    )
    assert landline.status_code == 422
    assert "This is not a mobile phone number" in landline.text
    assert await pool.fetchval("select notify_by from bookings") == ["email"]

    saved = await client.post(
        f"/bookings/{reference}/contact",
        data=form | {"notify_by": "sms", "phone": "+380 67 123 4567"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "done=contact" in saved.headers["location"]
    row = await pool.fetchrow("select visitor_phone, notify_by from bookings")
    assert (row["visitor_phone"], row["notify_by"]) == ("+380671234567", ["sms"])
    visit = await client.get(f"/api/v1/bookings/{reference}", headers=bearer(token))
    assert visit.json()["notify_by"] == ["sms"]


async def test_a_reminders_i_cant_come_link_asks_first_and_cancels_only_when_told(
    client, pool, redis, smtp_settings, catcher
):
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], "olena@example.org")
    reference = held.json()["reference"]
    confirm = await client.post(
        f"/api/v1/bookings/{reference}/confirm",
        json={"token": await confirmation_token(pool, reference)},
    )
    assert confirm.status_code == 200
    booking_id = await pool.fetchval("select id from bookings where reference = $1", reference)
    now = await pool.fetchval("select now()")
    async with pool.acquire() as conn:
        await conn.execute("update outbox set sent_at = now() where booking_id = $1", booking_id)
        row_id = await insert_outbox(
            conn, booking_id, "reminder", payload={"offset": "2h"}, due_at=now - timedelta(1)
        )
    await enqueue_outbox(redis, [row_id])
    await run_worker(smtp_settings)

    [reminder] = [m for m in catcher.messages if "Нагадування" in str(m["Subject"])]
    body = reminder.get_body(("plain",)).get_content()
    [link] = [w for w in body.split() if "/cancel?token=" in w]
    parts = urlsplit(link)
    assert parts.path == f"/bookings/{reference}/cancel"

    page = await client.get(f"{parts.path}?{parts.query}")  # what a mail scanner does
    assert page.status_code == 200
    assert await pool.fetchval("select status from bookings") == "confirmed"

    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "token": parts.query.removeprefix("token="),
    }
    cancelled = await client.post(parts.path, data=form, follow_redirects=False)
    assert cancelled.status_code == 303
    assert await pool.fetchval("select status from bookings") == "cancelled"


async def test_a_points_own_reminder_offsets_are_used_when_a_visit_is_confirmed(client, pool):
    from booking.reminders import set_point_offsets

    async with pool.acquire() as conn:
        said = await set_point_offsets(conn, "krakow-basztowa-22", "30m")
        with pytest.raises(ValueError):
            await set_point_offsets(conn, "krakow-basztowa-22", "10d")
        with pytest.raises(LookupError):
            await set_point_offsets(conn, "no-such-point", "2h")
    assert said == "krakow-basztowa-22: reminders 30m before each visit"
    slot = (await free_slots(client))[-1]
    held = await book(client, slot["start"], "olena@example.org")
    reference = held.json()["reference"]
    confirm = await client.post(
        f"/api/v1/bookings/{reference}/confirm",
        json={"token": await confirmation_token(pool, reference)},
    )
    assert confirm.status_code == 200
    reminders = await pool.fetch(
        "select o.due_at, b.starts_at, o.payload->>'offset' as offset from outbox o "
        "join bookings b on b.id = o.booking_id where o.kind = 'reminder'"
    )
    assert [r["offset"] for r in reminders] == ["30m"]
    assert reminders[0]["starts_at"] - reminders[0]["due_at"] == timedelta(minutes=30)


async def test_the_api_changes_how_the_visitor_is_told_with_the_manage_token(client, pool):
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], "olena@example.org")
    reference, token = held.json()["reference"], held.json()["manage_token"]
    url = f"/api/v1/bookings/{reference}/contact"

    no_phone = await client.post(url, json={"notify_by": ["sms"]}, headers=bearer(token))
    assert no_phone.status_code == 422 and no_phone.json()["code"] == "sms_needs_phone"
    stranger = await client.post(url, json={"notify_by": ["email"]}, headers=bearer("x" * 43))
    assert stranger.status_code == 404
    both = await client.post(
        url, json={"notify_by": ["sms", "email"], "phone": "+48 600 100 200"}, headers=bearer(token)
    )
    assert both.status_code == 200, both.text
    assert both.json()["notify_by"] == ["email", "sms"]
    assert both.json()["visitor"]["phone"] == "+48600100200"
