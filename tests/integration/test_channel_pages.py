"""The visitor's pages with channels, a family and several matters: the service step offers
each way a service is booked, the day step asks who comes and what else, the details step
books it through the same use-case as the API, and the visit's page says how it happens."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.booking_helpers import BASZTOWA, EVERYDAY, free_slots
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
DEKERTA = "krakow-jana-dekerta-24"
LEGALISATION = "legalisation-of-stay-and-work"


async def test_the_service_step_offers_each_way_a_service_is_booked(client):
    page = await client.get(f"/points/{BASZTOWA}/book?lang=en")
    assert f"service={EVERYDAY}&amp;channel=phone" in page.text
    assert "by phone" in page.text
    online = await client.get(f"/points/{DEKERTA}/book?lang=uk")
    assert "channel=video" in online.text and "channel=on_site" not in online.text


async def test_the_day_step_asks_who_comes_and_what_else_and_the_days_follow(client):
    query = {"service": EVERYDAY, "channel": "on_site", "language": "uk", "lang": "en"}
    page = await client.get(f"/points/{BASZTOWA}/book?{urlencode(query)}")
    assert page.status_code == 200
    assert 'name="party"' in page.text and f'value="{LEGALISATION}"' in page.text
    query |= {"party": "3", "also": LEGALISATION}
    longer = await client.get(f"/points/{BASZTOWA}/book?{urlencode(query)}")
    assert "100 minutes" in longer.text  # each matter: 30 + 2 × 10
    too_many = await client.get(f"/points/{BASZTOWA}/book?{urlencode(query | {'party': '9'})}")
    assert "At most 4 people may come to one visit" in too_many.text


async def test_a_family_books_two_matters_by_phone_through_the_pages(client, pool):
    slot = (await free_slots(client, channel="phone", party_size=2, extra_service=LEGALISATION))[0]
    shape = {"service": EVERYDAY, "channel": "phone", "party": "2", "also": LEGALISATION}
    query = shape | {"language": "uk", "day": slot["start"][:10], "start": slot["start"]}
    details = await client.get(f"/points/{BASZTOWA}/book?{urlencode(query)}&lang=en")
    assert "The consultant calls this number at the time of the visit." in details.text
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        **shape,
        "language": "uk",
        "start": slot["start"],
        "key": re.search(r'name="key" value="([^"]+)"', details.text)[1],
        "name": "Оксана Мельник",
        "email": "oksana@example.org",
    }
    refused = await client.post(f"/points/{BASZTOWA}/book?lang=en", data=form)
    assert refused.status_code == 422
    assert "please give the number the consultant should call" in refused.text
    assert await pool.fetchval("select count(*) from bookings") == 0
    booked = await client.post(
        f"/points/{BASZTOWA}/book?lang=en", data=form | {"phone": "+48600100200"}
    )
    assert booked.status_code == 200, booked.text  # "check your e-mail", after the redirect
    row = await pool.fetchrow("select channel, party_size, extra_services from bookings")
    assert dict(row) == {"channel": "phone", "party_size": 2, "extra_services": [LEGALISATION]}
    assert "will call you at +48600100200 at this time" in booked.text


async def test_the_point_page_shows_the_hours_of_phone_and_video_visits_apart(client):
    page = await client.get(f"/points/{DEKERTA}?lang=en")
    assert "This point does not receive visitors on site" in page.text
    assert 'id="hours-phone"' in page.text and 'id="hours-video"' in page.text
    assert "channel=video" in page.text
    basztowa = await client.get(f"/points/{BASZTOWA}?lang=en")
    assert 'id="hours-phone"' in basztowa.text and 'id="hours-video"' not in basztowa.text
    assert "does not receive visitors on site" not in basztowa.text


async def test_the_first_free_visit_in_my_language_links_to_the_booking_form(client):
    form = await client.get("/find?lang=uk")
    assert form.status_code == 200 and 'name="service"' in form.text
    query = {"service": EVERYDAY, "language": "uk", "city": "Kraków", "channel": "on_site"}
    page = await client.get(f"/find?{urlencode(query)}&lang=en")
    assert page.status_code == 200
    first = (
        await client.get(
            "/api/v1/availability",
            params=query | {"from": str(__import__("datetime").date.today())},
        )
    ).json()
    slots = [s for day in first["days"] for s in day["slots"]]
    link = re.search(r'href="(/points/[^"]+/book\?[^"]+)"', page.text)[1].replace("&amp;", "&")
    assert link.startswith(f"/points/{slots[0]['point_id']}/book?")
    details = await client.get(link + "&lang=en")
    assert details.status_code == 200 and 'name="email"' in details.text
    phone = await client.get(f"/find?{urlencode(query | {'channel': 'phone'})}&lang=en")
    assert "nowy-sacz" in phone.text or "krakow" in phone.text
