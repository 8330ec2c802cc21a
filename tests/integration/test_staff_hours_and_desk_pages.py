"""Staff keep weekly hours and desks from the "Hours and desks" tab: what the page saves is what
/availability offers; a change that leaves booked visits outside the hours shows them and waits
for the keep/cancel choice (nothing written before); a bad form says why and writes nothing;
desks are added, changed and retired, and a desk's room reaches the waiting-room screen; only
the point's own staff may change any of it."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest

from booking import queue
from scheduling import store
from tests.booking_helpers import BASZTOWA, book, free_slots
from tests.staff_helpers import PASSWORD, auth, login, make_accounts
from web.display import board_json
from web.security import CSRF_COOKIE, STAFF_CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
PAGE = f"/staff/points/{BASZTOWA}/rules"
DESKS = f"/staff/points/{BASZTOWA}/desks"
API = f"/api/v1/staff/points/{BASZTOWA}"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
DESK_NAMES = {
    "desk_name_pl": "Stanowisko 4",
    "desk_name_en": "Desk 4",
    "desk_name_uk": "Місце 4",
    "desk_name_ru": "Место 4",
}


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


async def log_in(client, accounts, who: str = "basztowa") -> None:
    await client.get("/staff/login?lang=en")
    response = await client.post(
        "/staff/login?lang=en",
        data={
            "email": getattr(accounts, who),
            "password": PASSWORD,
            "csrf_token": client.cookies.get(CSRF_COOKIE),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def form(client, **fields) -> dict:
    return {"csrf_token": client.cookies.get(STAFF_CSRF_COOKIE), **fields}


def next_saturday() -> dt.date:
    day = dt.date.today() + dt.timedelta(days=2)
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    return day


async def saturday_slots(client, saturday: dt.date) -> list[str]:
    """The wall-clock starts /availability offers on the Saturday."""
    response = await client.get(
        f"/api/v1/points/{BASZTOWA}/availability",
        params={
            "service": "everyday-matters",
            "language": "uk",
            "from": str(saturday),
            "to": str(saturday),
        },
    )
    assert response.status_code == 200, response.text
    return [
        dt.datetime.fromisoformat(s["start"]).astimezone(WARSAW).strftime("%H:%M")
        for s in response.json()["days"][0]["slots"]
    ]


async def staff_rule(pool) -> dict:
    row = await pool.fetchrow("select * from calendar_rules where source = 'staff'")
    return dict(row) if row else {}


async def a_booked_visit(client) -> tuple[str, dt.date]:
    slot = (await free_slots(client))[0]
    reference = (await book(client, slot["start"], "olena@example.org")).json()["reference"]
    return reference, dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW).date()


def _weekdays_of(rrule: str) -> list[str]:
    parts = dict(part.split("=", 1) for part in rrule.split(";") if "=" in part)
    return parts.get("BYDAY", "").split(",")


async def rule_giving_hours_on(pool, day: dt.date) -> str:
    """The seeded point-wide weekly rule that opens the point on `day`."""
    async with pool.acquire() as conn:
        rules = await store.list_rules(conn, BASZTOWA)
    code = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[day.weekday()]
    (found,) = [
        r.id
        for r in rules
        if r.kind.value == "hours"
        and r.desk_id is None
        and r.rrule
        and code in _weekdays_of(r.rrule)  # not `in r.rrule`: "FR" is in "FREQ=" too
        and (r.valid_from is None or r.valid_from <= day)
        and (r.valid_until is None or day <= r.valid_until)
    ]
    return found


# ---------------------------------------------------------------------------- weekly hours


async def test_weekly_hours_added_changed_and_ended_on_the_page_are_what_availability_offers(
    client, pool, accounts
):
    saturday = next_saturday()
    assert await saturday_slots(client, saturday) == []
    await log_in(client, accounts)
    page = await client.get(PAGE + "?lang=en")
    assert page.status_code == 200 and "Add weekly hours" in page.text

    added = await client.post(
        PAGE + "?lang=en",
        data=form(
            client,
            weekdays=["SA"],
            opens="09:00",
            closes="13:00",
            valid_from=dt.date.today().isoformat(),
            valid_until="",
            rule_desk="",
            channel="on_site",
        ),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert "done=rule-added" in added.headers["location"]
    starts = await saturday_slots(client, saturday)
    assert starts[0] == "09:00" and starts[-1] == "12:30" and len(starts) == 8
    rule = await staff_rule(pool)
    assert rule["rrule"] == "FREQ=WEEKLY;BYDAY=SA" and rule["channel"] == "on_site"
    audit = await pool.fetchrow("select action, entity, staff_email from audit_log")
    assert (audit["action"], audit["entity"], audit["staff_email"]) == (
        "create",
        "rule",
        "basztowa@wizyta.test",
    )

    edit = await client.get(f"{PAGE}/{rule['id']}?lang=en")
    assert edit.status_code == 200 and "Change the weekly hours" in edit.text
    assert 'value="SA" checked' in edit.text and 'value="09:00"' in edit.text
    changed = await client.post(
        f"{PAGE}/{rule['id']}?lang=en",
        data=form(
            client,
            weekdays="SA",
            opens="10:00",
            closes="12:00",
            valid_from=dt.date.today().isoformat(),
            rule_desk="",
            channel="on_site",
        ),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    following = saturday + dt.timedelta(days=7)
    assert await saturday_slots(client, saturday) == ["10:00", "10:30", "11:00", "11:30"]
    assert await saturday_slots(client, following) == ["10:00", "10:30", "11:00", "11:30"]

    too_early = await client.post(
        f"{PAGE}/{rule['id']}/end?lang=en",
        data=form(client, until=(saturday - dt.timedelta(days=1)).isoformat()),
    )
    assert too_early.status_code == 422
    assert "These hours would end before they first apply." in too_early.text
    assert (await staff_rule(pool))["valid_until"] is None

    ended = await client.post(
        f"{PAGE}/{rule['id']}/end?lang=en",
        data=form(client, until=saturday.isoformat()),
        follow_redirects=False,
    )
    assert ended.status_code == 303, ended.text
    assert await saturday_slots(client, saturday) == ["10:00", "10:30", "11:00", "11:30"]
    assert await saturday_slots(client, following) == []
    assert (await staff_rule(pool))["valid_until"] == saturday
    actions = [r["action"] for r in await pool.fetch("select action from audit_log order by id")]
    assert actions == ["create", "update", "update"]

    deleted = await client.post(
        f"{PAGE}/{rule['id']}/delete?lang=en", data=form(client), follow_redirects=False
    )
    assert deleted.status_code == 303, deleted.text
    assert await staff_rule(pool) == {}


@pytest.mark.parametrize(
    ("fields", "sentences"),
    [
        (
            {"opens": "14:00", "closes": "09:00"},
            [
                "Please choose at least one weekday.",
                "The closing time must be after the opening time.",
            ],
        ),
        (
            {
                "weekdays": "SA",
                "opens": "9",
                "closes": "13:00",
                "valid_from": "2027-01-10",
                "valid_until": "2027-01-04",
            },
            [
                "Please give the opening time as HH:MM, for example 09:00.",
                "The last day must not be before the first day.",
            ],
        ),
        (
            # well formed, but no Saturday falls between Monday and Friday
            {
                "weekdays": "SA",
                "opens": "09:00",
                "closes": "13:00",
                "valid_from": "2027-01-04",
                "valid_until": "2027-01-08",
            },
            ["These weekdays never fall between the first and the last day given."],
        ),
    ],
    ids=["closes-before-opens-and-no-weekday", "bad-time-and-dates", "never-occurs"],
)
async def test_a_bad_hours_form_says_why_in_sentences_and_writes_nothing(
    client, pool, accounts, fields, sentences
):
    await log_in(client, accounts)
    before = await pool.fetchval("select count(*) from calendar_rules")
    response = await client.post(
        PAGE + "?lang=en",
        data=form(client, **{"rule_desk": "", "channel": "on_site", **fields}),
        follow_redirects=False,
    )
    assert response.status_code == 422, response.text
    for sentence in sentences:
        assert sentence in response.text
    assert 'class="error-summary"' in response.text
    assert await pool.fetchval("select count(*) from calendar_rules") == before
    assert await pool.fetchval("select count(*) from audit_log") == 0


async def test_ending_hours_over_a_visit_needs_the_choice_and_keeping_flags_it(
    client, pool, accounts
):
    reference, day = await a_booked_visit(client)
    rule_id = await rule_giving_hours_on(pool, day)
    await log_in(client, accounts)
    end = {"until": (day - dt.timedelta(days=1)).isoformat()}

    preview = await client.post(f"{PAGE}/{rule_id}/end?lang=en", data=form(client, **end))
    assert preview.status_code == 200, preview.text
    assert reference in preview.text and "will end after" in preview.text
    assert preview.text.count('name="affected"') == 2 and "required" in preview.text
    unchanged = await pool.fetchval("select valid_until from calendar_rules where id = $1", rule_id)
    assert unchanged is None

    unchosen = await client.post(
        f"{PAGE}/{rule_id}/end?lang=en", data=form(client, **end, confirm="yes")
    )
    assert unchosen.status_code == 409
    assert "Please choose whether to cancel it" in unchosen.text
    assert (
        await pool.fetchval("select valid_until from calendar_rules where id = $1", rule_id) is None
    )
    assert await pool.fetchval("select count(*) from audit_log") == 0

    kept = await client.post(
        f"{PAGE}/{rule_id}/end?lang=en",
        data=form(client, **end, confirm="yes", affected="keep"),
        follow_redirects=False,
    )
    assert kept.status_code == 303, kept.text
    assert await pool.fetchval(
        "select valid_until from calendar_rules where id = $1", rule_id
    ) == day - dt.timedelta(days=1)
    assert await pool.fetchval("select status from bookings where reference = $1", reference) == (
        "held"
    )
    sheet = await client.get(f"/staff/points/{BASZTOWA}?date={day.isoformat()}&lang=en")
    row = re.search(rf'<tr id="visit-{reference}".*?</tr>', sheet.text, re.S)[0]
    assert "Outside the hours after a change" in row


async def test_deleting_hours_over_a_visit_and_choosing_cancel_cancels_and_tells_the_visitor(
    client, pool, accounts
):
    reference, day = await a_booked_visit(client)
    rule_id = await rule_giving_hours_on(pool, day)
    await log_in(client, accounts)
    preview = await client.post(f"{PAGE}/{rule_id}/delete?lang=en", data=form(client))
    assert preview.status_code == 200 and reference in preview.text
    assert await pool.fetchval("select count(*) from calendar_rules where id = $1", rule_id) == 1

    cancelled = await client.post(
        f"{PAGE}/{rule_id}/delete?lang=en",
        data=form(client, confirm="yes", affected="cancel"),
        follow_redirects=False,
    )
    assert cancelled.status_code == 303, cancelled.text
    assert "done=cancelled" in cancelled.headers["location"]
    assert await pool.fetchval("select count(*) from calendar_rules where id = $1", rule_id) == 0
    row = await pool.fetchrow(
        "select status, cancelled_by from bookings where reference = $1", reference
    )
    assert (row["status"], row["cancelled_by"]) == ("cancelled", "office")
    told = await pool.fetchval(
        """
        select count(*) from outbox o join bookings b on b.id = o.booking_id
         where b.reference = $1 and o.kind = 'cancelled_by_office'
        """,
        reference,
    )
    assert told == 1
    audit = await pool.fetchrow("select action, entity, entity_id from audit_log")
    assert (audit["action"], audit["entity"], audit["entity_id"]) == ("delete", "rule", rule_id)


# ---------------------------------------------------------------------------- desks


async def test_a_desk_is_added_changed_and_its_room_reaches_the_api(client, pool, accounts):
    await log_in(client, accounts)
    before = max(slot["free"] for slot in await free_slots(client))
    added = await client.post(
        DESKS + "?lang=en",
        data=form(
            client,
            **DESK_NAMES,
            desk_languages=["pl", "uk"],
            desk_room="pokój 12",
            desk_step_free="yes",
        ),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    desk_id = f"{BASZTOWA}-desk-4"
    row = await pool.fetchrow("select * from desks where id = $1", desk_id)
    assert (row["room"], row["languages"], row["step_free"], row["active"]) == (
        "pokój 12",
        ["pl", "uk"],
        True,
        True,
    )
    assert max(slot["free"] for slot in await free_slots(client)) == before + 1
    listed = await client.get(PAGE + "?lang=en")
    desk_row = re.search(rf'<tr id="desk-{desk_id}">.*?</tr>', listed.text, re.S)[0]
    assert "Desk 4</th>" in desk_row and "pokój 12" in desk_row

    edit = await client.get(f"{DESKS}/{desk_id}?lang=en")
    assert edit.status_code == 200 and 'value="pokój 12"' in edit.text
    changed = await client.post(
        f"{DESKS}/{desk_id}?lang=en",
        data=form(
            client,
            **(DESK_NAMES | {"desk_name_en": "Desk four"}),
            desk_languages=["pl", "uk", "ru"],
            desk_room="pokój 14",
            desk_step_free="unknown",
            desk_active="yes",
        ),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    token = await login(client, "basztowa@wizyta.test")
    desks = (await client.get(f"{API}/desks", headers=auth(token))).json()
    (desk,) = [d for d in desks if d["id"] == desk_id]
    assert (desk["names"]["en"], desk["room"], desk["languages"], desk["step_free"]) == (
        "Desk four",
        "pokój 14",
        ["pl", "uk", "ru"],
        None,
    )
    entries = await pool.fetch("select action, entity from audit_log order by id")
    assert [(e["action"], e["entity"]) for e in entries] == [
        ("create", "desk"),
        ("update", "desk"),
    ]


async def test_a_bad_desk_form_says_why_and_writes_nothing(client, pool, accounts):
    await log_in(client, accounts)
    response = await client.post(
        DESKS + "?lang=en",
        data=form(client, desk_name_pl="Stanowisko 4", desk_step_free="yes", desk_room=""),
    )
    assert response.status_code == 422
    assert "Please give the desk&#39;s name in this language." in response.text
    assert "Please choose at least one language the desk serves." in response.text
    assert await pool.fetchval("select count(*) from desks where point_id = $1", BASZTOWA) == 3


async def test_retiring_a_desk_with_a_visit_ahead_needs_the_choice_on_the_page_and_in_the_api(
    client, pool, accounts
):
    reference, _ = await a_booked_visit(client)
    desk_id = await pool.fetchval("select desk_id from bookings where reference = $1", reference)
    token = await login(client, accounts.basztowa)
    refused = await client.delete(f"{API}/desks/{desk_id}", headers=auth(token))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "affected_visits_need_a_choice"
    assert await pool.fetchval("select active from desks where id = $1", desk_id) is True

    await log_in(client, accounts)
    desk = await pool.fetchrow("select names, languages from desks where id = $1", desk_id)
    retire = form(
        client,
        **{f"desk_name_{c}": desk["names"][c] for c in ("pl", "en", "uk", "ru")},
        desk_languages=list(desk["languages"]),
        desk_room="",
        desk_step_free="unknown",
        desk_active="no",
    )
    preview = await client.post(f"{DESKS}/{desk_id}?lang=en", data=retire)
    assert preview.status_code == 200, preview.text
    assert reference in preview.text and "will be retired" in preview.text
    assert preview.text.count('name="affected"') == 2
    assert await pool.fetchval("select active from desks where id = $1", desk_id) is True

    unchosen = await client.post(f"{DESKS}/{desk_id}?lang=en", data={**retire, "confirm": "yes"})
    assert unchosen.status_code == 409
    assert await pool.fetchval("select active from desks where id = $1", desk_id) is True

    kept = await client.post(
        f"{DESKS}/{desk_id}?lang=en",
        data={**retire, "confirm": "yes", "affected": "keep"},
        follow_redirects=False,
    )
    assert kept.status_code == 303, kept.text
    assert await pool.fetchval("select active from desks where id = $1", desk_id) is False
    assert await pool.fetchval("select status from bookings where reference = $1", reference) == (
        "held"
    )
    audit = await pool.fetchrow("select action, entity from audit_log")
    assert (audit["action"], audit["entity"]) == ("retire", "desk")


async def test_the_call_display_shows_the_desk_s_room_beside_its_name(client, pool, accounts):
    desk_id = f"{BASZTOWA}-desk-1"
    token = await login(client, accounts.basztowa)
    room = await client.patch(
        f"{API}/desks/{desk_id}", json={"room": "pokój 12"}, headers=auth(token)
    )
    assert room.status_code == 200, room.text
    await pool.execute(
        """
        insert into queue_tickets (point_id, day, kind, seq, number, service_id, language,
                                   arrived_at)
        values ($1, (now() at time zone 'Europe/Warsaw')::date, 'walk_in', 1, 'W001',
                'everyday-matters', 'en', now())
        """,
        BASZTOWA,
    )
    called = await client.post(f"{API}/desks/{desk_id}/call-next", headers=auth(token))
    assert called.status_code == 200, called.text

    screen = await client.get(f"/points/{BASZTOWA}/display?lang=en")
    serving = re.search(r'<tbody id="now-serving".*?</tbody>', screen.text, re.S)[0]
    assert 'Service desk 1 <span class="room">pokój 12</span>' in serving
    async with pool.acquire() as conn:
        point = await store.get_point(conn, BASZTOWA)
        shown = board_json(await queue.board(conn, point), "en")  # what the stream sends
    (now,) = shown["now_serving"]
    assert (now["desk"], now["room"]) == ("Service desk 1", "pokój 12")
    assert now["say"].endswith("Service desk 1, pokój 12")


# ---------------------------------------------------------------------------- who may


async def test_another_point_s_staff_and_a_form_without_its_token_are_refused(
    client, pool, accounts
):
    await log_in(client, accounts, "rondo")
    assert (await client.get(PAGE + "?lang=en")).status_code == 403
    hours = {"weekdays": "SA", "opens": "09:00", "closes": "13:00", "channel": "on_site"}
    refused = await client.post(PAGE + "?lang=en", data=form(client, **hours))
    assert refused.status_code == 403
    desk = await client.post(
        DESKS + "?lang=en",
        data=form(client, **DESK_NAMES, desk_languages="pl", desk_step_free="yes"),
    )
    assert desk.status_code == 403
    tuesday = dt.date.today() + dt.timedelta(days=(1 - dt.date.today().weekday()) % 7 + 7)
    rule_id = await rule_giving_hours_on(pool, tuesday)
    deleted = await client.post(f"{PAGE}/{rule_id}/delete?lang=en", data=form(client))
    assert deleted.status_code == 403

    await log_in(client, accounts, "basztowa")
    forged = await client.post(PAGE + "?lang=en", data=hours)  # no CSRF token
    assert forged.status_code == 403
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 0
    assert await pool.fetchval("select count(*) from desks where point_id = $1", BASZTOWA) == 3
    assert await pool.fetchval("select count(*) from audit_log") == 0
