"""Staff's special-day pages: a closure that hits visits asks what becomes of them (required:
nothing is saved without the choice), kept visits are marked on the day sheet, a closure is not
added twice, and special days are changed and deleted from the list."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest

from tests.booking_helpers import BASZTOWA, book, free_slots
from tests.staff_helpers import PASSWORD, make_accounts
from web.security import CSRF_COOKIE, STAFF_CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
PAGE = f"/staff/points/{BASZTOWA}/special-days"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


async def log_in(client, seeded) -> None:
    accounts = await make_accounts(seeded)
    await client.get("/staff/login?lang=en")
    response = await client.post(
        "/staff/login?lang=en",
        data={
            "email": accounts.basztowa,
            "password": PASSWORD,
            "csrf_token": client.cookies.get(CSRF_COOKIE),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def form(client, **fields: str) -> dict[str, str]:
    return {"csrf_token": client.cookies.get(STAFF_CSRF_COOKIE), **fields}


async def test_a_closure_over_visits_needs_the_choice_then_keeps_and_marks_them(
    client, pool, seeded
):
    slot = (await free_slots(client))[0]
    reference = (await book(client, slot["start"], "olena@example.org")).json()["reference"]
    day = dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW).date().isoformat()
    await log_in(client, seeded)
    closure = {"date": day, "kind": "closed"}

    preview = await client.post(PAGE + "?lang=en", data=form(client, **closure))
    assert preview.status_code == 200
    assert reference in preview.text
    assert preview.text.count('name="affected"') == 2 and "required" in preview.text

    unchosen = await client.post(PAGE + "?lang=en", data=form(client, **closure, confirm="yes"))
    assert unchosen.status_code == 409
    assert "Please choose whether to cancel it" in unchosen.text
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 0

    kept = await client.post(
        PAGE + "?lang=en",
        data=form(client, **closure, confirm="yes", affected="keep"),
        follow_redirects=False,
    )
    assert kept.status_code == 303, kept.text
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 1
    assert await pool.fetchval("select status from bookings where reference = $1", reference) == (
        "held"
    )
    sheet = await client.get(f"/staff/points/{BASZTOWA}?date={day}&lang=en")
    row = re.search(rf'<tr id="visit-{reference}".*?</tr>', sheet.text, re.S)[0]
    assert "Outside the hours after a change" in row

    twice = await client.post(PAGE + "?lang=en", data=form(client, **closure))
    assert twice.status_code == 409
    assert f"The point is already closed on {day}." in twice.text
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 1


async def test_a_special_day_is_changed_and_deleted_from_the_list(client, pool, seeded):
    await log_in(client, seeded)
    day = (dt.date.today() + dt.timedelta(days=45)).isoformat()
    added = await client.post(
        PAGE + "?lang=en",
        data=form(client, date=day, kind="closed", confirm="yes"),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    rule_id = await pool.fetchval("select id from calendar_rules where source = 'staff'")
    listed = await client.get(PAGE + "?lang=en")
    assert f'href="{PAGE}/{rule_id}"' in listed.text and f"{PAGE}/{rule_id}/delete" in listed.text

    edit = await client.get(f"{PAGE}/{rule_id}?lang=en")
    assert edit.status_code == 200 and "Change the special day" in edit.text
    assert f'value="{day}"' in edit.text
    changed = await client.post(
        f"{PAGE}/{rule_id}?lang=en",
        data=form(
            client, date=day, kind="open", opens="10:00", closes="12:00", label_en="Short day"
        )
        | {"confirm": "yes"},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    row = await pool.fetchrow(
        "select kind, opens, labels from calendar_rules where id = $1", rule_id
    )
    assert (row["kind"], row["opens"], row["labels"]["en"]) == ("special", dt.time(10), "Short day")

    deleted = await client.post(
        f"{PAGE}/{rule_id}/delete?lang=en", data=form(client, confirm="yes"), follow_redirects=False
    )
    assert deleted.status_code == 303, deleted.text
    assert await pool.fetchval("select count(*) from calendar_rules where id = $1", rule_id) == 0
