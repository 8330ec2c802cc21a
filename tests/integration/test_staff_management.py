"""Staff keep their points, services and desks up to date; what removes time names its visits."""

from __future__ import annotations

import datetime as dt

import pytest
from arq.constants import job_key_prefix

from core.jobs import outbox_job_id
from staff.changes import visits_outside_hours
from staff.impact import DESK_CLOSED, SERVICE_WITHDRAWN
from tests.booking_helpers import book, confirmation_token, free_slots
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
STAFF = "/api/v1/staff"
POINT = f"{STAFF}/points/{BASZTOWA}"
LABELS = {"pl": "Stanowisko 4", "en": "Desk 4", "uk": "Місце 4", "ru": "Место 4"}


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


@pytest.fixture
async def token(client, accounts):
    return await login(client, accounts.basztowa)


async def _visit(client, pool, email="olena@example.org", *, confirm=False, **kwargs):
    slot = (await free_slots(client, **kwargs))[0]
    language = kwargs.get("language", "uk")
    response = await book(client, slot["start"], email, language=language)
    assert response.status_code == 201, response.text
    visit = response.json()
    if confirm:
        secret = await confirmation_token(pool, visit["reference"])
        url = f"/api/v1/bookings/{visit['reference']}/confirm"
        assert (await client.post(url, json={"token": secret})).status_code == 200
    return visit


async def _status(pool, reference):
    return await pool.fetchval("select status from bookings where reference = $1", reference)


async def test_staff_see_only_the_points_they_manage_and_an_admin_sees_all(client, accounts, token):
    mine = await client.get(f"{STAFF}/points", headers=auth(token))
    assert [p["id"] for p in mine.json()] == [BASZTOWA]
    admin = await login(client, accounts.admin)
    every = await client.get(f"{STAFF}/points", headers=auth(admin))
    assert len(every.json()) == 6


