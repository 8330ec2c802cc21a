"""Channels, parties and several matters through the HTTP API on real PostgreSQL.

A visit is on site, by phone (the consultant calls the visitor) or by video (a room link);
each channel has its own hours, consultants, durations and languages. A family comes to one
visit for longer; several matters make one visit as long as their sum. Every refusal is a 422
naming what is wrong, and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tests.booking_helpers import BASZTOWA, EVERYDAY, book, free_slots

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
DEKERTA = "krakow-jana-dekerta-24"
RONDO = "krakow-przy-rondzie-6"
LEGALISATION = "legalisation-of-stay-and-work"
PHONE_NUMBER = "+48600100200"  # E.164, as stored


def problem(response, code: str, field: str | None = None) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


async def nothing_written(pool) -> None:
    assert await pool.fetchval("select count(*) from bookings") == 0
    assert await pool.fetchval("select count(*) from outbox") == 0


def next_weekday(weekday: int) -> dt.date:
    """The next date (after today) falling on `weekday` (0 = Monday)."""
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return day


# ---------------------------------------------------------------------------- what is offered


async def test_each_offer_lists_its_channels_with_their_own_languages(client):
    response = await client.get(f"/api/v1/points/{BASZTOWA}/services")
    assert response.status_code == 200
    offers = {o["id"]: o for o in response.json()}
    everyday = offers[EVERYDAY]
    assert everyday["channels"] == ["on_site", "phone"]
    by_channel = {c["channel"]: c for c in everyday["channel_offers"]}
    assert "pjm" in by_channel["on_site"]["languages"]
    assert "pjm" not in by_channel["phone"]["languages"]  # no sign language by phone
    dekerta = (await client.get(f"/api/v1/points/{DEKERTA}/services")).json()
    assert all(offer["channels"] == ["phone", "video"] for offer in dekerta)


async def test_phone_hours_are_the_seeds_and_not_the_visiting_hours(client):
    monday = next_weekday(0)
    hours = {}
    for channel in ("on_site", "phone"):
        response = await client.get(
            f"/api/v1/points/{BASZTOWA}/hours",
            params={"from": str(monday), "to": str(monday), "channel": channel},
        )
        assert response.status_code == 200, response.text
        assert response.json()["channel"] == channel
        (day,) = response.json()["days"]
        hours[channel] = [(i["opens"], i["closes"]) for i in day["intervals"]]
    if hours["on_site"]:  # not a public holiday
        assert hours == {"on_site": [("07:00", "18:00")], "phone": [("07:30", "17:00")]}


async def test_the_availability_of_a_channel_follows_its_own_hours(client):
    slots = await free_slots(client, channel="phone", days=14)
    assert slots
    for slot in slots:
        start = dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW)
        end = dt.datetime.fromisoformat(slot["end"]).astimezone(WARSAW)
        assert start.time() >= dt.time(7, 30)
        assert end.time() <= (dt.time(17) if start.weekday() == 0 else dt.time(16, 30))
        assert slot["free"] <= 2  # desks 1 and 2 take calls


# ---------------------------------------------------------------------------- booking


async def test_a_phone_visit_is_held_on_a_consultant_who_takes_calls(client, pool):
    slot = (await free_slots(client, channel="phone"))[0]
    response = await book(
        client, slot["start"], "olena@example.org", channel="phone", phone=PHONE_NUMBER
    )
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["channel"] == "phone" and visit["video_url"] is None
    assert visit["desk_id"] in {"krakow-basztowa-22-desk-1", "krakow-basztowa-22-desk-2"}
    again = await client.get(
        f"/api/v1/bookings/{visit['reference']}",
        headers={"Authorization": f"Bearer {visit['manage_token']}"},
    )
    assert again.json()["channel"] == "phone"
    row = await pool.fetchrow("select channel, visitor_phone from bookings")
    assert dict(row) == {"channel": "phone", "visitor_phone": PHONE_NUMBER}


async def test_a_video_visit_gets_a_room_of_its_own_that_nobody_can_guess(client, pool):
    slots = await free_slots(client, point=DEKERTA, channel="video")
    rooms = []
    for n, slot in enumerate(slots[:2]):
        response = await book(
            client, slot["start"], f"v{n}@example.org", point=DEKERTA, channel="video"
        )
        assert response.status_code == 201, response.text
        rooms.append(response.json()["video_url"])
    prefix = "https://meet.jit.si/wizyta-"
    assert all(room.startswith(prefix) for room in rooms)
    names = [room.removeprefix(prefix) for room in rooms]
    assert names[0] != names[1] and all(len(name) >= 21 for name in names)  # 128 random bits
    stored = await pool.fetch("select video_url from bookings order by starts_at")
    assert [r["video_url"] for r in stored] == rooms


async def test_a_point_may_have_its_own_video_server(client, pool):
    await pool.execute(
        "update points set video_url_template = 'https://video.example.org/{room}?lang=pl' "
        "where id = $1",
        DEKERTA,
    )
    slot = (await free_slots(client, point=DEKERTA, channel="video"))[0]
    response = await book(client, slot["start"], "o@example.org", point=DEKERTA, channel="video")
    assert response.status_code == 201, response.text
    url = response.json()["video_url"]
    assert url.startswith("https://video.example.org/") and url.endswith("?lang=pl")


async def test_a_family_visit_grows_by_the_minutes_of_each_extra_person(client, pool):
    alone = (await free_slots(client))[0]
    family = (await free_slots(client, party_size=3))[0]
    length = dt.datetime.fromisoformat(family["end"]) - dt.datetime.fromisoformat(family["start"])
    assert length == dt.timedelta(minutes=30 + 2 * 10)
    assert dt.datetime.fromisoformat(alone["end"]) - dt.datetime.fromisoformat(
        alone["start"]
    ) == dt.timedelta(minutes=30)
    response = await book(client, family["start"], "family@example.org", party_size=3)
    assert response.status_code == 201, response.text
    assert response.json()["party_size"] == 3
    row = await pool.fetchrow("select party_size, ends_at - starts_at as length from bookings")
    assert row["party_size"] == 3 and row["length"] == length


async def test_a_family_counts_once_in_the_per_person_limit_by_the_bookers_mailbox(client, pool):
    first, second = (await free_slots(client, party_size=2))[:2]
    assert (await book(client, first["start"], "mama@example.org", party_size=2)).status_code == 201
    response = await book(client, second["start"], "Mama@example.org")
    assert response.status_code == 409 and response.json()["code"] == "per_person_limit"
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_several_matters_make_one_visit_as_long_as_their_sum(client, pool):
    slots = await free_slots(client, extra_service=LEGALISATION)
    slot = slots[0]
    length = dt.datetime.fromisoformat(slot["end"]) - dt.datetime.fromisoformat(slot["start"])
    assert length == dt.timedelta(minutes=60)
    response = await book(client, slot["start"], "olena@example.org", extra_services=[LEGALISATION])
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["service_id"] == EVERYDAY and visit["extra_services"] == [LEGALISATION]
    stored = await pool.fetchrow(
        "select extra_services, ends_at - starts_at as length from bookings"
    )
    assert stored["extra_services"] == [LEGALISATION] and stored["length"] == length


async def test_several_matters_go_only_to_a_desk_that_offers_all_of_them(client, pool):
    await pool.execute(
        "update desks set services = array[$2] where point_id = $1 and id <> $3",
        BASZTOWA,
        EVERYDAY,
        "krakow-basztowa-22-desk-2",
    )
    slots = await free_slots(client, extra_service=LEGALISATION)
    assert slots and {s["free"] for s in slots} == {1}
    response = await book(
        client, slots[0]["start"], "olena@example.org", extra_services=[LEGALISATION]
    )
    assert response.json()["desk_id"] == "krakow-basztowa-22-desk-2"


# ---------------------------------------------------------------------------- refusals


async def test_a_channel_the_point_does_not_offer_is_refused(client, pool):
    slot = (await free_slots(client, point=DEKERTA, channel="phone"))[0]
    body = problem(
        await book(client, slot["start"], "o@example.org", point=DEKERTA),  # on site
        "channel_not_offered",
        "channel",
    )
    assert "on_site" in body["detail"] and "phone, video" in body["detail"]
    problem(
        await client.get(
            f"/api/v1/points/{DEKERTA}/availability",
            params={"service": EVERYDAY, "language": "uk"},
        ),
        "channel_not_offered",
        "channel",
    )
    problem(
        await book(client, slot["start"], "o@example.org", point=DEKERTA, channel="fax"),
        "unknown_channel",
        "channel",
    )
    await nothing_written(pool)


async def test_a_party_larger_than_the_service_allows_is_refused(client, pool):
    slot = (await free_slots(client))[0]
    body = problem(
        await book(client, slot["start"], "o@example.org", party_size=5),
        "party_too_large",
        "party_size",
    )
    assert body["max_party_size"] == 4 and body["party_size"] == 5
    problem(
        await book(
            client, slot["start"], "o@example.org", service="integration-activities", party_size=2
        ),
        "party_too_large",
        "party_size",
    )
    await nothing_written(pool)


async def test_matters_no_desk_offers_together_are_refused(client, pool):
    slot = (await free_slots(client))[0]
    await pool.execute(
        "update desks set services = array[$2] where point_id = $1", BASZTOWA, EVERYDAY
    )
    body = problem(
        await book(client, slot["start"], "o@example.org", extra_services=[LEGALISATION]),
        "services_not_together",
        "extra_services",
    )
    assert LEGALISATION in body["detail"]
    problem(
        await client.get(
            f"/api/v1/points/{BASZTOWA}/availability",
            params={"service": EVERYDAY, "language": "uk", "extra_service": LEGALISATION},
        ),
        "services_not_together",
    )
    await nothing_written(pool)


async def test_more_matters_than_the_points_cap_are_refused(client, pool):
    await pool.execute("update points set max_services_per_visit = 1 where id = $1", BASZTOWA)
    slot = (await free_slots(client))[0]
    problem(
        await book(client, slot["start"], "o@example.org", extra_services=[LEGALISATION]),
        "too_many_services",
        "extra_services",
    )
    await nothing_written(pool)


async def test_a_phone_visit_without_a_phone_number_is_refused(client, pool):
    slot = (await free_slots(client, channel="phone"))[0]
    body = problem(
        await book(client, slot["start"], "o@example.org", channel="phone"),
        "phone_required",
        "visitor.phone",
    )
    assert "phone number" in body["detail"]
    await nothing_written(pool)


async def test_a_language_a_channel_does_not_speak_is_refused(client, pool):
    slot = (await free_slots(client, language="pjm"))[0]
    problem(
        await book(
            client,
            slot["start"],
            "o@example.org",
            language="pjm",
            channel="phone",
            phone=PHONE_NUMBER,
        ),
        "language_not_offered",
        "language",
    )
    await nothing_written(pool)


async def test_a_visit_moved_keeps_its_channel_party_and_matters(client, pool):
    slots = await free_slots(client, channel="phone", party_size=2)
    created = (
        await book(
            client,
            slots[0]["start"],
            "o@example.org",
            channel="phone",
            phone=PHONE_NUMBER,
            party_size=2,
        )
    ).json()
    target = next(s for s in slots[1:] if s["start"] >= created["end"])
    response = await client.post(
        f"/api/v1/bookings/{created['reference']}/reschedule",
        json={"start": target["start"]},
        headers={"Authorization": f"Bearer {created['manage_token']}"},
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["channel"], moved["party_size"]) == ("phone", 2)
    assert dt.datetime.fromisoformat(moved["end"]) == dt.datetime.fromisoformat(target["end"])


async def test_staff_give_a_channel_hours_of_its_own_without_touching_the_others(client, pool):
    from tests.staff_helpers import auth, login, make_accounts

    token = await login(client, (await make_accounts(pool)).basztowa)
    saturday = next_weekday(5)
    rule = {
        "kind": "special",
        "dates": [str(saturday)],
        "opens": "10:00",
        "closes": "12:00",
        "channel": "phone",
    }
    created = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/rules", json=rule, headers=auth(token)
    )
    assert created.status_code == 201, created.text
    listed = await client.get(f"/api/v1/staff/points/{BASZTOWA}/rules", headers=auth(token))
    assert any(r["channel"] == "phone" and r["dates"] == [str(saturday)] for r in listed.json())
    params = {"service": EVERYDAY, "language": "uk", "from": str(saturday), "to": str(saturday)}
    phone = await client.get(
        f"/api/v1/points/{BASZTOWA}/availability", params=params | {"channel": "phone"}
    )
    on_site = await client.get(f"/api/v1/points/{BASZTOWA}/availability", params=params)
    (phone_day,) = phone.json()["days"]
    (on_site_day,) = on_site.json()["days"]
    if phone_day["slots"]:  # not a public holiday
        starts = [
            dt.datetime.fromisoformat(s["start"]).astimezone(WARSAW) for s in phone_day["slots"]
        ]
        assert starts[0].time() == dt.time(10) and starts[-1].time() == dt.time(11, 30)
    assert on_site_day["slots"] == []  # Saturday: the visiting hours stay closed


async def test_a_video_template_without_a_room_is_refused_and_nothing_is_written(client, pool):
    from tests.staff_helpers import auth, login, make_accounts

    accounts = await make_accounts(pool)
    token = await login(client, accounts.admin)
    url = f"/api/v1/staff/points/{DEKERTA}"
    before = await pool.fetchval("select video_url_template from points where id = $1", DEKERTA)
    for template in ("https://meet.example.org/wizyta", "ftp://x/{room}", "https://x/{room}{y}"):
        body = problem(
            await client.patch(url, json={"video_url_template": template}, headers=auth(token)),
            "video_template_invalid",
            "video_url_template",
        )
        assert template in body["detail"]
    assert (
        await pool.fetchval("select video_url_template from points where id = $1", DEKERTA)
        == before
    )
    good = await client.patch(
        url, json={"video_url_template": "https://video.example.org/{room}"}, headers=auth(token)
    )
    assert good.status_code == 200, good.text
    assert (
        await pool.fetchval("select video_url_template from points where id = $1", DEKERTA)
        == "https://video.example.org/{room}"
    )


def test_a_video_url_template_without_a_room_stops_the_service_at_start():
    from core.settings import Settings

    with pytest.raises(SystemExit, match=r"VIDEO_URL_TEMPLATE must contain \{room\}"):
        Settings.from_env({"VIDEO_URL_TEMPLATE": "https://meet.jit.si/wizyta"})
    with pytest.raises(ValueError, match="VIDEO_URL_TEMPLATE"):
        Settings(video_url_template="https://meet.jit.si/wizyta")
    assert Settings.from_env({}).video_url_template == "https://meet.jit.si/wizyta-{room}"


async def test_staff_book_a_phone_visit_for_a_caller_through_the_same_core(client, pool):
    from tests.staff_helpers import auth, login, make_accounts

    token = await login(client, (await make_accounts(pool)).basztowa)
    free = await client.get(
        f"/api/v1/staff/points/{BASZTOWA}/availability",
        params={"service": EVERYDAY, "language": "uk", "channel": "phone"},
        headers=auth(token),
    )
    assert free.status_code == 200, free.text
    assert free.json()["channel"] == "phone"
    # The first time of a day after the first one offered: a party of two takes longer than
    # the slots listed for one, and late in the day today's last slot is too short for it.
    slot = [day for day in free.json()["days"] if day["slots"]][1]["slots"][0]
    body = {
        "service_id": EVERYDAY,
        "start": slot["start"],
        "language": "uk",
        "visitor": {"name": "Олена", "phone": PHONE_NUMBER},
        "channel": "phone",
        "party_size": 2,
    }
    url = f"/api/v1/staff/points/{BASZTOWA}/bookings"
    booked = await client.post(url, json=body, headers=auth(token))
    assert booked.status_code == 201, booked.text
    assert (booked.json()["channel"], booked.json()["party_size"]) == ("phone", 2)
    refused = await client.post(
        url, json=body | {"visitor": {"name": "X", "email": "x@example.org"}}, headers=auth(token)
    )
    problem(refused, "phone_required", "visitor.phone")
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_a_phone_visit_is_judged_by_the_phone_hours_not_the_visiting_hours(client, pool):
    """Regression: the day sheet's "outside the hours after a change" read every visit against
    the visiting hours, so each visit at a point that works by phone looked stranded."""
    from tests.staff_helpers import auth, login, make_accounts

    slot = (await free_slots(client, point=DEKERTA, channel="phone"))[0]
    booked = await book(
        client, slot["start"], "o@example.org", point=DEKERTA, channel="phone", phone=PHONE_NUMBER
    )
    assert booked.status_code == 201, booked.text
    token = await login(client, (await make_accounts(pool)).admin)
    day = dt.datetime.fromisoformat(slot["start"]).astimezone(WARSAW).date()
    sheet = await client.get(
        f"/api/v1/staff/points/{DEKERTA}/visits", params={"date": str(day)}, headers=auth(token)
    )
    assert sheet.status_code == 200, sheet.text
    (visit,) = sheet.json()["visits"] if isinstance(sheet.json(), dict) else sheet.json()
    assert visit["channel"] == "phone" and visit["outside_hours"] is False
