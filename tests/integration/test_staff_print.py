"""The day on paper: every visit still on, with time, desk, name, service, language, needs and
notes; cancelled ones left out; no buttons, no forms."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tests.factories import insert_booking
from tests.staff_helpers import PASSWORD, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


async def test_the_printed_day_lists_the_visits_still_on_without_buttons(client, pool):
    await make_accounts(pool)
    day = dt.date(2026, 11, 18)
    at = dt.datetime.combine(day, dt.time(9), WARSAW)
    async with pool.acquire() as conn:
        kept = await insert_booking(conn, point_id=BASZTOWA, start=at, visitor_name="Iryna K")
        await conn.execute(
            "update bookings set needs = '{wheelchair access}', notes = 'brings a translator' "
            "where id = $1",
            kept["id"],
        )
        gone = await insert_booking(
            conn,
            point_id=BASZTOWA,
            start=at + dt.timedelta(hours=1),
            status="cancelled",
            visitor_name="Not Coming",
        )
    await client.get("/staff/login")
    await client.post(
        "/staff/login",
        data={
            "email": "basztowa@wizyta.test",
            "password": PASSWORD,
            "csrf_token": client.cookies.get(CSRF_COOKIE),
        },
    )
    page = await client.get(f"/staff/points/{BASZTOWA}/print", params={"date": day.isoformat()})
    assert page.status_code == 200, page.text
    text = page.text
    assert "Iryna K" in text and kept["reference"] in text and "09:00" in text
    assert "wheelchair access" in text and "brings a translator" in text
    assert gone["reference"] not in text
    main = text.split("<main", 1)[1]
    assert "<button" not in main and "<form" not in main
