"""Closing a day never strands a visitor: a change that leaves visits outside the hours needs a
choice (409, nothing written, without one); kept visits are flagged on the day sheet; cancelled
ones are told by mail and offered a held alternative they accept or release from that mail.
Special days can be listed, changed and deleted, and are not added twice.

Real PostgreSQL, Redis, the real worker and a real SMTP server: links are read from the mails.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import re
import zoneinfo
from email.parser import BytesParser
from urllib.parse import parse_qs, urlsplit

import pytest

from scheduling import admin
from scheduling.rules import CalendarRule, RuleKind
from tests.booking_helpers import BASZTOWA, book, confirmation_token, free_slots
from tests.factories import run_worker
from tests.staff_helpers import auth, login, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
SPECIAL = f"/api/v1/staff/points/{BASZTOWA}/special-days"
RULES = f"/api/v1/staff/points/{BASZTOWA}/rules"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
LABEL = {"pl": "Awaria prądu", "en": "Power cut", "uk": "Аварія", "ru": "Авария"}


@pytest.fixture
async def token(mail_client, seeded):
    accounts = await make_accounts(seeded)
    return await login(mail_client, accounts.basztowa)


async def confirmed_visit(client, pool, email_address="olena@example.org") -> tuple[str, dt.date]:
    """A confirmed visit at Basztowa (Ukrainian, everyday matters); its reference and day."""
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], email_address)
    assert held.status_code == 201, held.text
    reference = held.json()["reference"]
    token = await confirmation_token(pool, reference)
    confirmed = await client.post(f"/api/v1/bookings/{reference}/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    day = dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW).date()
    return reference, day


def mails(catcher) -> list:
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(raw) for raw in catcher.received]


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def link(mail, pattern: str) -> str | None:
    for url in re.findall(r"https?://\S+", text_of(mail)):
        if re.search(pattern, urlsplit(url).path):
            return url
    return None


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def status_of(pool, reference: str) -> str:
    return await pool.fetchval(
        "select visit_status(status, hold_expires_at) from bookings where reference = $1",
        reference,
    )


async def close(client, token, day: dt.date, **params):
    return await client.post(
        SPECIAL,
        params=params,
        json={"date": day.isoformat(), "kind": "closed", "label": LABEL},
        headers=auth(token),
    )


# ---------------------------------------------------------------------------- the choice


async def test_a_closure_that_hits_visits_without_a_choice_is_409_and_writes_nothing(
    mail_client, pool, token
):
    reference, day = await confirmed_visit(mail_client, pool)
    audit_before = await pool.fetchval("select count(*) from audit_log")
    outbox_before = await pool.fetchval("select count(*) from outbox")
    response = await close(mail_client, token, day)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "affected_visits_need_a_choice"
    assert problem["count"] == 1
    assert [v["reference"] for v in problem["visits"]] == [reference]
    assert "cancel_affected" in problem["detail"]
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 0
    assert await pool.fetchval("select count(*) from audit_log") == audit_before
    assert await pool.fetchval("select count(*) from outbox") == outbox_before
    assert await status_of(pool, reference) == "confirmed"


async def test_kept_visits_stay_and_are_flagged_on_the_day_sheet(mail_client, pool, token):
    reference, day = await confirmed_visit(mail_client, pool)
    response = await close(mail_client, token, day, cancel_affected="false")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kept"], body["cancelled"]) == (1, 0)
    assert [v["reference"] for v in body["affected_visits"]] == [reference]
    assert await status_of(pool, reference) == "confirmed"
    assert (
        await pool.fetchval("select count(*) from outbox where kind = 'cancelled_by_office'") == 0
    )
    sheet = await mail_client.get(
        f"/api/v1/staff/points/{BASZTOWA}/visits",
        params={"date": day.isoformat()},
        headers=auth(token),
    )
    assert sheet.status_code == 200, sheet.text
    [visit] = [v for v in sheet.json()["visits"] if v["reference"] == reference]
    assert visit["outside_hours"] is True
    # A later change that leaves it where it was does not ask about it again.
    again = await mail_client.post(
        RULES,
        json={"kind": "closed", "dates": [day.isoformat()], "opens": "07:00", "closes": "07:15"},
        headers=auth(token),
    )
    assert again.status_code == 201, again.text
    assert again.json()["affected_visits"] == []


# ---------------------------------------------------------------------------- alternatives


async def test_a_cancelled_visit_is_offered_a_held_alternative_accepted_from_the_mail(
    mail_client, pool, token, smtp_settings, catcher
):
    reference, day = await confirmed_visit(mail_client, pool)
    first_token = await confirmation_token(pool, reference)  # the mail's, clicked already
    response = await close(mail_client, token, day, cancel_affected="true")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["cancelled"] == 1
    alternative = body["alternatives"][reference]
    assert await status_of(pool, reference) == "cancelled"
    original = await pool.fetchrow(
        "select id, starts_at, service_id, language from bookings where reference = $1", reference
    )
    held = await pool.fetchrow(
        """
        select alternative_for, point_id, service_id, language, starts_at, hold_expires_at,
               visitor_email, visit_status(status, hold_expires_at) as status
          from bookings where reference = $1
        """,
        alternative,
    )
    assert held["status"] == "held" and held["alternative_for"] == original["id"]
    assert (held["point_id"], held["service_id"], held["language"]) == (
        BASZTOWA,
        original["service_id"],
        original["language"],
    )
    assert held["visitor_email"] == "olena@example.org"
    assert held["starts_at"].astimezone(WARSAW).date() != day  # not on the closed day
    now = await pool.fetchval("select now()")
    assert held["hold_expires_at"] <= now + dt.timedelta(hours=24)
    # The alternative sends no mail of its own: the cancellation carries it.
    assert (
        await pool.fetchval(
            "select count(*) from outbox o join bookings b on b.id = o.booking_id "
            "where b.reference = $1",
            alternative,
        )
        == 0
    )
    row = await pool.fetchrow("select payload from outbox where kind = 'cancelled_by_office'")
    assert row["payload"]["alternative"]["reference"] == alternative
    assert row["payload"]["token"]

    await run_worker(smtp_settings)
    [mail] = [m for m in mails(catcher) if reference in str(m["Subject"])]
    text = text_of(mail)
    assert "Натомість ми зарезервували для Вас інший час" in text
    accept = link(mail, rf"^/bookings/{alternative}/confirm$")
    release = link(mail, rf"^/bookings/{alternative}/release$")
    assert accept and release
    assert "Аварія" in text
    payload = await pool.fetchval("select payload from outbox where kind = 'cancelled_by_office'")
    assert "token" not in payload  # the secret is not kept once sent

    # "Accept": the link shows a page with a button; only the button confirms.
    page = await mail_client.get(local(accept))
    assert page.status_code == 200
    assert reference in page.text  # "instead of your visit …"
    assert await status_of(pool, alternative) == "held"
    form = {
        "csrf_token": mail_client.cookies.get(CSRF_COOKIE),
        "token": parse_qs(urlsplit(accept).query)["token"][0],
    }
    confirmed = await mail_client.post(f"/bookings/{alternative}/confirm", data=form)
    assert confirmed.status_code == 200, confirmed.text
    assert await status_of(pool, alternative) == "confirmed"
    # The cancelled visit's own confirmation link says it was cancelled, not "invalid".
    page = await mail_client.get(f"/bookings/{reference}/confirm", params={"token": first_token})
    assert page.status_code == 200
    assert "Цей візит скасував пункт" in page.text, page.text
    assert "Так, підтверджую візит" not in page.text
    again = await mail_client.post(
        f"/bookings/{reference}/confirm", data=form | {"token": first_token}
    )
    assert again.status_code == 410
    assert "This visit was cancelled, so it cannot be confirmed any more." in again.text


async def test_the_release_link_frees_the_alternative(
    mail_client, pool, token, smtp_settings, catcher
):
    reference, day = await confirmed_visit(mail_client, pool)
    response = await close(mail_client, token, day, cancel_affected="true")
    alternative = response.json()["alternatives"][reference]
    await run_worker(smtp_settings)
    [mail] = [m for m in mails(catcher) if reference in str(m["Subject"])]
    release = link(mail, rf"^/bookings/{alternative}/release$")
    page = await mail_client.get(local(release))
    assert page.status_code == 200
    assert await status_of(pool, alternative) == "held"  # a link alone changes nothing
    form = {
        "csrf_token": mail_client.cookies.get(CSRF_COOKIE),
        "token": parse_qs(urlsplit(release).query)["token"][0],
    }
    released = await mail_client.post(f"/bookings/{alternative}/release", data=form)
    assert released.status_code == 200, released.text
    assert await status_of(pool, alternative) == "cancelled"
    start = await pool.fetchval("select starts_at from bookings where reference = $1", alternative)
    free = await free_slots(mail_client, days=40)
    assert any(dt.datetime.fromisoformat(s["start"]) == start for s in free)  # free again


async def _close_for_good(pool, point_id: str) -> None:
    """Every day from today closed at the point (as a seed or staff rule would say)."""
    async with pool.acquire() as conn:
        await admin.save_rule(
            conn,
            point_id,
            CalendarRule(
                id=f"{point_id}-closed-for-good",
                kind=RuleKind.CLOSED,
                rrule="FREQ=DAILY",
                valid_from=dt.date.today() - dt.timedelta(days=1),
            ),
        )


async def test_with_no_time_free_at_the_point_the_alternative_is_at_another_point_of_the_city(
    mail_client, pool, token
):
    reference, _ = await confirmed_visit(mail_client, pool)
    response = await mail_client.post(
        RULES,
        params={"cancel_affected": "true"},
        json={"kind": "closed", "rrule": "FREQ=DAILY", "valid_from": dt.date.today().isoformat()},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    alternative = response.json()["alternatives"][reference]
    point = await pool.fetchval("select point_id from bookings where reference = $1", alternative)
    assert point in ("krakow-chlopickiego-4", "krakow-jana-dekerta-24")


async def test_with_nothing_free_the_mail_says_so_and_links_to_booking(
    mail_client, pool, token, smtp_settings, catcher
):
    reference, _ = await confirmed_visit(mail_client, pool)
    for other in ("krakow-chlopickiego-4", "krakow-jana-dekerta-24"):
        await _close_for_good(pool, other)
    response = await mail_client.post(
        RULES,
        params={"cancel_affected": "true"},
        json={"kind": "closed", "rrule": "FREQ=DAILY", "valid_from": dt.date.today().isoformat()},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    assert response.json()["cancelled"] == 1 and response.json()["alternatives"] == {}
    assert (
        await pool.fetchval("select count(*) from bookings where alternative_for is not null") == 0
    )
    payload = await pool.fetchval("select payload from outbox where kind = 'cancelled_by_office'")
    assert payload["alternative"] is None
    await run_worker(smtp_settings)
    [mail] = [m for m in mails(catcher) if reference in str(m["Subject"])]
    assert "ми не знайшли іншого вільного часу" in text_of(mail)
    assert link(mail, rf"^/points/{BASZTOWA}/book$")
    assert link(mail, r"/release$") is None and link(mail, r"/confirm$") is None


# ---------------------------------------------------------------------------- special days


def _far_monday() -> dt.date:
    day = dt.date.today() + dt.timedelta(days=40)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


async def test_special_days_are_listed_changed_and_deleted_and_not_added_twice(
    mail_client, pool, token
):
    day = _far_monday()
    created = await close(mail_client, token, day)
    assert created.status_code == 201, created.text
    rule_id = created.json()["result"]["id"]

    twice = await close(mail_client, token, day)
    assert twice.status_code == 409, twice.text
    assert twice.json()["code"] == "special_day_exists" and twice.json()["rule_id"] == rule_id
    assert "already" in twice.json()["detail"]
    assert await pool.fetchval("select count(*) from calendar_rules where source = 'staff'") == 1

    listed = (await mail_client.get(SPECIAL, headers=auth(token))).json()
    assert [(d["id"], d["date"], d["kind"]) for d in listed] == [
        (rule_id, day.isoformat(), "closed")
    ]

    changed = await mail_client.patch(
        f"{SPECIAL}/{rule_id}",
        json={"kind": "open", "opens": "09:00", "closes": "12:00"},
        headers=auth(token),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["result"]["kind"] == "open"
    assert changed.json()["result"]["label"] == LABEL
    hours = await mail_client.get(
        f"/api/v1/points/{BASZTOWA}/hours", params={"from": str(day), "to": str(day)}
    )
    assert [i["opens"] for i in hours.json()["days"][0]["intervals"]] == ["09:00"]

    deleted = await mail_client.delete(f"{SPECIAL}/{rule_id}", headers=auth(token))
    assert deleted.status_code == 200, deleted.text
    assert (await mail_client.get(SPECIAL, headers=auth(token))).json() == []
    missing = await mail_client.delete(f"{SPECIAL}/{rule_id}", headers=auth(token))
    assert missing.status_code == 404 and missing.json()["code"] == "no_such_special_day"
    actions = await pool.fetch("select action, entity from audit_log order by id")
    assert [(a["action"], a["entity"]) for a in actions] == [
        ("create", "rule"),
        ("update", "special_day"),
        ("delete", "special_day"),
    ]


async def test_changing_or_deleting_an_open_day_with_visits_on_it_needs_the_choice(
    mail_client, pool, token
):
    saturday = dt.date.today() + dt.timedelta(days=3)
    saturday += dt.timedelta(days=(5 - saturday.weekday()) % 7)
    opened = await mail_client.post(
        SPECIAL,
        json={"date": saturday.isoformat(), "kind": "open", "opens": "09:00", "closes": "13:00"},
        headers=auth(token),
    )
    assert opened.status_code == 201, opened.text
    rule_id = opened.json()["result"]["id"]
    slots = [
        s
        for s in await free_slots(mail_client, days=14)
        if dt.datetime.fromisoformat(s["start"]).astimezone(WARSAW).date() == saturday
    ]
    late = slots[-1]["start"]  # 12:30
    visit = await book(mail_client, late, "andrii@example.com")
    assert visit.status_code == 201, visit.text
    reference = visit.json()["reference"]

    shorter = await mail_client.patch(
        f"{SPECIAL}/{rule_id}", json={"closes": "12:00"}, headers=auth(token)
    )
    assert shorter.status_code == 409 and shorter.json()["count"] == 1
    assert (await mail_client.get(SPECIAL, headers=auth(token))).json()[0]["closes"] == "13:00"
    gone = await mail_client.delete(f"{SPECIAL}/{rule_id}", headers=auth(token))
    assert gone.status_code == 409
    kept = await mail_client.delete(
        f"{SPECIAL}/{rule_id}", params={"cancel_affected": "false"}, headers=auth(token)
    )
    assert kept.status_code == 200 and kept.json()["kept"] == 1
    assert await status_of(pool, reference) == "held"
