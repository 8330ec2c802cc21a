"""The office's figures against one day computed by hand; the CSV is the same rows; the figures
stay the same after the retention purge has removed the day's personal data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest

from booking.retention import forget
from tests.factories import insert_booking
from tests.staff_helpers import auth, login, make_accounts
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
DAY = dt.date(2026, 11, 18)  # a Wednesday, no holiday
URL = f"/api/v1/staff/points/{BASZTOWA}/statistics"


def at(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), WARSAW)


async def _day(pool) -> None:
    async with pool.acquire() as conn:
        # the point's hours that day: Wednesdays 08:00-16:00 at its three desks
        await conn.execute("delete from calendar_rules where point_id = $1", BASZTOWA)
        await conn.execute(
            """
            insert into calendar_rules (id, point_id, kind, rrule, opens, closes)
            values ('stats-wed', $1, 'hours', 'FREQ=WEEKLY;BYDAY=WE', '08:00', '16:00')
            """,
            BASZTOWA,
        )
        done = await insert_booking(conn, point_id=BASZTOWA, start=at("09:00"), status="completed")
        await insert_booking(conn, point_id=BASZTOWA, start=at("09:30"), status="no_show")
        by_visitor = await insert_booking(
            conn, point_id=BASZTOWA, start=at("10:00"), status="cancelled", was_confirmed=True
        )
        by_office = await insert_booking(
            conn, point_id=BASZTOWA, start=at("10:30"), status="cancelled", was_confirmed=True
        )
        await insert_booking(conn, point_id=BASZTOWA, start=at("11:00"), status="expired")
        ukrainian = await insert_booking(
            conn, point_id=BASZTOWA, start=at("11:30"), status="completed", language="uk"
        )
        # booked by staff for the visitor (on the phone): the office's channel
        await conn.execute("update bookings set booked_by = 'staff' where id = $1", ukrainian["id"])
        for row, who in ((by_visitor, "visitor"), (by_office, "office")):
            await conn.execute(
                "update bookings set cancelled_by = $2 where id = $1", row["id"], who
            )
        tickets = [
            # kind, number, booking, language, arrived, called, done_at, status
            ("visit", "A001", done["id"], "en", "08:50", "09:02", "09:20", "done"),
            ("visit", "A002", ukrainian["id"], "uk", "11:20", "11:25", "11:40", "done"),
            ("walk_in", "W001", None, "en", "09:00", "09:10", "09:40", "done"),
            ("walk_in", "W002", None, "en", "09:05", "09:45", "09:50", "no_show"),
            ("walk_in", "W003", None, "en", "10:00", "10:20", "10:30", "done"),
        ]
        for kind, number, booking, language, arrived, called, ended, status in tickets:
            await conn.execute(
                """
                insert into queue_tickets (point_id, day, kind, seq, number, booking_id,
                    service_id, language, appointment_at, arrived_at, status, desk_id,
                    called_at, done_at, calls)
                values ($1, $2, $3, $4, $5, $6, 'everyday-matters', $7,
                        (select starts_at from bookings where id = $6), $8, $9,
                        'krakow-basztowa-22-desk-1', $10, $11, 1)
                """,
                BASZTOWA,
                DAY,
                kind,
                int(number[1:]),
                number,
                booking,
                language,
                at(arrived),
                status,
                at(called),
                at(ended),
            )


def _row(rows, language, channel):
    return next(r for r in rows if (r["language"], r["channel"]) == (language, channel))


async def test_the_figures_of_a_day_computed_by_hand_and_after_the_purge(client, pool):
    await make_accounts(pool)
    token = await login(client, "basztowa@wizyta.test")
    await _day(pool)
    query = {"first": DAY.isoformat(), "last": DAY.isoformat()}
    response = await client.get(URL, params=query, headers=auth(token))
    assert response.status_code == 200, response.text
    figures = response.json()
    rows = figures["rows"]
    assert len(rows) == 3
    assert {r["service_id"] for r in rows} == {"everyday-matters"}
    assert _row(rows, "en", "online") | {} == {
        "date": "2026-11-18",
        "service_id": "everyday-matters",
        "language": "en",
        "channel": "online",
        "booked": 4,  # the lapsed hold is not a booking
        "confirmed": 4,
        "cancelled_by_visitor": 1,
        "cancelled_by_office": 1,
        "no_shows": 1,
        "walk_ins": 0,
        "wait_median_minutes": 12.0,
        "wait_p90_minutes": 12.0,
        "service_median_minutes": 18.0,
        "service_p90_minutes": 18.0,
    }
    walk_ins = _row(rows, "en", "walk_in")
    assert (walk_ins["booked"], walk_ins["walk_ins"], walk_ins["no_shows"]) == (0, 3, 1)
    # waits 10, 40, 20 minutes: median 20, p90 = 20 + 0.8 * (40 - 20); services 30 and 10
    assert (walk_ins["wait_median_minutes"], walk_ins["wait_p90_minutes"]) == (20.0, 36.0)
    assert (walk_ins["service_median_minutes"], walk_ins["service_p90_minutes"]) == (20.0, 28.0)
    ukrainian = _row(rows, "uk", "office")
    assert (ukrainian["booked"], ukrainian["wait_median_minutes"]) == (1, 5.0)
    # three desks open 8 hours; three visits of 30 minutes kept; 18 + 15 + 30 + 10 served
    assert figures["capacity"] == [
        {
            "date": "2026-11-18",
            "planned_minutes": 1440,
            "booked_minutes": 90,
            "served_minutes": 73.0,
        }
    ]

    csv_response = await client.get(f"{URL}/csv", params=query, headers=auth(token))
    assert csv_response.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert len(parsed) == 3
    online = next(r for r in parsed if (r["language"], r["channel"]) == ("en", "online"))
    assert online["booked"] == "4" and online["wait_median_minutes"] == "12.0"
    assert online["planned_minutes"] == "1440" and online["point_id"] == BASZTOWA

    async with pool.acquire() as conn:
        forgotten = await forget(conn, 1)
    assert forgotten.visits == 6
    assert await pool.fetchval("select count(*) from bookings where visitor_name is not null") == 0
    again = await client.get(URL, params=query, headers=auth(token))
    assert again.json() == figures


async def test_the_statistics_page_draws_its_charts_with_their_numbers(client, pool):
    await make_accounts(pool)
    await _day(pool)
    await client.get("/staff/login")
    await client.post(
        "/staff/login",
        data={
            "email": "basztowa@wizyta.test",
            "password": "correct horse battery staple",
            "csrf_token": client.cookies.get(CSRF_COOKIE),
        },
    )
    page = await client.get(
        f"/staff/points/{BASZTOWA}/statistics", params={"from": "2026-11-17", "to": "2026-11-19"}
    )
    assert page.status_code == 200, page.text
    assert page.text.count('role="img"') == 2
    assert "<caption" in page.text and ">1440<" in page.text
    download = await client.get(
        f"/staff/points/{BASZTOWA}/statistics.csv",
        params={"from": "2026-11-18", "to": "2026-11-18"},
    )
    assert len(list(csv.DictReader(io.StringIO(download.text)))) == 3
