"""The first free visit across points, against a slow oracle that asks each point in turn.

`GET /api/v1/availability?city=&service=&language=&channel=` must answer exactly what asking
every point of the city (or, by phone and video, every point) for its own availability and
merging the answers by time gives.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.booking_helpers import EVERYDAY, book, free_slots

pytestmark = pytest.mark.usefixtures("seeded")
LEGALISATION = "legalisation-of-stay-and-work"


async def oracle(client, *, city, service, language, channel, first, last, party_size=1):
    """Ask every point in turn, keep those of the city (on site) or all (phone, video)."""
    points = (await client.get("/api/v1/points")).json()
    merged: dict[str, list[tuple[str, str, int, str]]] = {}
    for point in points:
        if channel == "on_site" and point["city"].lower() != city.lower():
            continue
        response = await client.get(
            f"/api/v1/points/{point['id']}/availability",
            params={
                "service": service,
                "language": language,
                "channel": channel,
                "party_size": party_size,
                "from": str(first),
                "to": str(last),
            },
        )
        if response.status_code != 200:  # the point does not offer it so (404 or 422)
            continue
        for day in response.json()["days"]:
            merged.setdefault(day["date"], []).extend(
                (
                    dt.datetime.fromisoformat(s["start"]),
                    dt.datetime.fromisoformat(s["end"]),
                    s["free"],
                    point["id"],
                )
                for s in day["slots"]
            )
    return {
        date: sorted(slots, key=lambda s: (s[0], s[3])) for date, slots in merged.items() if slots
    }


def searched(body) -> dict:
    return {
        day["date"]: [
            (
                dt.datetime.fromisoformat(s["start"]),
                dt.datetime.fromisoformat(s["end"]),
                s["free"],
                s["point_id"],
            )
            for s in day["slots"]
        ]
        for day in body["days"]
        if day["slots"]
    }


CASES = [
    ("Kraków", EVERYDAY, "uk", "on_site", 1),
    ("kraków", LEGALISATION, "en", "on_site", 2),
    ("Tarnów", EVERYDAY, "ru", "on_site", 1),
    (None, EVERYDAY, "uk", "phone", 1),
    (None, "legal-advice", "ru", "video", 1),
    ("Kraków", LEGALISATION, "pl", "phone", 1),  # by phone the city does not matter
]


@pytest.mark.parametrize(("city", "service", "language", "channel", "party"), CASES)
async def test_the_search_equals_asking_every_point_in_turn(
    client, city, service, language, channel, party
):
    # Some visits, so that busy desks shape the answer too.
    taken = await free_slots(client)
    for n, slot in enumerate(taken[:6:2]):
        assert (await book(client, slot["start"], f"b{n}@example.org")).status_code == 201
    first = dt.date.today()
    last = first + dt.timedelta(days=20)
    params = {
        "service": service,
        "language": language,
        "channel": channel,
        "party_size": party,
        "from": str(first),
        "to": str(last),
    }
    if city is not None:
        params["city"] = city
    response = await client.get("/api/v1/availability", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    found = searched(body)
    expected = await oracle(
        client,
        city=city or "",
        service=service,
        language=language,
        channel=channel,
        first=first,
        last=last,
        party_size=party,
    )
    assert found == expected
    assert found, "the seeds offer this somewhere"
    starts = [(s["start"], s["point_id"]) for day in body["days"] for s in day["slots"]]
    assert [dt.datetime.fromisoformat(s) for s, _ in starts] == sorted(
        dt.datetime.fromisoformat(s) for s, _ in starts
    )
    assert [d["date"] for d in body["days"]] == [
        str(first + dt.timedelta(days=n)) for n in range(21)
    ]


async def test_a_phone_search_spans_points_of_several_cities(client):
    response = await client.get(
        "/api/v1/availability", params={"service": EVERYDAY, "language": "en", "channel": "phone"}
    )
    assert response.status_code == 200, response.text
    points = {s["point_id"] for day in response.json()["days"] for s in day["slots"]}
    assert {"krakow-basztowa-22", "nowy-sacz-jagiellonska-52"} <= points


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"service": EVERYDAY, "language": "uk"}, 422, "city"),  # on site needs a city
        (
            {"service": EVERYDAY, "language": "uk", "city": "Kraków", "channel": "fax"},
            422,
            "channel",
        ),
        ({"service": EVERYDAY, "language": "xx", "city": "Kraków"}, 422, "language"),
        ({"service": "nothing", "language": "uk", "city": "Kraków"}, 404, None),
        ({"service": EVERYDAY, "language": "uk", "city": "Atlantis"}, 404, None),
    ],
)
async def test_a_bad_search_says_what_is_wrong(client, params, status, field):
    response = await client.get("/api/v1/availability", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert response.json()["field"] == field
