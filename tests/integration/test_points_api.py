"""The public scheduling API on the seed data, against real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.usefixtures("seeded")

RONDO = "krakow-przy-rondzie-6"
BASZTOWA = "krakow-basztowa-22"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


async def test_every_seeded_point_is_listed_with_its_languages(client):
    response = await client.get("/api/v1/points")
    assert response.status_code == 200
    points = {p["id"]: p for p in response.json()}
    assert set(points) == {
        RONDO,
        BASZTOWA,
        "krakow-chlopickiego-4",
        "krakow-jana-dekerta-24",
        "tarnow-solidarnosci-5-9",
        "nowy-sacz-jagiellonska-52",
    }
    assert {"pjm", "ukl", "rsl"} <= set(points[BASZTOWA]["languages"])
    assert points[RONDO]["address"]["postal_code"] == "31-547"


async def test_an_unknown_point_is_a_404_problem(client):
    body = _problem(await client.get("/api/v1/points/atlantis"), 404)
    assert "atlantis" in body["detail"]


async def test_a_point_lists_the_services_it_offers(client):
    response = await client.get(f"/api/v1/points/{RONDO}/services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()}
    assert "case-status" in services
    assert services["case-status"]["duration_minutes"] > 0


async def test_hours_follow_the_2023_document_on_a_monday_and_a_friday(client):
    response = await client.get(
        f"/api/v1/points/{RONDO}/hours", params={"from": "2026-11-23", "to": "2026-11-29"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "Europe/Warsaw"
    days = {d["date"]: d for d in body["days"]}
    assert len(days) == 7
    monday = days["2026-11-23"]
    assert monday["status"] == "open"
    assert monday["intervals"] == [
        {
            "opens": "07:00",
            "closes": "18:00",
            "start": "2026-11-23T07:00:00+01:00",
            "end": "2026-11-23T18:00:00+01:00",
        }
    ]
    assert [(i["opens"], i["closes"]) for i in days["2026-11-27"]["intervals"]] == [
        ("07:30", "18:00")
    ]
    assert days["2026-11-29"]["status"] == "closed"


async def test_christmas_is_closed_with_the_holiday_named_in_four_languages(client):
    response = await client.get(
        f"/api/v1/points/{BASZTOWA}/hours", params={"from": "2026-12-25", "to": "2026-12-25"}
    )
    (day,) = response.json()["days"]
    assert day["status"] == "closed" and day["intervals"] == []
    (reason,) = day["reasons"]
    assert reason["kind"] == "holiday"
    assert set(reason["label"]) == {"pl", "en", "uk", "ru"}


async def test_a_seeded_open_saturday_is_open_as_a_special_day(client):
    response = await client.get(
        f"/api/v1/points/{RONDO}/hours", params={"from": "2027-01-16", "to": "2027-01-16"}
    )
    (day,) = response.json()["days"]
    assert day["status"] == "open"
    assert [r["kind"] for r in day["reasons"]] == ["special"]


async def test_hours_across_the_spring_dst_change_carry_the_summer_offset(client):
    response = await client.get(
        f"/api/v1/points/{BASZTOWA}/hours", params={"from": "2027-03-26", "to": "2027-03-30"}
    )
    days = {d["date"]: d for d in response.json()["days"]}
    assert days["2027-03-26"]["intervals"][0]["start"].endswith("+01:00")
    assert days["2027-03-30"]["intervals"][0]["start"].endswith("+02:00")


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"from": "2026-12-10", "to": "2026-12-01"}, 422, "before"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, 422, "at most 93 days"),
        ({"from": "2026-13-01"}, 400, "from"),
        ({"from": "yesterday"}, 400, "from"),
    ],
)
async def test_a_bad_hours_range_gets_a_clear_problem(client, params, status, fragment):
    body = _problem(await client.get(f"/api/v1/points/{RONDO}/hours", params=params), status)
    assert fragment in body["detail"]


async def _availability(client, **params):
    return await client.get(f"/api/v1/points/{BASZTOWA}/availability", params=params)


async def test_availability_offers_free_slots_on_the_grid_within_hours(client):
    today = dt.date.today()
    response = await _availability(
        client,
        service="everyday-matters",
        language="uk",
        **{"from": str(today), "to": str(today + dt.timedelta(days=13))},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["service_id"] == "everyday-matters" and body["language"] == "uk"
    assert len(body["days"]) == 14
    slots = [s for d in body["days"] for s in d["slots"]]
    assert slots, "two weeks of a weekday point must have slots"
    for slot in slots:
        start = dt.datetime.fromisoformat(slot["start"])
        end = dt.datetime.fromisoformat(slot["end"])
        assert end - start == dt.timedelta(minutes=30)
        assert slot["free"] >= 1
        assert start > dt.datetime.now(dt.UTC)


async def test_a_sign_language_is_served_only_by_the_desks_that_speak_it(client):
    today = dt.date.today()
    rng = {"from": str(today), "to": str(today + dt.timedelta(days=13))}
    signed = (await _availability(client, service="everyday-matters", language="pjm", **rng)).json()
    spoken = (await _availability(client, service="everyday-matters", language="uk", **rng)).json()
    signed_free = max(s["free"] for d in signed["days"] for s in d["slots"])
    spoken_free = max(s["free"] for d in spoken["days"] for s in d["slots"])
    assert signed_free == 1 < spoken_free


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"service": "astrology", "language": "uk"}, 404, "astrology"),
        ({"service": "everyday-matters", "language": "xx"}, 422, "Unknown language"),
        ({"language": "uk"}, 400, "service"),
    ],
)
async def test_bad_availability_queries_get_a_clear_problem(client, params, status, fragment):
    body = _problem(await _availability(client, **params), status)
    assert fragment in body["detail"]


async def test_a_language_a_point_does_not_offer_is_refused(client):
    response = await client.get(
        f"/api/v1/points/{RONDO}/availability", params={"service": "case-status", "language": "ru"}
    )
    body = _problem(response, 422)
    assert "not offered in 'ru'" in body["detail"]


async def test_availability_of_an_unknown_point_is_404(client):
    response = await client.get(
        "/api/v1/points/atlantis/availability", params={"service": "x", "language": "pl"}
    )
    _problem(response, 404)
