"""The pages a public body owes its visitors (web/legal.py): the accessibility statement with
the official template's sections, each point's facts read from its data; the privacy notice
with the retention settings themselves; the status page and the banner of a closure at short
notice, which cancels the day's visits through the office's path and shows in the feed."""

from __future__ import annotations

import datetime as dt
import re

import msgspec
import pytest

from scheduling.premises import FEATURES
from tests.booking_helpers import book, confirmation_token, free_slots
from tests.staff_helpers import auth, login, make_accounts
from web.legal import FEATURE_QUESTIONS

pytestmark = pytest.mark.usefixtures("seeded")

LANGUAGES = ("pl", "en", "uk", "ru")
BASZTOWA = "krakow-basztowa-22"
RONDO = "krakow-przy-rondzie-6"

#: The official template's parts (ids as the template's generator names them where it does).
SECTIONS = (
    "a11y-intro",
    "a11y-ext-publish-date",
    "a11y-ext-update-date",
    "a11y-status",
    "a11y-noncompliant",
    "a11y-preparation",
    "a11y-data-sporzadzenie",
    "a11y-ocena",
    "a11y-kontakt",
    "a11y-email",
    "a11y-procedura",
    "a11y-architektura",
    "a11y-aplikacje",
)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _fact(html: str, point_id: str, key: str) -> str:
    section = html.split(f'<h3 id="{point_id}">', 1)[1].split("</section>", 1)[0]
    return re.search(rf'data-fact="{key}">(.*?)</dd>', section, re.S).group(1).strip()


@pytest.fixture
async def staff(client, seeded):
    return auth(await login(client, (await make_accounts(seeded)).basztowa))


async def test_the_statement_has_every_section_and_every_points_facts_in_four_languages(client):
    points = (await client.get("/api/v1/points")).json()
    english = None
    for lang in LANGUAGES:
        page = await client.get("/accessibility", params={"lang": lang})
        assert page.status_code == 200
        for section in SECTIONS:
            assert f'id="{section}"' in page.text, (lang, section)
        for point in points:
            assert f'<h3 id="{point["id"]}">{point["names"][lang]}</h3>' in page.text
            for key in (*FEATURES, "sign_language"):
                assert _fact(page.text, point["id"], key), (lang, point["id"], key)
        if lang == "en":
            english = page.text
            assert "Act of 4 April 2019" in page.text
            assert "Commissioner for Human Rights" in page.text
        else:  # translated, not the English words
            assert "Architectural accessibility" not in page.text, lang
    # Nothing entered yet: the facts say so instead of guessing; the signing desk is data
    assert _fact(english, RONDO, "lift") == "not checked yet"
    assert "Polish Sign Language" in _fact(english, BASZTOWA, "sign_language")


async def test_facts_staff_enter_are_what_the_statement_says(client, staff):
    body = {
        "latitude": 50.0664,
        "longitude": 19.9437,
        "step_free_entrance": True,
        "lift": True,
        "accessible_toilet": False,
        "disabled_parking": False,
        "induction_loop": True,
        "assistance_dogs": True,
        "sign_language": "on_request",
        "entrance": {"en": "Main entrance from ul. Basztowa, ramp on the left"},
        "checked_on": "2026-11-20",
    }
    saved = await client.put(f"/api/v1/staff/points/{BASZTOWA}/premises", json=body, headers=staff)
    assert saved.status_code == 200, saved.text
    page = (await client.get("/accessibility", params={"lang": "en"})).text
    for key in FEATURES:
        assert _fact(page, BASZTOWA, key) == ("yes" if body[key] else "no"), key
    assert "can be booked ahead" in _fact(page, BASZTOWA, "sign_language")
    assert "ramp on the left" in page
    assert "Checked on the spot on Friday, 20 November 2026" in _text(page)
    today = dt.date.today().isoformat()
    assert f'id="a11y-ext-update-date" datetime="{today}"' in page or today < "2026-12-03"
    # Another point's staff may not; an unknown fact value is refused
    other = auth(await login(client, "rondo@wizyta.test"))
    refused = await client.put(
        f"/api/v1/staff/points/{BASZTOWA}/premises", json=body, headers=other
    )
    assert refused.status_code == 403
    bad = await client.put(
        f"/api/v1/staff/points/{BASZTOWA}/premises",
        json={**body, "sign_language": "sometimes"},
        headers=staff,
    )
    assert bad.status_code == 400  # a value outside the schema, as every staff body
    audit = await client.get("/api/v1/staff/points/" + BASZTOWA + "/premises", headers=staff)
    assert msgspec.json.decode(audit.content)["lift"] is True


