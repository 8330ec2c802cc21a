"""The staff feed: a point's coming visits for calendar apps, private by default."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest
from icalendar import Calendar

from tests.booking_helpers import bearer, book, booking_body, confirmation_token, free_slots
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
TOKENS = f"/api/v1/staff/points/{BASZTOWA}/feed-tokens"
PUBLIC_URL = "http://wizyta.test"


@pytest.fixture
async def token(client, seeded):
    accounts = await make_accounts(seeded)
    return await login(client, accounts.basztowa)


async def _feed(client, token, **body) -> tuple[str, dict]:
    response = await client.post(TOKENS, json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["url"].startswith(f"{PUBLIC_URL}/calendars/staff/")
    return created["url"].removeprefix(PUBLIC_URL), created


async def _visits(client, pool):
    """A confirmed visit with a phone number and a held one, booked through the public API."""
    slots = await free_slots(client)
    body = booking_body(slots[0]["start"], "olena@example.org")
    body["visitor"]["phone"] = "+48 600 100 200"
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    confirmed = (await client.post("/api/v1/bookings", json=body, headers=headers)).json()
    secret = await confirmation_token(pool, confirmed["reference"])
    await client.post(f"/api/v1/bookings/{confirmed['reference']}/confirm", json={"token": secret})
    held = (await book(client, slots[1]["start"], "ivan@example.org", name="Іван Петренко")).json()
    return confirmed, held


def _events(body: bytes) -> dict[str, object]:
    return {str(e["SUMMARY"]).split(" · ")[0]: e for e in Calendar.from_ical(body).walk("VEVENT")}


def _unfolded(body: bytes) -> str:
    return body.decode().replace("\r\n ", "")


async def test_a_feed_token_is_a_url_shown_once_and_stored_only_as_its_hash(client, token, pool):
    path, created = await _feed(client, token, label="desk 1, Thunderbird")
    secret = path.removeprefix("/calendars/staff/").removesuffix(".ics")
    assert len(secret) >= 43  # 256 bits in URL-safe base64; at least 128 are required
    stored = await pool.fetchrow("select token_hash, show_names from feed_tokens")
    assert bytes(stored["token_hash"]) == hashlib.sha256(secret.encode()).digest()
    assert stored["show_names"] is False
    listed = await client.get(TOKENS, headers=auth(token))
    assert [t["id"] for t in listed.json()] == [created["id"]]
    assert secret not in listed.text and "url" not in listed.json()[0]
    entry = await pool.fetchrow("select action, entity, after from audit_log")
    assert (entry["action"], entry["entity"]) == ("create", "feed_token")
    assert secret not in str(entry["after"])


async def test_the_feed_shows_the_visits_without_names_by_default_and_never_contacts(
    client, token, pool
):
    confirmed, held = await _visits(client, pool)
    path, _ = await _feed(client, token)
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Warsaw"
    assert "REFRESH-INTERVAL" in calendar
    events = _events(response.content)
    assert set(events) == {confirmed["reference"], held["reference"]}
    event = events[confirmed["reference"]]
    booking_id = await pool.fetchval(
        "select id from bookings where reference = $1", confirmed["reference"]
    )
    assert str(event["UID"]) == f"{booking_id}@wizyta"
    assert str(event["SUMMARY"]) == f"{confirmed['reference']} · Sprawy codzienne · uk"
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == dt.datetime.fromisoformat(confirmed["start"])
    assert str(events[held["reference"]]["STATUS"]) == "TENTATIVE"
    text = _unfolded(response.content)
    for private in ("Олена", "Іван", "olena@example.org", "ivan@example.org", "600 100 200"):
        assert private not in text


async def test_a_feed_made_to_show_names_shows_them_but_still_no_e_mail_or_phone(
    client, token, pool
):
    confirmed, held = await _visits(client, pool)
    path, created = await _feed(client, token, show_names=True)
    assert created["show_names"] is True
    response = await client.get(path)
    events = _events(response.content)
    assert str(events[held["reference"]]["SUMMARY"]).endswith(" · uk · Іван Петренко")
    assert str(events[confirmed["reference"]]["SUMMARY"]).endswith(" · Олена Коваленко")
    text = _unfolded(response.content)
    for private in ("olena@example.org", "ivan@example.org", "600 100 200", "@example"):
        assert private not in text


async def test_a_revoked_or_unknown_feed_token_is_404(client, token, pool):
    path, created = await _feed(client, token)
    assert (await client.get(path)).status_code == 200
    revoke = await client.delete(f"{TOKENS}/{created['id']}", headers=auth(token))
    assert revoke.status_code == 204
    gone = await client.get(path)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert (
        await client.delete(f"{TOKENS}/{created['id']}", headers=auth(token))
    ).status_code == 204
    assert await pool.fetchval("select count(*) from audit_log where action = 'revoke'") == 1
    listed = (await client.get(TOKENS, headers=auth(token))).json()
    assert listed[0]["revoked_at"] is not None
    assert (await client.get("/calendars/staff/not-a-token.ics")).status_code == 404
    assert (await client.get(f"/calendars/staff/{'x' * 43}.ics")).status_code == 404


async def test_the_feed_answers_304_to_its_etag_and_changes_when_a_visit_does(client, token, pool):
    confirmed, held = await _visits(client, pool)
    path, _ = await _feed(client, token)
    first = await client.get(path)
    etag = first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    cancel = await client.post(
        f"/api/v1/bookings/{confirmed['reference']}/cancel", headers=bearer(held["manage_token"])
    )
    assert cancel.status_code == 404  # another visit's token cancels nothing
    cancel = await client.post(
        f"/api/v1/bookings/{held['reference']}/cancel", headers=bearer(held["manage_token"])
    )
    assert cancel.status_code == 200, cancel.text
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert set(_events(changed.content)) == {confirmed["reference"]}


async def test_another_points_visits_stay_out_of_the_feed(client, token, pool):
    rondo = "krakow-przy-rondzie-6"
    slot = (await free_slots(client, point=rondo, service="case-status", language="en"))[0]
    response = await book(
        client, slot["start"], "o@example.org", point=rondo, service="case-status", language="en"
    )
    assert response.status_code == 201, response.text
    path, _ = await _feed(client, token)
    assert _events((await client.get(path)).content) == {}
