"""The points' hours in open formats, read by consumers nobody here wrote: the OpenStreetMap
`opening_hours` value evaluated by opening-hours-py (a full parser of the OSM specification),
and the JSON-LD of each point's page extracted with extruct, both equal to `/hours` for every
day of the next 90 days of every seeded point."""

from __future__ import annotations

import datetime as dt
import json

import extruct
import opening_hours
import pytest

from scheduling.contacts import NETWORK_PHONES
from scheduling.open_formats import BCP47
from tests.staff_helpers import login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")

DAYS = 90
SEED_PREMISES = json.loads(
    (__import__("pathlib").Path(__file__).parents[2] / "scheduling/seed_premises.json").read_text()
)["premises"]


@pytest.fixture
async def staff_token(client, seeded):
    return await login(client, (await make_accounts(seeded)).basztowa)


async def _points(client) -> list[dict]:
    return (await client.get("/api/v1/points")).json()


async def _hours(client, point_id: str) -> dict[dt.date, list[tuple[str, str]]]:
    """What /hours says, 90 days from today, in two requests (it answers 93 days at most)."""
    first = (await client.get(f"/api/v1/points/{point_id}/hours")).json()["days"][0]["date"]
    start = dt.date.fromisoformat(first)
    out: dict[dt.date, list[tuple[str, str]]] = {}
    for offset in (0, 45):
        a, b = start + dt.timedelta(days=offset), start + dt.timedelta(days=offset + 44)
        body = (
            await client.get(f"/api/v1/points/{point_id}/hours", params={"from": a, "to": b})
        ).json()
        for day in body["days"]:
            out[dt.date.fromisoformat(day["date"])] = [
                (i["opens"], i["closes"]) for i in day["intervals"]
            ]
    assert len(out) == DAYS
    return out


def _osm_days(value: str, days) -> dict[dt.date, list[tuple[str, str]]]:
    """The OPEN intervals opening-hours-py finds on each day."""
    parsed = opening_hours.OpeningHours(value)
    first, last = min(days), max(days)
    out: dict[dt.date, list[tuple[str, str]]] = {d: [] for d in days}
    start = dt.datetime.combine(first, dt.time(0))
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0))
    for begin, finish, state, _comment in parsed.intervals(start, end):
        if state != opening_hours.State.OPEN:
            continue
        assert begin.date() == (finish - dt.timedelta(seconds=1)).date(), (begin, finish)
        out[begin.date()].append((f"{begin:%H:%M}", f"{finish:%H:%M}"))
    return out


async def test_the_opening_hours_value_evaluates_to_hours_for_90_days_at_every_point(client):
    special_seen = 0
    for point in await _points(client):
        response = await client.get(f"/api/v1/points/{point['id']}/opening_hours")
        assert response.status_code == 200
        body = response.json()
        assert body["timezone"] == "Europe/Warsaw"
        expected = await _hours(client, point["id"])
        assert _osm_days(body["opening_hours"], expected) == expected, body["opening_hours"]
        special_seen += body["opening_hours"].count(" off")
    assert special_seen, "the next 90 days hold holidays, which the values must write"


async def test_a_closure_at_short_notice_shows_in_the_opening_hours(client, staff_token):
    point = "krakow-basztowa-22"
    hours = await _hours(client, point)
    day = next(d for d, i in sorted(hours.items()) if i and d > min(hours))
    closed = await client.post(
        f"/api/v1/staff/points/{point}/outages",
        json={"date": day.isoformat()},
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert closed.status_code == 201, closed.text
    value = (await client.get(f"/api/v1/points/{point}/opening_hours")).json()["opening_hours"]
    assert f"{day.year} {day:%b} {day:%d} off" in value
    after = await _hours(client, point)
    assert after[day] == []
    assert _osm_days(value, after) == after


def _evaluate_json_ld(office: dict, day: dt.date) -> list[tuple[str, str]]:
    """schema.org's meaning: a special specification valid on the day replaces the weekly ones;
    opens = closes = 00:00 is closed."""
    special = [
        s
        for s in office["specialOpeningHoursSpecification"]
        if dt.date.fromisoformat(s["validFrom"]) <= day <= dt.date.fromisoformat(s["validThrough"])
    ]
    if special:
        specs = special
    else:
        name = f"https://schema.org/{day:%A}"
        specs = [s for s in office["openingHoursSpecification"] if name in s["dayOfWeek"]]
    return sorted(
        (s["opens"], s["closes"]) for s in specs if (s["opens"], s["closes"]) != ("00:00", "00:00")
    )


async def test_each_points_page_carries_json_ld_that_extruct_reads_field_by_field(client):
    coordinates = {p["point_id"]: (p["latitude"], p["longitude"]) for p in SEED_PREMISES}
    for point in await _points(client):
        page = await client.get(f"/points/{point['id']}", params={"lang": "en"})
        assert page.status_code == 200
        found = extruct.extract(page.text, base_url=str(page.url), syntaxes=["json-ld"])
        [office] = found["json-ld"]
        assert office["@context"] == "https://schema.org"
        assert office["@type"] == "GovernmentOffice"
        assert office["name"] == point["names"]["en"]
        assert office["url"].endswith(f"/points/{point['id']}")
        address = office["address"]
        assert address["@type"] == "PostalAddress"
        assert address["streetAddress"] == point["address"]["street"]
        assert address["addressLocality"] == point["address"]["city"]
        assert address["addressCountry"] == "PL"
        assert address.get("postalCode") == point["address"].get("postal_code")
        assert office["geo"] == {
            "@type": "GeoCoordinates",
            "latitude": coordinates[point["id"]][0],
            "longitude": coordinates[point["id"]][1],
        }
        assert office["telephone"] == (point["phones"] or NETWORK_PHONES)[0]
        assert office["availableLanguage"] == [BCP47[c] for c in point["languages"]]
        hours = await _hours(client, point["id"])
        for day, intervals in hours.items():
            assert _evaluate_json_ld(office, day) == sorted(intervals), (point["id"], day)
        if any(hours.values()):  # Dekerta 24 sees visitors by phone and video only (no hours)
            assert office["specialOpeningHoursSpecification"], "holidays lie in the next 90 days"


async def test_the_page_shows_the_opening_hours_value_for_mappers(client):
    value = (await client.get("/api/v1/points/krakow-basztowa-22/opening_hours")).json()
    page = await client.get("/points/krakow-basztowa-22")
    assert value["opening_hours"] in page.text.replace("&#34;", '"')


async def test_an_unknown_points_opening_hours_are_a_404(client):
    response = await client.get("/api/v1/points/atlantis/opening_hours")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