async def test_the_privacy_notice_gives_the_retention_setting_itself(settings, pool, redis):
    from litestar.testing import AsyncTestClient

    from app import create_app

    for days in (30, 45):
        custom = msgspec.structs.replace(settings, retention_days=days)
        async with AsyncTestClient(app=create_app(custom)) as client:
            for lang in LANGUAGES:
                page = await client.get("/privacy", params={"lang": lang})
                assert page.status_code == 200
                retention = page.text.split('id="retention"', 1)[1].split("</ul>", 1)[0]
                figures = re.findall(r"\d+", _text(retention.split("</li>", 1)[0]))
                assert figures == [str(days)], (lang, figures)
                assert "/bookings/link" in page.text


async def test_every_visitor_page_links_the_legal_pages_and_the_form_the_privacy_notice(client):
    pages = ["/", f"/points/{BASZTOWA}", "/privacy", "/accessibility", "/status", "/bookings/link"]
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200, path
        for link in ("/accessibility", "/privacy", "/status"):
            assert f'href="{link}"' in page.text, (path, link)
    slot = (await free_slots(client))[0]
    start = dt.datetime.fromisoformat(slot["start"])
    details = await client.get(
        f"/points/{BASZTOWA}/book",
        params={
            "service": "everyday-matters",
            "language": "uk",
            "day": start.date().isoformat(),
            "start": slot["start"],
        },
    )
    assert details.status_code == 200
    form = details.text.split("<form", 1)[1].split("</form>", 1)[0]
    assert 'href="/privacy"' in form


REASON = {
    "pl": "Awaria zasilania",
    "en": "Power cut",
    "uk": "Відключення електроенергії",
    "ru": "Отключение электроэнергии",
}


async def test_a_closure_at_short_notice_shows_everywhere_and_cancels_the_days_visits(
    client, pool, staff
):
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], "closed.day@example.org")
    reference = held.json()["reference"]
    token = await confirmation_token(pool, reference)
    await client.post(f"/api/v1/bookings/{reference}/confirm", json={"token": token})
    day = dt.datetime.fromisoformat(slot["start"]).date()
    later = next(
        s for s in await free_slots(client) if dt.datetime.fromisoformat(s["start"]).date() > day
    )
    other_day = (await book(client, later["start"], "another.day@example.org")).json()

    closed = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/outages",
        json={"date": day.isoformat(), "reason": REASON},
        headers=staff,
    )
    assert closed.status_code == 201, closed.text
    assert closed.json()["cancelled"] == 1
    assert [v["reference"] for v in closed.json()["affected_visits"]] == [reference]
    row = await pool.fetchrow(
        "select status, cancelled_by from bookings where reference = $1", reference
    )
    assert tuple(row) == ("cancelled", "office")
    told = await pool.fetchval(
        "select payload from outbox o join bookings b on b.id = o.booking_id "
        "where b.reference = $1 and o.kind = 'cancelled_by_office'",
        reference,
    )
    assert told["reason"] == REASON
    assert await pool.fetchval(  # a visit on another day is not touched
        "select status from bookings where reference = $1", other_day["reference"]
    ) == ("held")

    for lang in LANGUAGES:
        for path in ("/", "/privacy", f"/points/{RONDO}", "/status"):
            page = await client.get(path, params={"lang": lang})
            assert 'id="outages-title"' in page.text, (lang, path)
            assert REASON[lang] in page.text, (lang, path)
        feed = await client.get(f"/calendars/points/{BASZTOWA}.ics", params={"lang": lang})
        assert REASON[lang] in feed.text.replace("\r\n ", "")
    hours = (
        await client.get(
            f"/api/v1/points/{BASZTOWA}/hours",
            params={"from": day.isoformat(), "to": day.isoformat()},
        )
    ).json()
    assert hours["days"][0]["status"] == "closed"

    twice = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/outages", json={"date": day.isoformat()}, headers=staff
    )
    assert twice.status_code == 409
    too_late = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/outages",
        json={"date": (day + dt.timedelta(days=60)).isoformat()},
        headers=staff,
    )
    assert too_late.status_code == 422

    outage_id = closed.json()["result"]["id"]
    reopened = await client.delete(
        f"/api/v1/staff/points/{BASZTOWA}/outages/{outage_id}", headers=staff
    )
    assert reopened.status_code == 200
    page = await client.get("/status", params={"lang": "en"})
    assert 'id="all-open"' in page.text and 'id="outages-title"' not in page.text
    actions = await pool.fetch("select action from audit_log where entity = 'outage' order by id")
    assert [a["action"] for a in actions] == ["create", "delete"]


def test_every_statement_question_is_a_feature_of_the_premises():
    assert tuple(FEATURE_QUESTIONS) == FEATURES
