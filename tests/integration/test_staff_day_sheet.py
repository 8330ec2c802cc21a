"""Staff work through the day: the day sheet, check-in, no-show and complete."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest

from tests.booking_helpers import book, confirmation_token, free_slots
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
SHEET = f"/api/v1/staff/points/{BASZTOWA}/visits"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


@pytest.fixture
async def token(client, accounts):
    return await login(client, accounts.basztowa)


async def _visit(client, pool, slot, email, *, confirm=False, **kwargs):
    response = await book(client, slot["start"], email, **kwargs)
    assert response.status_code == 201, response.text
    visit = response.json()
    if confirm:
        secret = await confirmation_token(pool, visit["reference"])
        url = f"/api/v1/bookings/{visit['reference']}/confirm"
        assert (await client.post(url, json={"token": secret})).status_code == 200
    return visit


async def _due(pool, reference, *, minutes_ago=10, status=None):
    """Move a real visit to have started `minutes_ago` (the API books 2 hours ahead at best)."""
    await pool.execute(
        """
        update bookings set starts_at = date_trunc('minute', now()) - $2::interval,
               ends_at = date_trunc('minute', now()) - $2::interval + interval '30 minutes',
               status = coalesce($3, status)
        where reference = $1
        """,
        reference,
        dt.timedelta(minutes=minutes_ago),
        status,
    )


def _move(reference, event):
    return f"/api/v1/staff/bookings/{reference}/{event}"


async def test_the_day_sheet_lists_the_days_visits_by_time_with_whom_and_where(client, token, pool):
    slots = await free_slots(client)
    early, late = next(
        (a, b) for a, b in itertools.pairwise(slots) if a["start"][:10] == b["start"][:10]
    )
    day = early["start"][:10]
    second = await _visit(
        client,
        pool,
        late,
        "john@example.org",
        name="John Smith",
        language="en",
        needs=["wheelchair access"],
    )
    first = await _visit(client, pool, early, "olena@example.org", confirm=True)
    response = await client.get(SHEET, params={"date": day}, headers=auth(token))
    assert response.status_code == 200, response.text
    sheet = response.json()
    assert (sheet["date"], sheet["timezone"]) == (day, "Europe/Warsaw")
    assert [v["reference"] for v in sheet["visits"]] == [first["reference"], second["reference"]]
    top = sheet["visits"][0]
    start = dt.datetime.fromisoformat(top["start"])
    assert start.utcoffset() == start.astimezone(WARSAW).utcoffset()
    assert top["time"] == start.astimezone(WARSAW).strftime("%H:%M") == early["start"][11:16]
    assert top["status"] == "confirmed" and top["language"] == "uk"
    assert top["visitor"] == {
        "name": "Олена Коваленко",
        "email": "olena@example.org",
        "phone": None,
    }
    assert top["service"]["pl"] and top["desk_id"] == first["desk_id"]
    assert sheet["visits"][1]["needs"] == ["wheelchair access"]
    assert sheet["visits"][1]["status"] == "held"


async def test_a_hold_past_its_expiry_shows_as_expired(client, token, pool):
    slot = (await free_slots(client))[0]
    visit = await _visit(client, pool, slot, "olena@example.org")
    await pool.execute(
        "update bookings set hold_expires_at = now() - interval '1 minute' where reference = $1",
        visit["reference"],
    )
    sheet = await client.get(SHEET, params={"date": slot["start"][:10]}, headers=auth(token))
    assert [v["status"] for v in sheet.json()["visits"]] == ["expired"]


async def test_the_day_sheet_is_for_today_in_the_points_zone_by_default(client, token, pool):
    visit = await _visit(client, pool, (await free_slots(client))[0], "o@example.org")
    await _due(pool, visit["reference"])
    sheet = (await client.get(SHEET, headers=auth(token))).json()
    assert sheet["date"] == str(dt.datetime.now(WARSAW).date())
    assert [v["reference"] for v in sheet["visits"]] == [visit["reference"]]


async def test_a_confirmed_visit_is_checked_in_then_completed_and_each_move_is_audited(
    client, token, pool
):
    visit = await _visit(client, pool, (await free_slots(client))[0], "o@example.org", confirm=True)
    reference = visit["reference"]
    await _due(pool, reference)
    checked_in = await client.post(_move(reference, "check-in"), headers=auth(token))
    assert checked_in.status_code == 200, checked_in.text
    assert checked_in.json()["status"] == "checked_in"
    completed = await client.post(_move(reference, "complete"), headers=auth(token))
    assert completed.status_code == 200 and completed.json()["status"] == "completed"
    log = await pool.fetch("select action, entity_id, before, after from audit_log order by id")
    assert [(e["action"], e["entity_id"]) for e in log] == [
        ("check_in", reference),
        ("complete", reference),
    ]
    assert log[0]["before"] == {"status": "confirmed"}
    assert log[0]["after"] == {"status": "checked_in"}


async def test_a_visitor_who_did_not_come_is_marked_a_no_show_once_the_visit_started(
    client, token, pool
):
    visit = await _visit(client, pool, (await free_slots(client))[0], "o@example.org", confirm=True)
    early = await client.post(_move(visit["reference"], "no-show"), headers=auth(token))
    assert early.status_code == 409
    assert "not started" in early.json()["detail"]
    await _due(pool, visit["reference"])
    response = await client.post(_move(visit["reference"], "no-show"), headers=auth(token))
    assert response.status_code == 200 and response.json()["status"] == "no_show"


async def test_a_visit_on_a_later_day_is_not_checked_in_yet(client, token, pool):
    slots = await free_slots(client)
    today = str(dt.datetime.now(WARSAW).date())
    later = next(s for s in slots if s["start"][:10] > today)
    visit = await _visit(client, pool, later, "o@example.org", confirm=True)
    response = await client.post(_move(visit["reference"], "check-in"), headers=auth(token))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await pool.fetchval("select count(*) from audit_log") == 0


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("held", "check-in"),
        ("held", "no-show"),
        ("confirmed", "complete"),
        ("checked_in", "check-in"),
        # ("checked_in", "no-show") is legal: checked in, called, gone (booking/queue.py)
        ("completed", "check-in"),
        ("completed", "no-show"),
        ("completed", "complete"),
        ("no_show", "check-in"),
        ("cancelled", "check-in"),
        ("expired", "check-in"),
    ],
)
async def test_an_illegal_move_is_409_and_changes_nothing(client, token, pool, status, event):
    visit = await _visit(client, pool, (await free_slots(client))[0], "o@example.org")
    await _due(pool, visit["reference"], status=status)
    response = await client.post(_move(visit["reference"], event), headers=auth(token))
    assert response.status_code == 409, response.text
    assert response.json()["visit_status"] == status
    assert (
        await pool.fetchval("select status from bookings where reference = $1", visit["reference"])
        == status
    )
    assert await pool.fetchval("select count(*) from audit_log") == 0


async def test_an_unknown_reference_is_404_and_another_points_visit_is_403(client, accounts, pool):
    visit = await _visit(client, pool, (await free_slots(client))[0], "o@example.org", confirm=True)
    await _due(pool, visit["reference"])
    other = await login(client, accounts.rondo)
    unknown = await client.post(_move("KRK-0000-00", "check-in"), headers=auth(other))
    assert unknown.status_code == 404
    foreign = await client.post(_move(visit["reference"], "check-in"), headers=auth(other))
    assert foreign.status_code == 403
    assert (
        await pool.fetchval("select status from bookings where reference = $1", visit["reference"])
        == "confirmed"
    )
