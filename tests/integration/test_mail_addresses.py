"""Addresses mail can reach, and those it cannot: a look-alike refused at once, nothing
written; internationalised ones sent (IDNA domains, SMTPUTF8 where the server offers it); and
a mail that could not be delivered shown on the visitor's page and on staff's day sheet."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import zoneinfo
from email.parser import BytesParser

import pytest

from tests.booking_helpers import BASZTOWA, book, confirmation_token, free_slots
from tests.factories import MailCatcher, run_worker

pytestmark = pytest.mark.usefixtures("seeded")


class AsciiCatcher(MailCatcher):
    """A server that does not offer SMTPUTF8 (RFC 6531); the default catcher does."""

    def start(self) -> AsciiCatcher:
        from aiosmtpd.controller import Controller

        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=False
        )
        self._controller.start()
        return self


def received(catcher) -> list:
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(raw) for raw in catcher.received]


async def test_a_look_alike_address_is_refused_before_anything_is_written(mail_client, pool):
    slot = (await free_slots(mail_client))[0]
    refused = await book(mail_client, slot["start"], "оksana.melnyk@gmail.com")  # Cyrillic о
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "email_mixed_scripts"
    assert (problem["letter"], problem["position"], problem["script"]) == ("о", 1, "Cyrillic")
    assert await pool.fetchval("select count(*) from bookings") == 0
    assert await pool.fetchval("select count(*) from outbox") == 0


async def test_an_internationalised_domain_is_sent_as_idna(
    mail_client, pool, smtp_settings, catcher
):
    slot = (await free_slots(mail_client))[0]
    held = await book(mail_client, slot["start"], "olena@приклад.укр")
    assert held.status_code == 201, held.text
    await run_worker(smtp_settings)
    [mail] = received(catcher)
    assert mail["To"].addresses[0].addr_spec == "olena@xn--80aikifvh.xn--j1amh"


async def test_a_non_ascii_mailbox_is_sent_with_smtputf8_where_the_server_offers_it(
    mail_client, pool, smtp_settings, catcher
):
    slot = (await free_slots(mail_client))[0]
    held = await book(mail_client, slot["start"], "олена@приклад.укр")
    assert held.status_code == 201, held.text
    await run_worker(smtp_settings)
    [raw] = catcher.received
    # SMTPUTF8: the header is UTF-8 as written (RFC 6532), not an encoded word
    mail = email.parser.Parser(policy=email.policy.default).parsestr(raw.decode("utf-8"))
    assert mail["To"].addresses[0].addr_spec == "олена@приклад.укр"


async def test_a_mail_no_server_takes_is_shown_to_the_visitor_and_to_staff(
    mail_client, pool, smtp_settings
):
    import msgspec

    slot = (await free_slots(mail_client))[0]
    held = await book(mail_client, slot["start"], "олена@приклад.укр")
    reference, token = held.json()["reference"], held.json()["manage_token"]
    with AsciiCatcher() as server:
        await run_worker(msgspec.structs.replace(smtp_settings, smtp_url=server.url))
    assert server.received == []
    failed = await pool.fetchrow("select failed_at, last_error, attempts from outbox")
    assert failed["failed_at"] is not None and failed["attempts"] == 1
    assert "SMTPUTF8" in failed["last_error"]

    page = await mail_client.get(f"/bookings/{reference}/manage?token={token}&lang=en")
    assert "We could not deliver our e-mail to олена@приклад.укр" in page.text
    from web.booking_flow import SENT_COOKIE

    sent = await mail_client.get(
        f"/bookings/{reference}/sent?lang=en", cookies={SENT_COOKIE: token}
    )
    assert "We could not deliver our e-mail" in sent.text
    assert "We are sending a message" not in sent.text

    from booking.office import day_sheet
    from scheduling import store

    async with pool.acquire() as conn:
        point = await store.get_point(conn, BASZTOWA)
        start = dt.datetime.fromisoformat(slot["start"])
        day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
        [visit] = await day_sheet(conn, point, day)
    assert visit.mail_failed


async def test_a_delivered_mail_leaves_no_warning(mail_client, pool, smtp_settings, catcher):
    slot = (await free_slots(mail_client))[0]
    held = await book(mail_client, slot["start"], "olena@example.org")
    reference, token = held.json()["reference"], held.json()["manage_token"]
    await run_worker(smtp_settings)
    assert len(catcher.received) == 1
    assert await confirmation_token(pool, reference) is None  # dropped once sent
    page = await mail_client.get(f"/bookings/{reference}/manage?token={token}&lang=en")
    assert "We could not deliver" not in page.text


async def test_the_booking_page_says_which_letter_looks_wrong_in_the_visitors_language(
    mail_client, pool
):
    import re
    from urllib.parse import urlencode

    from web.security import CSRF_COOKIE

    slot = (await free_slots(mail_client))[0]
    query = {"service": "everyday-matters", "language": "uk", "start": slot["start"]}
    query["day"] = slot["start"][:10]
    details = await mail_client.get(f"/points/{BASZTOWA}/book?{urlencode(query)}&lang=uk")
    form = {
        "csrf_token": mail_client.cookies.get(CSRF_COOKIE),
        "service": "everyday-matters",
        "language": "uk",
        "start": slot["start"],
        "key": re.search(r'name="key" value="([^"]+)"', details.text)[1],
        "name": "Оксана Мельник",
        "email": "оksana.melnyk@gmail.com",
    }
    answer = await mail_client.post(f"/points/{BASZTOWA}/book?lang=uk", data=form)
    assert answer.status_code == 422
    assert "Літера «о» (1-й символ адреси)" in answer.text
    assert await pool.fetchval("select count(*) from bookings") == 0
