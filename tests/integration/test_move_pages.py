"""Moving a visit from its page: picking a time only asks ("from → to"), the button moves; a
cancelled visit's move page lists no times and says it was cancelled."""

from __future__ import annotations

import re

import pytest

from tests.booking_helpers import book, free_slots
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")


async def held_visit(client) -> tuple[str, str, list[dict]]:
    slots = await free_slots(client)
    response = await book(client, slots[0]["start"], "olena@example.org")
    assert response.status_code == 201, response.text
    return response.json()["reference"], response.json()["manage_token"], slots


async def test_picking_a_new_time_asks_first_and_only_the_button_moves(client, pool):
    reference, token, slots = await held_visit(client)
    target = slots[1]["start"]
    day = target[:10]
    times = await client.get(
        f"/bookings/{reference}/move", params={"token": token, "day": day, "lang": "en"}
    )
    assert times.status_code == 200
    assert 'method="get"' in times.text  # a time button leads to the question, not the move
    asked = await client.get(
        f"/bookings/{reference}/move", params={"token": token, "start": target, "lang": "en"}
    )
    assert asked.status_code == 200
    assert "Move the visit to this time?" in asked.text
    assert re.search(r"<del>.*</del>", asked.text, re.S)  # from …
    assert "Yes, move the visit" in asked.text  # … to, and the button
    before = await pool.fetchrow(
        "select starts_at, sequence from bookings where reference = $1", reference
    )
    assert before["sequence"] == 0
    form = {"csrf_token": client.cookies.get(CSRF_COOKIE), "token": token, "start": target}
    moved = await client.post(f"/bookings/{reference}/move", data=form, follow_redirects=False)
    assert moved.status_code == 303, moved.text
    after = await pool.fetchrow(
        "select starts_at, sequence from bookings where reference = $1", reference
    )
    assert after["sequence"] == 1 and after["starts_at"] != before["starts_at"]


async def test_a_cancelled_visits_move_page_lists_no_times_and_says_it_was_cancelled(client, pool):
    reference, token, slots = await held_visit(client)
    cancelled = await client.post(
        f"/api/v1/bookings/{reference}/cancel", headers={"Authorization": f"Bearer {token}"}
    )
    assert cancelled.status_code == 200, cancelled.text
    for params in ({}, {"day": slots[1]["start"][:10]}, {"start": slots[1]["start"]}):
        page = await client.get(
            f"/bookings/{reference}/move", params={"token": token, "lang": "en", **params}
        )
        assert page.status_code == 200
        assert "This visit was cancelled, so it cannot be moved." in page.text
        assert 'class="times"' not in page.text and 'class="choices days"' not in page.text
        assert "Yes, move the visit" not in page.text
