"""The clerk's search across a point's days: by reference (any case, with or without dashes),
by any part of a name or e-mail in any case, by the digits of a phone; only the staff's point;
on the trigram indexes."""

from __future__ import annotations

import pytest

from tests.booking_helpers import book, free_slots
from tests.staff_helpers import PASSWORD, auth, login, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
RONDO = "krakow-przy-rondzie-6"
SEARCH = f"/api/v1/staff/points/{BASZTOWA}/search"


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


@pytest.fixture
async def found(client, accounts, pool):
    slots = await free_slots(client)
    olena = await book(client, slots[0]["start"], "Olena.K@Example.org", name="Олена Коваленко")
    john = await book(client, slots[-1]["start"], "john@example.net", name="John Smith")
    references = [olena.json()["reference"], john.json()["reference"]]
    await pool.execute(
        "update bookings set visitor_phone = '+48 601 234 567' where reference = $1", references[1]
    )
    return references


async def _refs(client, token, q):
    response = await client.get(SEARCH, params={"q": q}, headers=auth(token))
    assert response.status_code == 200, response.text
    return [v["reference"] for v in response.json()["visits"]]


async def test_search_finds_by_reference_name_email_and_phone_in_any_case(client, accounts, found):
    olena, john = found
    token = await login(client, accounts.basztowa)
    assert await _refs(client, token, olena.lower()) == [olena]
    assert await _refs(client, token, olena.replace("-", "").lower()) == [olena]
    assert await _refs(client, token, "коваЛЕНКО") == [olena]
    assert await _refs(client, token, "olena.k@example") == [olena]
    assert await _refs(client, token, "EXAMPLE") == [olena, john]  # soonest first
    assert await _refs(client, token, "601-234") == [john]
    assert await _refs(client, token, "smi") == [john]
    assert await _refs(client, token, "nobody here") == []
    assert await _refs(client, token, "100%") == []  # LIKE's wildcards are literal

    short = await client.get(SEARCH, params={"q": " ab "}, headers=auth(token))
    assert (short.status_code, short.json()["code"]) == (422, "search_too_short")
    other = await login(client, accounts.rondo)
    refused = await client.get(SEARCH, params={"q": "john"}, headers=auth(other))
    assert (refused.status_code, refused.json()["code"]) == (403, "not_your_point")
    elsewhere = f"/api/v1/staff/points/{RONDO}/search"
    response = await client.get(elsewhere, params={"q": "john"}, headers=auth(other))
    assert response.json()["visits"] == []


async def test_the_search_uses_the_trigram_indexes(pool, found):
    """Each way of matching has an index (a bitmap OR of them, not a scan of the table)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("set local enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                """
                explain select id from bookings where
                    reference = $1 or lower(visitor_name) like $2
                    or lower(visitor_email) like $2
                    or regexp_replace(visitor_phone, '[^0-9]', '', 'g') like $3
                """,
                "ABC-1234-XY",
                "%smith%",
                "%601%",
            )
        )
    for index in ("bookings_search_name", "bookings_search_email", "bookings_search_phone"):
        assert index in plan, plan


async def test_the_search_page_lists_the_visits_found(client, accounts, found):
    olena, john = found
    await client.get("/staff/login")
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "email": accounts.basztowa,
        "password": PASSWORD,
    }
    await client.post("/staff/login", data=form)
    page = await client.get(f"/staff/points/{BASZTOWA}/search", params={"q": "john smith"})
    assert page.status_code == 200 and john in page.text and olena not in page.text
    short = await client.get(f"/staff/points/{BASZTOWA}/search", params={"q": "jo"})
    assert short.status_code == 422 and 'id="q-error"' in short.text
