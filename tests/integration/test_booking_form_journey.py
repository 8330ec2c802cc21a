"""The booking form around its answer (issue 15 #8, #9, #12): the page after booking gets the
manage token in a short-lived cookie, never in a URL, and shows the link once; what was typed
survives "choose another time" and a language switch without entering a URL; a visitor told
they already have a visit is offered its link by mail, answered the same either way."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.booking_helpers import BASZTOWA, EVERYDAY, free_slots
from web.booking_flow import DETAILS_COOKIE, SENT_COOKIE
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")

NAME, EMAIL = "Олена Коваленко", "olena.kovalenko@example.org"


def _details_path(start: str, language: str = "uk") -> str:
    query = {"service": EVERYDAY, "language": language, "day": start[:10], "start": start}
    return f"/points/{BASZTOWA}/book?" + urlencode(query)


async def _form(client, start: str, **typed) -> dict:
    page = await client.get(_details_path(start))
    assert page.status_code == 200, page.text
    key = re.search(r'name="key" value="([^"]+)"', page.text)[1]
    return {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "service": EVERYDAY,
        "language": "uk",
        "start": start,
        "key": key,
        "name": NAME,
        "email": EMAIL,
    } | typed


def _value(page: str, field: str) -> str | None:
    found = re.search(rf'<input id="{field}" [^>]*value="([^"]*)"', page)
    return found and found[1]


async def _book(client, form: dict):
    return await client.post(f"/points/{BASZTOWA}/book", data=form, follow_redirects=False)


def _set_cookie(response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert found, f"no {name} cookie in {response.headers.get_list('set-cookie')}"
    return found[0]


async def test_the_page_after_booking_takes_the_token_from_a_cookie_and_shows_the_link_once(
    client, pool
):
    start = (await free_slots(client))[0]["start"]
    answer = await _book(client, await _form(client, start))
    assert answer.status_code == 303, answer.text
    reference = await pool.fetchval("select reference from bookings")
    assert answer.headers["location"] == f"/bookings/{reference}/sent"  # no token in the URL
    cookie = _set_cookie(answer, SENT_COOKIE).lower()
    for attribute in ("httponly", "samesite=strict", f"path=/bookings/{reference.lower()}/sent"):
        assert attribute in cookie, cookie
    assert "max-age=1800" in cookie  # as long as the hold (HOLD_MINUTES)

    first = await client.get(answer.headers["location"] + "?lang=en")
    assert first.status_code == 200
    link = re.search(r'id="manage-link">([^<]+)<', first.text)[1]
    assert f"/bookings/{reference}/manage?token=" in link
    reload = await client.get(answer.headers["location"] + "?lang=en")
    assert reload.status_code == 200
    assert "manage-link" not in reload.text and "token=" not in reload.text
    assert 'id="link-shown"' in reload.text
    assert EMAIL in reload.text  # still the visit and where its mail goes

    client.cookies.delete(SENT_COOKIE, path=f"/bookings/{reference}/sent")
    client.cookies.clear()
    stranger = await client.get(f"/bookings/{reference}/sent?lang=en")
    assert stranger.status_code == 200
    assert EMAIL not in stranger.text and "manage-link" not in stranger.text
    assert f"/bookings/link?reference={reference}" in stranger.text


async def test_typed_details_survive_choosing_another_time_and_switching_the_language(client, pool):
    slots = await free_slots(client)
    first, second = slots[0]["start"], slots[1]["start"]
    typed = await _form(client, first, phone="+380 67 123 4567", needs="step-free-access")
    kept = await client.post(
        f"/points/{BASZTOWA}/book/keep", data=typed | {"go": "time"}, follow_redirects=False
    )
    assert kept.status_code == 303
    location = kept.headers["location"]
    assert location.startswith(f"/points/{BASZTOWA}/book?") and "start=" not in location
    assert f"day={first[:10]}" in location
    for private in ("olena", "kovalenko", "380", NAME):
        assert private not in location
    cookie = _set_cookie(kept, DETAILS_COOKIE).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert f"path=/points/{BASZTOWA}/book" in cookie

    # Another time: the form comes back filled in.
    again = await client.get(_details_path(second))
    assert _value(again.text, "name") == NAME
    assert _value(again.text, "email") == EMAIL
    assert _value(again.text, "phone") == "+380 67 123 4567"
    assert 'value="step-free-access" checked' in again.text

    # The language switch on the form posts it too, and comes back to the same form.
    switched = await client.post(
        f"/points/{BASZTOWA}/book/keep",
        data=typed | {"start": second, "go": "ru", "name": "Олена К."},
        follow_redirects=False,
    )
    assert switched.status_code == 303
    assert "name" not in switched.headers["location"]
    assert "wizyta_lang=ru" in _set_cookie(switched, "wizyta_lang")
    russian = await client.get(switched.headers["location"])
    assert '<html lang="ru">' in russian.text
    assert _value(russian.text, "name") == "Олена К."
    assert 'formaction="/points/krakow-basztowa-22/book/keep"' in russian.text

    # The steps above the form (service, language, day, time) keep it as well.
    assert 'name="go" value="day"' in russian.text
    day = await client.post(
        f"/points/{BASZTOWA}/book/keep", data=typed | {"go": "day"}, follow_redirects=False
    )
    assert day.headers["location"] == f"/points/{BASZTOWA}/book?service={EVERYDAY}&language=uk"

    # Booked: the kept details are forgotten.
    booked = await _book(client, await _form(client, second))
    assert booked.status_code == 303
    assert "max-age=0" in _set_cookie(booked, DETAILS_COOKIE).lower()
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_a_visitor_told_they_have_a_visit_already_can_have_its_link_mailed(client, pool):
    slots = await free_slots(client)
    booked = await _book(client, await _form(client, slots[0]["start"]))
    assert booked.status_code == 303
    outbox = "select count(*) from outbox where kind = 'manage_link'"

    # Back, and the form sent again (a new form, a new key): the per-person limit.
    again = await client.post(
        f"/points/{BASZTOWA}/book?lang=en", data=await _form(client, slots[1]["start"])
    )
    assert again.status_code == 422
    assert "You already have a visit booked at this point" in again.text
    assert 'formaction="/points/krakow-basztowa-22/book/links"' in again.text
    assert "/manage?token=" not in again.text  # the link goes to the mailbox, not the page

    form = await _form(client, slots[1]["start"])
    sent = await client.post(f"/points/{BASZTOWA}/book/links", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"/points/{BASZTOWA}/book/links"
    answer = await client.get(sent.headers["location"] + "?lang=en")
    assert "we have just sent the link to it there" in answer.text
    assert await pool.fetchval(outbox) == 1
    to = await pool.fetchval(
        "select b.visitor_email from outbox o join bookings b on b.id = o.booking_id "
        "where o.kind = 'manage_link'"
    )
    assert to == EMAIL

    # Someone else's address, or one with no visit: the same answer, no mail.
    other = form | {"email": "nobody@example.org"}
    sent = await client.post(f"/points/{BASZTOWA}/book/links", data=other, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"/points/{BASZTOWA}/book/links"
    assert await pool.fetchval(outbox) == 1


async def test_the_mails_are_in_the_language_asked_on_the_form_not_the_visits(
    mail_client, pool, smtp_settings, catcher
):
    """A visit talked in Polish, booked on the Ukrainian page: the form asks which language the
    e-mails are in, Ukrainian by default; the API takes `mail_language` too."""
    import email.policy
    from email.parser import BytesParser

    from tests.booking_helpers import book
    from tests.factories import run_worker

    slots = await free_slots(mail_client, language="pl")
    query = {"service": EVERYDAY, "language": "pl", "day": slots[0]["start"][:10]}
    details = await mail_client.get(
        f"/points/{BASZTOWA}/book?" + urlencode(query | {"start": slots[0]["start"], "lang": "uk"})
    )
    assert re.search(r'<option value="uk" lang="uk" selected>', details.text)
    form = {
        "csrf_token": mail_client.cookies.get(CSRF_COOKIE),
        "service": EVERYDAY,
        "language": "pl",
        "start": slots[0]["start"],
        "key": re.search(r'name="key" value="([^"]+)"', details.text)[1],
        "name": NAME,
        "email": EMAIL,
        "mail_language": "uk",
    }
    booked = await mail_client.post(f"/points/{BASZTOWA}/book", data=form, follow_redirects=False)
    assert booked.status_code == 303, booked.text
    assert await pool.fetchval("select mail_language from bookings") == "uk"

    api = await book(
        mail_client, slots[1]["start"], "jan@example.org", language="pl", mail_language="en"
    )
    assert api.status_code == 201, api.text
    assert api.json()["mail_language"] == "en"
    plain = await book(mail_client, slots[2]["start"], "ola@example.org", language="pl")
    assert plain.json()["mail_language"] is None

    await run_worker(smtp_settings)
    parser = BytesParser(policy=email.policy.default)
    subjects = {
        str(m["To"].addresses[0].addr_spec): (str(m["Subject"]), m["Content-Language"])
        for m in (parser.parsebytes(raw) for raw in catcher.received)
    }
    assert subjects[EMAIL][1] == "uk" and "Підтвердьте" in subjects[EMAIL][0]
    assert subjects["jan@example.org"][1] == "en"
    assert subjects["ola@example.org"][1] == "pl"  # the visit's own language, as before


async def test_the_pages_a_mail_links_to_open_in_the_mails_language(client):
    """A visit talked in Polish whose mails are in Ukrainian: every page its mails link to
    (manage, move, cancel, erase) opens in Ukrainian for a browser that asks for nothing, as the
    mail did; a visit without a mail language keeps its own."""
    from tests.booking_helpers import book

    slots = await free_slots(client, language="pl")
    booked = await book(
        client, slots[0]["start"], "o@example.org", language="pl", mail_language="uk"
    )
    assert booked.status_code == 201, booked.text
    plain = await book(client, slots[1]["start"], "p@example.org", language="pl")
    for visit, lang in ((booked.json(), "uk"), (plain.json(), "pl")):
        token = visit["manage_token"]
        for page in ("manage", "move", "cancel", "erase"):
            opened = await client.get(
                f"/bookings/{visit['reference']}/{page}",
                params={"token": token},
                headers={"Accept-Language": ""},
            )
            assert opened.status_code == 200, (page, opened.text[:300])
            assert re.search(rf'<html lang="{lang}"', opened.text), (page, lang)
