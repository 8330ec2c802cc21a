"""Staff find a visit on any day of their point: by reference (typed or scanned), a part of the
name or e-mail, or a phone's digits; never another point's; a short query finds nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from booking.domain.queue import qr_payload
from tests.factories import insert_booking
from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
RONDO = "krakow-przy-rondzie-6"
URL = f"/api/v1/staff/points/{BASZTOWA}/visits/search"


async def test_search_by_reference_name_email_and_phone(client, pool):
    await make_accounts(pool)
    token = await login(client, "basztowa@wizyta.test")
    start = dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC)
    async with pool.acquire() as conn:
        olena = await insert_booking(
            conn,
            point_id=BASZTOWA,
            start=start,
            visitor_name="Olena Kovalenko",
            visitor_email="olena.k@example.org",
        )
        await conn.execute(
            "update bookings set visitor_phone = '+48 600 100 200' where id = $1", olena["id"]
        )
        later = await insert_booking(
            conn,
            point_id=BASZTOWA,
            start=start + dt.timedelta(days=30),
            visitor_name="Olena Shevchenko",
            visitor_email="shev@example.org",
        )
        await insert_booking(conn, point_id=RONDO, start=start, visitor_name="Olena Elsewhere")

    async def found(q: str) -> list[str]:
        response = await client.get(URL, params={"q": q}, headers=auth(token))
        assert response.status_code == 200, response.text
        return [v["reference"] for v in response.json()]

    assert await found("olena") == [later["reference"], olena["reference"]]  # latest first
    assert await found(olena["reference"].lower()) == [olena["reference"]]
    assert await found(qr_payload(olena["reference"])) == [olena["reference"]]
    assert await found("OLENA.K@EXAMPLE") == [olena["reference"]]
    assert await found("600100200") == [olena["reference"]]
    assert await found("ol") == []  # too short
    assert await found("100%") == []  # % is a character, not a wildcard
    other = await login(client, "rondo@wizyta.test")
    response = await client.get(URL, params={"q": "olena"}, headers=auth(other))
    assert response.status_code == 403
