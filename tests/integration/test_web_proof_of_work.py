"""The booking page's form asks for the same proof of work as the API (ALTCHA v1, the widget's
`altcha` field): checked before anything is written, bound to the point, used for one request;
a refusal is a sentence next to the widget, in the visitor's language, with the form kept."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from booking import pow
from tests.booking_helpers import BASZTOWA, EVERYDAY, free_slots
from tests.conftest import app_for
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")

TARNOW = "tarnow-solidarnosci-5-9"


@pytest.fixture
async def pow_client(settings, pool, redis):
    async with (
        app_for(msgspec.structs.replace(settings, proof_of_work=True)) as app,
        AsyncTestClient(app=app) as client,
    ):
        yield client


async def _details(client, start: str, point: str = BASZTOWA):
    """The details step as a visitor opens it: its page, and the form's hidden fields."""
    query = urlencode({"service": EVERYDAY, "language": "uk", "day": start[:10], "start": start})
    response = await client.get(f"/points/{point}/book?{query}")
    assert response.status_code == 200, response.text
    key = re.search(r'name="key" value="([^"]+)"', response.text)
    assert key, "the details form has no Idempotency-Key field"
    return response, {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "service": EVERYDAY,
        "language": "uk",
        "start": start,
        "key": key[1],
        "name": "Олена Коваленко",
        "email": "olena@example.org",
        "phone": "+380 67 123 4567",
        "notes": "Карта побиту",
    }


async def _solution(client, point: str = BASZTOWA) -> str:
    response = await client.get("/api/v1/challenge", params={"point_id": point})
    assert response.status_code == 200, response.text
    return pow.solve(msgspec.convert(response.json(), pow.Challenge))


async def _send(client, form: dict, point: str = BASZTOWA):
    return await client.post(f"/points/{point}/book", data=form, follow_redirects=False)


def _error_next_to_the_widget(page: str) -> str:
    found = re.search(r'<p class="error" id="altcha-error">(.*?)</p>\s*<altcha-widget', page, re.S)
    assert found, "no error right before the widget"
    message = re.sub(r'<span class="vh">.*?</span>', "", found[1])  # "Error:" for screen readers
    return html.unescape(re.sub(r"<[^>]+>", "", message)).strip()


async def _visits(pool) -> int:
    return await pool.fetchval("select count(*) from bookings")


async def test_the_details_step_carries_the_widget_with_a_policy_that_lets_it_run(pow_client):
    start = (await free_slots(pow_client))[0]["start"]
    page, _ = await _details(pow_client, start)
    assert "<altcha-widget" in page.text
    assert f'challengeurl="/api/v1/challenge?point_id={BASZTOWA}"' in page.text
    assert 'src="/static/vendor/altcha/altcha.js?v=' in page.text
    assert 'workerurl="/static/vendor/altcha/worker.js?v=' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "worker-src 'self'" in csp
    assert "connect-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe" not in csp and "blob:" not in csp
    # Without JavaScript: a note saying why, with the point's phone and e-mail instead.
    note = re.search(r"<noscript>(.*?)</noscript>", page.text, re.S)
    assert note and "JavaScript" in note[1]
    assert 'href="tel:' in note[1] and 'href="mailto:' in note[1]
    # The widget's own files are served from this site.
    for name in ("altcha.js", "worker.js", "altcha.css"):
        response = await pow_client.get(f"/static/vendor/altcha/{name}")
        assert response.status_code == 200, name
    # The other steps and pages run no code and keep the policy without scripts.
    day = await pow_client.get(f"/points/{BASZTOWA}/book?service={EVERYDAY}&language=uk")
    assert "script-src" not in day.headers["content-security-policy"]
    assert "<altcha-widget" not in day.text


async def test_without_proof_of_work_no_widget_is_shown_and_nothing_is_checked(client, pool):
    start = (await free_slots(client))[0]["start"]
    page, form = await _details(client, start)
    assert "<altcha-widget" not in page.text and "<noscript>" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    response = await _send(client, form)
    assert response.status_code == 303, response.text
    assert await _visits(pool) == 1


