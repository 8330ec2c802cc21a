"""Staff change opening hours: rules are validated, visits hit are listed, cancelled on request."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.booking_helpers import book, free_slots
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
RULES = f"/api/v1/staff/points/{BASZTOWA}/rules"
SPECIAL = f"/api/v1/staff/points/{BASZTOWA}/special-days"


@pytest.fixture
async def token(client, seeded):
    accounts = await make_accounts(seeded)
    return await login(client, accounts.basztowa)


def _next_saturday() -> dt.date:
    day = dt.date.today() + dt.timedelta(days=2)
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    return day


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        (
            {"kind": "hours", "rrule": "FREQ=WEEKLY;BYDAY=XX", "opens": "08:00", "closes": "12:00"},
            "recurrence rule",
        ),
        ({"kind": "hours", "rrule": "FREQ=HOURLY", "opens": "08:00", "closes": "12:00"}, ""),
        (
            {"kind": "hours", "rrule": "FREQ=WEEKLY;BYDAY=MO", "opens": "12:00", "closes": "08:00"},
            "",
        ),
        (
            {
                "kind": "hours",
                "rrule": "FREQ=WEEKLY;BYDAY=SA",
                "opens": "08:00",
                "closes": "12:00",
                "valid_from": "2027-01-04",
                "valid_until": "2027-01-08",
            },
            "occur",
        ),
        ({"kind": "special", "dates": ["2027-01-09"]}, ""),
    ],
    ids=["malformed", "hourly", "backwards", "no-occurrence", "special-without-times"],
)
async def test_a_bad_rule_is_422_with_the_reason_and_nothing_is_saved(
    client, token, pool, rule, fragment
):
    before = await pool.fetchval("select count(*) from calendar_rules")
    response = await client.post(RULES, json=rule, headers=auth(token))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment.lower() in response.json()["detail"].lower()
    assert await pool.fetchval("select count(*) from calendar_rules") == before


async def test_an_open_saturday_added_by_staff_makes_slots_appear(client, token, pool):
    saturday = _next_saturday()
    params = {
        "service": "everyday-matters",
        "language": "uk",
        "from": str(saturday),
        "to": str(saturday),
    }
    before = (await client.get(f"/api/v1/points/{BASZTOWA}/availability", params=params)).json()
    assert before["days"][0]["slots"] == []
    response = await client.post(
        SPECIAL,
        json={
            "date": str(saturday),
            "kind": "open",
            "opens": "09:00",
            "closes": "13:00",
            "label": {
                "pl": "Sobota otwarta",
                "en": "Open Saturday",
                "uk": "Відкрита субота",
                "ru": "Открытая суббота",
            },
        },
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    assert response.json()["affected_visits"] == []
    after = (await client.get(f"/api/v1/points/{BASZTOWA}/availability", params=params)).json()
    slots = after["days"][0]["slots"]
    assert len(slots) == 8  # 09:00 .. 12:30 every 30 minutes
    assert slots[0]["start"].startswith(f"{saturday}T09:00")
    audit = await pool.fetchrow("select action, entity, staff_email from audit_log")
    assert (audit["action"], audit["entity"]) == ("create", "rule")


async def _booked_visit(client, pool):
    slots = await free_slots(client)
    visit = (await book(client, slots[0]["start"], "olena@example.org")).json()
    day = dt.datetime.fromisoformat(visit["start"]).astimezone(dt.UTC).date()
    return visit, day


async def test_a_closure_lists_the_visits_it_hits_and_keeps_them_when_told(client, token, pool):
    visit, day = await _booked_visit(client, pool)
    preview = await client.post(
        SPECIAL,
        params={"dry_run": "true"},
        json={"date": str(day), "kind": "closed"},
        headers=auth(token),
    )
    assert preview.status_code == 201
    assert [v["reference"] for v in preview.json()["affected_visits"]] == [visit["reference"]]
    assert preview.json()["dry_run"] is True
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 0

    kept = await client.post(
        SPECIAL,
        params={"cancel_affected": "false"},
        json={"date": str(day), "kind": "closed"},
        headers=auth(token),
    )
    assert kept.json()["cancelled"] == 0 and kept.json()["kept"] == 1
    assert (
        await pool.fetchval("select status from bookings where reference = $1", visit["reference"])
        == "held"
    )


async def test_a_closure_asked_to_cancel_cancels_and_notifies_each_visit(client, token, pool):
    visit, day = await _booked_visit(client, pool)
    response = await client.post(
        SPECIAL,
        params={"cancel_affected": "true"},
        json={
            "date": str(day),
            "kind": "closed",
            "label": {"pl": "Awaria", "en": "Power cut", "uk": "Аварія", "ru": "Авария"},
        },
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    assert response.json()["cancelled"] == 1
    row = await pool.fetchrow(
        "select status, cancelled_by, sequence from bookings where reference = $1",
        visit["reference"],
    )
    assert (row["status"], row["cancelled_by"], row["sequence"]) == ("cancelled", "office", 1)
    outbox = await pool.fetchrow(
        "select payload, sequence from outbox where kind = 'cancelled_by_office'"
    )
    assert outbox["payload"]["reason"]["en"] == "Power cut" and outbox["sequence"] == 1


async def test_a_rule_can_be_changed_and_deleted_with_an_audit_trail(client, token, pool):
    created = await client.post(
        RULES,
        json={
            "kind": "closed",
            "rrule": "FREQ=WEEKLY;BYDAY=WE",
            "opens": "12:00",
            "closes": "12:30",
            "labels": {"pl": "Przerwa", "en": "Break", "uk": "Перерва", "ru": "Перерыв"},
        },
        headers=auth(token),
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["result"]["id"]
    changed = await client.patch(
        f"{RULES}/{rule_id}", json={"closes": "13:00"}, headers=auth(token)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["result"]["closes"] == "13:00"
    deleted = await client.delete(f"{RULES}/{rule_id}", headers=auth(token))
    assert deleted.status_code == 200
    actions = [r["action"] for r in await pool.fetch("select action from audit_log order by id")]
    assert actions == ["create", "update", "delete"]
    before_after = await pool.fetchrow(
        "select before, after from audit_log where action = 'update'"
    )
    assert (
        before_after["before"]["closes"] == "12:30" and before_after["after"]["closes"] == "13:00"
    )


async def test_another_points_staff_get_403_and_change_nothing(client, seeded, pool):
    accounts = await make_accounts(seeded)
    other = await login(client, accounts.rondo)
    response = await client.post(
        SPECIAL, json={"date": str(_next_saturday()), "kind": "closed"}, headers=auth(other)
    )
    assert response.status_code == 403
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 0
    assert (await client.get(RULES)).status_code == 401
