"""The opening-hours feed over HTTP: what a subscribing calendar app sees equals /hours."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar
import pytest
import recurring_ical_events

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
POINTS = ["krakow-przy-rondzie-6", "krakow-basztowa-22"]
#: (point, channel): visiting hours, and the hours of phone and video visits
FEEDS = [
    *((point, "on_site") for point in POINTS),
    ("krakow-basztowa-22", "phone"),
    ("krakow-jana-dekerta-24", "phone"),
    ("krakow-jana-dekerta-24", "video"),
]


async def _hours(client, point: str, first: dt.date, last: dt.date, channel="on_site") -> dict:
    """/hours in 93-day pages, as {date: [(opens, closes)]}."""
    result: dict[str, list[tuple[str, str]]] = {}
    start = first
    while start <= last:
        end = min(last, start + dt.timedelta(days=92))
        response = await client.get(
            f"/api/v1/points/{point}/hours",
            params={"from": str(start), "to": str(end), "channel": channel},
        )
        for day in response.json()["days"]:
            result[day["date"]] = [(i["opens"], i["closes"]) for i in day["intervals"]]
        start = end + dt.timedelta(days=1)
    return result


@pytest.mark.parametrize(("point", "channel"), FEEDS)
async def test_the_feed_expanded_by_a_real_consumer_equals_hours_for_twelve_months(
    client, point, channel
):
    response = await client.get(f"/calendars/points/{point}.ics", params={"channel": channel})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.get("REFRESH-INTERVAL") is not None
    assert calendar.get("X-PUBLISHED-TTL") is not None
    assert calendar.walk("VTIMEZONE")
    first = dt.datetime.now(WARSAW).date()
    last = first + dt.timedelta(days=364)
    expected = await _hours(client, point, first, last, channel)
    seen: dict[str, list[tuple[str, str]]] = {d: [] for d in expected}
    events = recurring_ical_events.of(calendar).between(first, last + dt.timedelta(days=1))
    for event in events:
        start = event["DTSTART"].dt
        if not isinstance(start, dt.datetime):
            continue  # all-day notes of closures are transparent and carry no hours
        start, end = start.astimezone(WARSAW), event["DTEND"].dt.astimezone(WARSAW)
        seen.setdefault(str(start.date()), []).append(
            (start.strftime("%H:%M"), end.strftime("%H:%M"))
        )
    mismatched = {
        d: (sorted(seen.get(d, [])), v)
        for d, v in expected.items()
        if sorted(seen.get(d, [])) != sorted(v)
    }
    assert not mismatched
    assert any(expected.values())


async def test_the_feed_answers_304_to_its_own_etag(client):
    url = "/calendars/points/krakow-basztowa-22.ics"
    first = await client.get(url)
    etag = first.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    changed = await client.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200


async def test_a_closure_changes_the_feed_and_its_etag_at_once(client, pool):
    url = "/calendars/points/krakow-basztowa-22.ics"
    first = await client.get(url)
    assert (
        await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    ).status_code == 304
    later = dt.date.today() + dt.timedelta(days=40)
    hours = await client.get(
        "/api/v1/points/krakow-basztowa-22/hours",
        params={"from": str(later), "to": str(later + dt.timedelta(days=13))},
    )
    day = next(
        dt.date.fromisoformat(d["date"]) for d in hours.json()["days"] if d["intervals"]
    )  # an open day
    await pool.execute(  # behind the app's back, as another replica would
        "insert into calendar_rules (id, point_id, kind, dates, labels) "
        "values ('test-closed', 'krakow-basztowa-22', 'closed', array[$1::date], "
        """'{"en": "Closed for a test"}')""",
        day,
    )
    after = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]
    assert after.content != first.content


async def test_an_unknown_point_feed_is_404(client):
    response = await client.get("/calendars/points/atlantis.ics")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