async def test_a_point_whose_difficulty_is_zero_shows_no_widget(pow_client, pool):
    await pool.execute("update points set pow_max_number = 0 where id = $1", BASZTOWA)
    start = (await free_slots(pow_client))[0]["start"]
    page, form = await _details(pow_client, start)
    assert "<altcha-widget" not in page.text
    assert (await _send(pow_client, form)).status_code == 303
    assert await _visits(pool) == 1


async def test_a_form_without_a_solution_is_shown_again_with_the_reason_and_nothing_written(
    pow_client, pool
):
    start = (await free_slots(pow_client))[0]["start"]
    _, form = await _details(pow_client, start)
    response = await _send(pow_client, form)
    assert response.status_code == 422
    assert "JavaScript" in _error_next_to_the_widget(response.text)
    assert 'href="#altcha"' in response.text  # the error summary leads to the widget
    # What the visitor typed is still there, with the same Idempotency-Key, and a new widget.
    assert 'value="Олена Коваленко"' in response.text
    assert 'value="olena@example.org"' in response.text
    assert ">Карта побиту</textarea>" in response.text
    assert f'name="key" value="{form["key"]}"' in response.text
    assert "<altcha-widget" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert await _visits(pool) == 0
    assert await pool.fetchval("select count(*) from idempotency_keys") == 0


async def test_the_reason_is_in_the_visitors_language(pow_client, pool):
    start = (await free_slots(pow_client))[0]["start"]
    pow_client.cookies.set("wizyta_lang", "pl")
    _, form = await _details(pow_client, start)
    response = await _send(pow_client, form | {"altcha": "bm90IGEgc29sdXRpb24="})
    assert response.status_code == 422
    assert _error_next_to_the_widget(response.text).startswith(
        "Automatyczne sprawdzenie chroniące przed botami nie zostało przyjęte"
    )
    assert await _visits(pool) == 0


async def test_a_solution_for_another_point_is_refused(pow_client, pool):
    start = (await free_slots(pow_client))[0]["start"]
    _, form = await _details(pow_client, start)
    response = await _send(pow_client, form | {"altcha": await _solution(pow_client, TARNOW)})
    assert response.status_code == 422
    assert "not accepted" in _error_next_to_the_widget(response.text)
    assert await _visits(pool) == 0


async def test_a_solved_form_books_and_its_solution_cannot_book_again(pow_client, pool):
    slots = await free_slots(pow_client)
    _, form = await _details(pow_client, slots[0]["start"])
    solution = await _solution(pow_client)
    first = await _send(pow_client, form | {"altcha": solution})
    assert first.status_code == 303, first.text
    assert re.match(r"^/bookings/[A-Z0-9-]+/sent$", first.headers["location"])
    assert await _visits(pool) == 1

    # The same form sent again (a double click, a resend) books nothing new: same answer.
    again = await _send(pow_client, form | {"altcha": solution})
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]

    # The solution is spent: another booking (another form, another person) is refused.
    _, other = await _details(pow_client, slots[1]["start"])
    other |= {"email": "maria@example.org", "name": "Марія Петренко", "altcha": solution}
    replay = await _send(pow_client, other)
    assert replay.status_code == 422
    assert "not accepted" in _error_next_to_the_widget(replay.text)
    assert await _visits(pool) == 1


async def test_an_invalid_form_does_not_spend_its_solution(pow_client, pool):
    start = (await free_slots(pow_client))[0]["start"]
    _, form = await _details(pow_client, start)
    solution = await _solution(pow_client)
    missing_name = await _send(pow_client, form | {"name": "", "altcha": solution})
    assert missing_name.status_code == 422 and 'id="name-error"' in missing_name.text
    assert 'id="altcha-error"' not in missing_name.text
    fixed = await _send(pow_client, form | {"altcha": solution})
    assert fixed.status_code == 303, fixed.text
    assert await _visits(pool) == 1