async def test_staff_change_their_points_contacts_and_the_audit_keeps_before_and_after(
    client, token, pool
):
    response = await client.patch(
        POINT,
        json={"phones": ["+48 12 426 90 02"], "observes_holidays": True},  # unchanged: allowed
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["phones"] == ["+48 12 426 90 02"]
    public = await client.get(f"/api/v1/points/{BASZTOWA}")
    assert public.json()["phones"] == ["+48 12 426 90 02"]
    entry = await pool.fetchrow("select * from audit_log")
    assert (entry["action"], entry["entity"], entry["staff_email"]) == (
        "update",
        "point",
        "basztowa@wizyta.test",
    )
    assert entry["before"]["phones"] == ["+48 12 426 90 01"]
    assert entry["after"]["phones"] == ["+48 12 426 90 02"]


async def test_an_admin_creates_a_point_once_and_the_same_id_again_is_409(client, accounts, pool):
    admin = await login(client, accounts.admin)
    body = {
        "id": "wieliczka-testowa-1",
        "names": {"pl": "PID Wieliczka", "en": "PID Wieliczka", "uk": "ПІД", "ru": "ПИД"},
        "department": {"pl": "Wydział", "en": "Department", "uk": "Відділ", "ru": "Отдел"},
        "address": {"street": "ul. Testowa 1", "postal_code": "32-020", "city": "Wieliczka"},
        "city": "Wieliczka",
        "languages": ["pl", "uk"],
    }
    created = await client.post(f"{STAFF}/points", json=body, headers=auth(admin))
    assert created.status_code == 201, created.text
    assert (await client.get("/api/v1/points/wieliczka-testowa-1")).status_code == 200
    again = await client.post(f"{STAFF}/points", json=body, headers=auth(admin))
    assert again.status_code == 409
    unknown_language = body | {"id": "wieliczka-testowa-2", "languages": ["pl", "de"]}
    refused = await client.post(f"{STAFF}/points", json=unknown_language, headers=auth(admin))
    assert refused.status_code == 400
    assert await pool.fetchval("select count(*) from points where id like 'wieliczka%'") == 1


async def test_offering_a_catalogue_service_is_201_and_an_unknown_service_is_404(client, token):
    offer = {"duration_minutes": 60, "step_minutes": 60, "languages": ["pl", "uk"]}
    new = await client.put(f"{POINT}/services/legal-advice", json=offer, headers=auth(token))
    assert new.status_code == 201, new.text
    assert new.json()["result"]["horizon_days"] == 60
    public = await client.get(f"/api/v1/points/{BASZTOWA}/services")
    assert "legal-advice" in [s["id"] for s in public.json()]
    unknown = await client.put(f"{POINT}/services/astrology", json=offer, headers=auth(token))
    assert unknown.status_code == 404


async def test_withdrawing_a_service_lists_its_visits_and_keeps_them_unless_asked(
    client, token, pool
):
    visit = await _visit(client, pool)
    url = f"{POINT}/services/everyday-matters"
    response = await client.delete(url, headers=auth(token))
    assert response.status_code == 200, response.text
    assert [v["reference"] for v in response.json()["affected_visits"]] == [visit["reference"]]
    assert response.json()["cancelled"] == 0
    assert await _status(pool, visit["reference"]) == "held"
    public = await client.get(f"/api/v1/points/{BASZTOWA}/services")
    assert "everyday-matters" not in [s["id"] for s in public.json()]
    listed = await client.get(f"{POINT}/services", headers=auth(token))
    assert {s["service_id"]: s["active"] for s in listed.json()}["everyday-matters"] is False


async def test_dropping_a_language_from_a_service_cancels_its_visits_with_notice_when_asked(
    client, token, pool
):
    ukrainian = await _visit(client, pool, "olena@example.org", confirm=True)
    english = await _visit(client, pool, "john@example.org", language="en")
    offer = {"duration_minutes": 30, "step_minutes": 30, "languages": ["pl", "en", "ru"]}
    url = f"{POINT}/services/everyday-matters"
    preview = await client.put(url, params={"dry_run": "true"}, json=offer, headers=auth(token))
    assert [v["reference"] for v in preview.json()["affected_visits"]] == [ukrainian["reference"]]
    assert await pool.fetchval("select count(*) from audit_log") == 0
    done = await client.put(
        url, params={"cancel_affected": "true"}, json=offer, headers=auth(token)
    )
    assert done.status_code == 200 and done.json()["cancelled"] == 1
    assert await _status(pool, ukrainian["reference"]) == "cancelled"
    assert await _status(pool, english["reference"]) == "held"
    notice = await pool.fetchrow("select payload from outbox where kind = 'cancelled_by_office'")
    assert notice["payload"]["reason"] == SERVICE_WITHDRAWN


async def test_deactivating_a_desk_with_a_visit_needs_the_choice_and_kept_lists_the_visit(
    client, token, pool
):
    visit = await _visit(client, pool)
    desk_url = f"{POINT}/desks/{visit['desk_id']}"
    unchosen = await client.patch(desk_url, json={"active": False}, headers=auth(token))
    assert unchosen.status_code == 409, unchosen.text
    assert unchosen.json()["code"] == "affected_visits_need_a_choice"
    assert [v["reference"] for v in unchosen.json()["visits"]] == [visit["reference"]]
    assert await pool.fetchval("select active from desks where id = $1", visit["desk_id"])
    response = await client.patch(
        desk_url, params={"cancel_affected": "false"}, json={"active": False}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["active"] is False
    assert [v["reference"] for v in response.json()["affected_visits"]] == [visit["reference"]]
    # The hours check alone finds it too: an inactive desk has no schedule, so it is closed.
    async with pool.acquire() as conn:
        outside = await visits_outside_hours(conn, BASZTOWA)
    assert [v.reference for v in outside] == [visit["reference"]]
    assert await _status(pool, visit["reference"]) == "held"


async def test_retiring_a_desk_when_asked_cancels_its_visits_with_notice(
    client, token, pool, redis
):
    visit = await _visit(client, pool, confirm=True)
    response = await client.delete(
        f"{POINT}/desks/{visit['desk_id']}",
        params={"cancel_affected": "true"},
        headers=auth(token),
    )
    assert response.status_code == 200 and response.json()["cancelled"] == 1
    row = await pool.fetchrow(
        "select status, cancelled_by from bookings where reference = $1", visit["reference"]
    )
    assert (row["status"], row["cancelled_by"]) == ("cancelled", "office")
    notice = await pool.fetchrow(
        "select id, payload from outbox where kind = 'cancelled_by_office'"
    )
    assert notice["payload"]["reason"] == DESK_CLOSED
    assert await redis.exists(job_key_prefix + outbox_job_id(notice["id"]))
    desks = await client.get(f"{POINT}/desks", headers=auth(token))
    assert {d["id"]: d["active"] for d in desks.json()}[visit["desk_id"]] is False


async def test_a_new_desk_adds_a_free_place_to_every_slot(client, token, pool):
    before = max(slot["free"] for slot in await free_slots(client))
    response = await client.post(
        f"{POINT}/desks", json={"names": LABELS, "languages": ["pl", "uk"]}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    assert response.json()["result"]["id"] == f"{BASZTOWA}-desk-4"
    assert max(slot["free"] for slot in await free_slots(client)) == before + 1


async def test_removing_a_language_from_a_desk_lists_its_visits_in_that_language(
    client, token, pool
):
    visit = await _visit(client, pool)
    response = await client.patch(
        f"{POINT}/desks/{visit['desk_id']}",
        params={"dry_run": "true"},
        json={"languages": ["pl", "en"]},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    assert [v["reference"] for v in response.json()["affected_visits"]] == [visit["reference"]]
    assert response.json()["dry_run"] is True
    languages = await pool.fetchval("select languages from desks where id = $1", visit["desk_id"])
    assert "uk" in languages


async def test_a_closure_lists_a_confirmed_visit_and_when_asked_cancels_and_notifies_it(
    client, token, pool, redis
):
    visit = await _visit(client, pool, confirm=True)
    day = dt.datetime.fromisoformat(visit["start"]).date()
    special = f"{POINT}/special-days"
    listed = await client.post(
        special,
        params={"dry_run": "true"},
        json={"date": str(day), "kind": "closed"},
        headers=auth(token),
    )
    assert [v["reference"] for v in listed.json()["affected_visits"]] == [visit["reference"]]
    assert listed.json()["affected_visits"][0]["status"] == "confirmed"
    closed = await client.post(
        special,
        params={"cancel_affected": "true"},
        json={"date": str(day), "kind": "closed"},
        headers=auth(token),
    )
    assert closed.status_code == 201 and closed.json()["cancelled"] == 1
    assert await _status(pool, visit["reference"]) == "cancelled"
    notice = await pool.fetchrow(
        """
        select o.id, o.sequence from outbox o join bookings b on b.id = o.booking_id
        where b.reference = $1 and o.kind = 'cancelled_by_office'
        """,
        visit["reference"],
    )
    assert notice["sequence"] == 1
    assert await redis.exists(job_key_prefix + outbox_job_id(notice["id"]))


async def test_the_audit_log_lists_changes_newest_first_and_by_point(client, accounts, token):
    await client.patch(POINT, json={"emails": ["pid@example.org"]}, headers=auth(token))
    await client.post(
        f"{POINT}/desks", json={"names": LABELS, "languages": ["pl"]}, headers=auth(token)
    )
    admin = await login(client, accounts.admin)
    await client.patch(
        f"{STAFF}/points/krakow-przy-rondzie-6",
        json={"emails": ["x@example.org"]},
        headers=auth(admin),
    )
    log = await client.get(f"{STAFF}/audit", params={"point_id": BASZTOWA}, headers=auth(admin))
    assert log.status_code == 200
    assert [(e["entity"], e["action"]) for e in log.json()] == [
        ("desk", "create"),
        ("point", "update"),
    ]
    assert log.json()[1]["after"]["emails"] == ["pid@example.org"]
    everything = await client.get(f"{STAFF}/audit", params={"limit": 1}, headers=auth(admin))
    assert [e["point_id"] for e in everything.json()] == ["krakow-przy-rondzie-6"]
