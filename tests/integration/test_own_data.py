"""The visitor's own data (booking/privacy.py, web/own_data.py), end to end: from the link that
/bookings/link mails given a reference and an address, download everything (GDPR art. 20), then
erase it (art. 17). Afterwards no table holds the visitor's name, e-mail or phone, the visit is
cancelled and its anonymous row stays, and the audit log has both acts without the data.

Real PostgreSQL, Redis, the real worker and a real SMTP server."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.booking_helpers import book, confirmation_token, free_slots
from tests.factories import run_worker
from tests.integration.test_mail_links import mails, manage_links, text_of
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")

NAME = "Oksana Zerwiąca"
EMAIL = "oksana.private@example.org"
PHONE = "+48 601 234 567"
NOTES = "I come with my brother Taras"


async def _text_columns(pool) -> list[tuple[str, str]]:
    """Every column of every table that can hold text: text, varchar, json, jsonb, arrays."""
    rows = await pool.fetch(
        """
        select c.table_name, c.column_name from information_schema.columns c
          join information_schema.tables t using (table_schema, table_name)
         where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
           and (c.data_type in ('text', 'character varying', 'json', 'jsonb', 'ARRAY'))
        """
    )
    return [(r["table_name"], r["column_name"]) for r in rows]


async def _where_found(pool, needle: str) -> list[tuple[str, str]]:
    found = []
    for table, column in await _text_columns(pool):
        hits = await pool.fetchval(
            f'select count(*) from "{table}" where strpos(lower("{column}"::text), lower($1)) > 0',
            needle,
        )
        if hits:
            found.append((table, column))
    return found


async def _link_by_reference_and_email(client, smtp_settings, catcher, reference: str) -> str:
    """The manage link as a visitor without any earlier mail gets it: reference + address."""
    asked = await client.post(
        "/bookings/link",
        data={
            "csrf_token": client.cookies.get(CSRF_COOKIE),
            "reference": reference,
            "email": EMAIL,
        },
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    before = len(catcher.received)
    await run_worker(smtp_settings)
    [mail] = mails(catcher)[before:]
    [link] = manage_links(mail)
    assert reference in text_of(mail)
    return link


async def test_a_visitor_downloads_then_erases_everything_held_about_them(
    mail_client, pool, smtp_settings, catcher
):
    client = mail_client
    await client.get("/privacy")  # the CSRF cookie
    slot = (await free_slots(client))[0]
    held = await book(
        client,
        slot["start"],
        EMAIL,
        name=NAME,
        visitor={"name": NAME, "email": EMAIL, "phone": PHONE},
        notes=NOTES,
    )
    assert held.status_code == 201, held.text
    reference = held.json()["reference"]
    token = await confirmation_token(pool, reference)
    assert (
        await client.post(f"/api/v1/bookings/{reference}/confirm", json={"token": token})
    ).status_code == 200
    await run_worker(smtp_settings)
    assert await _where_found(pool, EMAIL), "the visit holds the address before"

    link = urlsplit(await _link_by_reference_and_email(client, smtp_settings, catcher, reference))
    manage = await client.get(f"{link.path}?{link.query}")
    assert manage.status_code == 200
    assert f'action="/bookings/{reference}/data"' in manage.text
    mail_token = link.query.removeprefix("token=")

    # Download (art. 20): everything, machine-readable
    download = await client.post(
        f"/bookings/{reference}/data",
        data={"csrf_token": client.cookies.get(CSRF_COOKIE), "token": mail_token},
    )
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    data = json.loads(download.content)
    visit = data["visit"]
    assert visit["reference"] == reference and visit["status"] == "confirmed"
    # the phone is kept as E.164 (booking/phones.py)
    assert visit["visitor"] == {"name": NAME, "email": EMAIL, "phone": PHONE.replace(" ", "")}
    assert visit["notes"] == NOTES
    assert {m["kind"] for m in data["messages"]} >= {"confirmation_request", "confirmed"}

    # A wrong token gets nothing
    stranger = await client.post(
        f"/bookings/{reference}/data",
        data={"csrf_token": client.cookies.get(CSRF_COOKIE), "token": "x" * 43},
    )
    assert stranger.status_code == 404 and EMAIL not in stranger.text

    # Erase (art. 17): the confirmation page, then the act
    asked = await client.get(
        f"/bookings/{reference}/erase", params={"token": mail_token, "lang": "en"}
    )
    assert asked.status_code == 200
    assert "This visit will be cancelled first" in asked.text
    erased = await client.post(
        f"/bookings/{reference}/erase",
        data={"csrf_token": client.cookies.get(CSRF_COOKIE), "token": mail_token},
        follow_redirects=False,
    )
    assert erased.status_code == 303, erased.text
    assert erased.headers["location"] == f"/bookings/{reference}/erased?cancelled=1"
    assert (await client.get(erased.headers["location"])).status_code == 200

    for needle in (NAME, EMAIL, PHONE, PHONE.replace(" ", ""), NOTES, "oksana.private"):
        assert await _where_found(pool, needle) == [], needle

    row = await pool.fetchrow("select * from bookings where reference = $1", reference)
    assert row["status"] == "cancelled" and row["cancelled_by"] == "visitor"
    assert row["purged_at"] is not None
    assert row["point_id"] == "krakow-basztowa-22" and row["language"] == "uk"

    audit = await pool.fetch(
        "select action, entity, entity_id, before, after::text as after from audit_log "
        "where entity = 'personal_data' order by id"
    )
    assert [(a["action"], a["entity_id"]) for a in audit] == [
        ("export", reference),
        ("erase", reference),
    ]
    for entry in audit:
        assert entry["before"] is None
        assert not re.search(r"oksana|example\.org|601", entry["after"], re.IGNORECASE)

    # The cancellation written by the erase goes nowhere: the address is gone
    before = len(catcher.received)
    await run_worker(smtp_settings)
    assert len(catcher.received) == before
    # The link shows nothing of the visitor any more
    after = await client.get(f"{link.path}?{link.query}")
    assert NAME not in after.text and EMAIL not in after.text


async def test_erasing_a_visit_that_is_over_removes_the_data_and_cancels_nothing(client, pool):
    from tests.factories import insert_booking

    async with pool.acquire() as conn:
        past = await insert_booking(conn, status="completed")
    reference = past["reference"]
    from booking import links

    async with pool.acquire() as conn:
        token = links.mail_token(await links.link_key(conn), past["id"])
    await client.get("/privacy")
    erased = await client.post(
        f"/bookings/{reference}/erase",
        data={"csrf_token": client.cookies.get(CSRF_COOKIE), "token": token},
        follow_redirects=False,
    )
    assert erased.status_code == 303
    assert erased.headers["location"] == f"/bookings/{reference}/erased"
    row = await pool.fetchrow("select * from bookings where reference = $1", reference)
    assert row["status"] == "completed" and row["visitor_email"] is None
    assert row["visitor_name"] is None


async def test_the_fair_rules_change_cutoff_does_not_hold_back_an_erasure(client, pool):
    """Online cancelling closes shortly before a visit (against slot trading); erasing still
    removes the data at once, and the visit stays booked, anonymous."""
    await pool.execute(
        "update point_services set change_cutoff_minutes = 43200 "
        "where point_id = 'krakow-basztowa-22' and service_id = 'everyday-matters'"
    )
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], "late.eraser@example.org")
    assert held.status_code == 201, held.text
    reference, token = held.json()["reference"], held.json()["manage_token"]
    await client.get("/privacy")
    erased = await client.post(
        f"/bookings/{reference}/erase",
        data={"csrf_token": client.cookies.get(CSRF_COOKIE), "token": token},
        follow_redirects=False,
    )
    assert erased.status_code == 303
    assert erased.headers["location"] == f"/bookings/{reference}/erased"
    row = await pool.fetchrow("select * from bookings where reference = $1", reference)
    assert row["status"] == "held" and row["visitor_email"] is None
    assert await _where_found(pool, "late.eraser") == []
