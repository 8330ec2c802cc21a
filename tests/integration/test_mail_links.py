"""Every mail about a visit opens its manage page by itself (booking/links.py), and a visitor
who lost every mail can have the link sent again without learning whether a visit exists.

Real PostgreSQL, Redis, the real worker and a real SMTP server: the links are read from the
mails the visitor receives."""

from __future__ import annotations

import email.policy
import re
from email.parser import BytesParser
from urllib.parse import urlsplit

import pytest

from tests.booking_helpers import bearer, book, confirmation_token, free_slots
from tests.factories import run_worker
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")


def mails(catcher) -> list:
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(raw) for raw in catcher.received]


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def manage_links(mail) -> list[str]:
    return [u for u in re.findall(r"https?://\S+", text_of(mail)) if "/manage?token=" in u]


async def confirmed_visit(client, pool, smtp_settings, email_address: str) -> tuple[str, str]:
    slot = (await free_slots(client))[0]
    held = await book(client, slot["start"], email_address)
    assert held.status_code == 201, held.text
    reference = held.json()["reference"]
    token = await confirmation_token(pool, reference)
    confirmed = await client.post(f"/api/v1/bookings/{reference}/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    await run_worker(smtp_settings)
    return reference, held.json()["manage_token"]


async def test_the_confirmed_mails_link_opens_the_visit_and_cancels_it(
    mail_client, pool, smtp_settings, catcher
):
    reference, _ = await confirmed_visit(mail_client, pool, smtp_settings, "olena@example.org")
    confirmed = next(m for m in mails(catcher) if "підтверджено" in str(m["Subject"]))
    [link] = manage_links(confirmed)
    parts = urlsplit(link)
    assert parts.path == f"/bookings/{reference}/manage"
    page = await mail_client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200 and reference in page.text
    token = parts.query.removeprefix("token=")
    assert (
        await mail_client.get(f"/api/v1/bookings/{reference}", headers=bearer(token))
    ).is_success
    form = {"csrf_token": mail_client.cookies.get(CSRF_COOKIE), "token": token}
    cancelled = await mail_client.post(
        f"/bookings/{reference}/cancel", data=form, follow_redirects=False
    )
    assert cancelled.status_code == 303
    assert await pool.fetchval("select status from bookings where reference = $1", reference) == (
        "cancelled"
    )
    await run_worker(smtp_settings)
    cancellation = next(m for m in mails(catcher) if "скасовано" in str(m["Subject"]))
    assert manage_links(cancellation) == [link]  # the same link shows the cancelled visit


async def test_the_confirmation_request_carries_no_manage_link(
    mail_client, pool, smtp_settings, catcher
):
    slot = (await free_slots(mail_client))[0]
    held = await book(mail_client, slot["start"], "taras@example.org")
    await run_worker(smtp_settings)
    [request] = mails(catcher)
    assert held.json()["reference"] in str(request["Subject"])
    assert manage_links(request) == []
    assert f"/bookings/{held.json()['reference']}/confirm?token=" in text_of(request)


async def test_a_mail_token_opens_only_its_own_visit(mail_client, pool, smtp_settings, catcher):
    first, _ = await confirmed_visit(mail_client, pool, smtp_settings, "a@example.org")
    second, _ = await confirmed_visit(mail_client, pool, smtp_settings, "b@example.org")
    link = next(
        manage_links(m)[0] for m in mails(catcher) if first in text_of(m) and manage_links(m)
    )
    token = urlsplit(link).query.removeprefix("token=")
    other = await mail_client.get(f"/api/v1/bookings/{second}", headers=bearer(token))
    assert other.status_code == 404
    assert other.json()["code"] == "visit_not_found"


async def _ask_again(client, reference: str, address: str):
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "reference": reference,
        "email": address,
    }
    return await client.post("/bookings/link", data=form, follow_redirects=False)


async def test_the_link_is_sent_again_only_to_the_address_the_visit_was_booked_with(
    mail_client, pool, smtp_settings, catcher
):
    reference, _ = await confirmed_visit(mail_client, pool, smtp_settings, "olena@example.org")
    await mail_client.get("/bookings/link?lang=en")  # the form sets the CSRF cookie
    answers = [
        await _ask_again(mail_client, reference, "stranger@example.org"),
        await _ask_again(mail_client, "KRK-0000-00", "olena@example.org"),
        await _ask_again(mail_client, reference.lower(), "Olena@Example.org"),
    ]
    assert {(a.status_code, a.headers["location"]) for a in answers} == {
        (303, "/bookings/link?sent=1")
    }  # the same answer whether or not they match
    kinds = await pool.fetch(
        "select b.visitor_email from outbox o join bookings b on b.id = o.booking_id "
        "where o.kind = 'manage_link'"
    )
    assert [k["visitor_email"] for k in kinds] == ["olena@example.org"]
    await run_worker(smtp_settings)
    again = [m for m in mails(catcher) if "посилання" in str(m["Subject"])]
    assert [str(m["To"]) for m in again] == ["Олена Коваленко <olena@example.org>"]
    [link] = manage_links(again[0])
    assert (await mail_client.get(urlsplit(link).path + "?" + urlsplit(link).query)).is_success
    answer = await mail_client.get("/bookings/link?sent=1&lang=en")
    assert "If a visit with this booking number was booked with this e-mail address" in (
        answer.text
    )


async def test_the_page_without_a_token_offers_to_send_the_link(mail_client):
    page = await mail_client.get("/bookings/KRK-0000-00?lang=en")
    assert page.status_code == 200
    assert 'href="/bookings/link?reference=KRK-0000-00"' in page.text
