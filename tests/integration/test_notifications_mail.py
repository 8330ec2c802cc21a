"""What visitors receive: the real worker (burst mode) sends outbox rows to a real SMTP server.

Rows are written by SQL (tests/factories.py) the way booking writes them, then enqueued as the
web app enqueues them after its commit.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from arq import Retry
from icalendar import Calendar

from core.jobs import enqueue_outbox
from notifications import outbox
from notifications.jobs import send_outbox
from notifications.messages import CATALOGS
from notifications.transport import SmtpTransport
from tests.factories import (
    fast_mail_config,
    insert_booking,
    insert_outbox,
    run_worker,
)

# Quick retries; few sends at once, since the SMTP server shares this process (and its GIL).


async def outbox_row(pool, outbox_id: int):
    return await pool.fetchrow("select * from outbox where id = $1", outbox_id)


def invitation_parts(mail: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    """The text/calendar alternative and the invite.ics attachment, checking the structure."""
    assert mail.get_content_type() == "multipart/mixed"
    alternative, attachment = mail.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in alternative.get_payload()]
    html = alternative.get_payload()[1]
    if types[1] == "multipart/related":  # a confirmed visit ahead: its QR code for the kiosk
        html_part, image = html.get_payload()
        assert (html_part.get_content_type(), image.get_content_type()) == (
            "text/html",
            "image/png",
        )
        assert f"cid:{image['Content-ID'].strip('<>')}" in html_part.get_content()
        types[1] = "text/html"
    assert types == ["text/plain", "text/html", "text/calendar"]
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"
    return alternative.get_payload()[2], attachment


def calendar_event(mail: EmailMessage, method: str):
    calendar_part, attachment = invitation_parts(mail)
    assert calendar_part.get_param("method") == method
    assert calendar_part.get_content_charset() == "utf-8"
    alternative = Calendar.from_ical(calendar_part.get_content())
    attached = Calendar.from_ical(attachment.get_content())
    assert alternative.to_ical() == attached.to_ical()
    assert str(alternative["METHOD"]) == method
    [event] = alternative.walk("VEVENT")
    return event


async def invitation_sent(conn, booking_id) -> int:
    """The outbox row of a confirmation whose REQUEST went out earlier."""
    row_id = await insert_outbox(conn, booking_id, "confirmed")
    await conn.execute(
        "update outbox set sent_at = now(), attempts = 1, itip_method = 'REQUEST' where id = $1",
        row_id,
    )
    return row_id


def plain_text(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


async def test_a_visit_booked_confirmed_and_cancelled_gets_three_mails_in_its_language(
    seeded, redis, smtp_settings, catcher
):
    uk = CATALOGS["uk"]
    async with seeded.acquire() as conn:
        visit = await insert_booking(
            conn, status="held", language="uk", visitor_name="Олена Коваль"
        )
        asked = await insert_outbox(
            conn, visit["id"], "confirmation_request", payload={"token": "secret-token-1"}
        )
    reference = visit["reference"]

    await enqueue_outbox(redis, [asked])
    await run_worker(smtp_settings)

    [request] = catcher.messages
    assert request["Subject"] == uk.confirmation_request.subject.format(reference=reference)
    assert request["Content-Language"] == "uk"
    assert request["To"].addresses[0].addr_spec == "visitor@example.test"
    assert request["To"].addresses[0].display_name == "Олена Коваль"
    link = f"http://wizyta.test/bookings/{reference}/confirm?token=secret-token-1"
    assert link in plain_text(request)
    assert request.get_content_type() == "multipart/alternative"  # no invitation while held
    row = await outbox_row(seeded, asked)
    assert row["sent_at"] is not None and row["attempts"] == 1
    assert "token" not in row["payload"], "the token is not kept once the mail is out"

    async with seeded.acquire() as conn:
        await conn.execute(
            """update bookings set status = 'confirmed', sequence = 1, confirmed_at = now(),
                   hold_expires_at = null where id = $1""",
            visit["id"],
        )
        confirmed = await insert_outbox(conn, visit["id"], "confirmed", sequence=1)
    await enqueue_outbox(redis, [confirmed])
    await run_worker(smtp_settings)

    confirmation = catcher.messages[1]
    assert confirmation["Subject"].startswith(uk.confirmed.subject.split("{")[0])
    assert "Дякуємо, Ваш візит підтверджено" in plain_text(confirmation)
    event = calendar_event(confirmation, "REQUEST")
    assert str(event["UID"]) == f"{visit['id']}@wizyta"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == visit["starts_at"]
    assert str(event["ATTENDEE"]).lower() == "mailto:visitor@example.test"

    async with seeded.acquire() as conn:
        await conn.execute(
            """update bookings set status = 'cancelled', sequence = 2, cancelled_at = now(),
                   cancelled_by = 'visitor' where id = $1""",
            visit["id"],
        )
        cancelled = await insert_outbox(conn, visit["id"], "cancelled", sequence=2)
    await enqueue_outbox(redis, [cancelled])
    await run_worker(smtp_settings)

    cancellation = catcher.messages[2]
    assert cancellation["Subject"] == uk.cancelled.subject.format(reference=reference)
    cancel = calendar_event(cancellation, "CANCEL")
    assert cancel["UID"] == event["UID"]
    assert int(cancel["SEQUENCE"]) > int(event["SEQUENCE"])
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert len({m["Message-ID"] for m in catcher.messages}) == 3


async def test_a_visit_cancelled_by_the_office_and_a_moved_one_say_why_and_when(
    seeded, redis, smtp_settings, catcher
):
    before = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
    async with seeded.acquire() as conn:
        closed = await insert_booking(
            conn, status="cancelled", language="pl", sequence=2, was_confirmed=True
        )
        await invitation_sent(conn, closed["id"])
        moved = await insert_booking(conn, status="confirmed", language="en", sequence=1)
        reason = {"pl": "Awaria zasilania", "en": "Power cut", "uk": "-", "ru": "-"}
        ids = [
            await insert_outbox(
                conn, closed["id"], "cancelled_by_office", sequence=2, payload={"reason": reason}
            ),
            await insert_outbox(
                conn,
                moved["id"],
                "moved",
                sequence=1,
                payload={"previous_start": before.isoformat()},
            ),
        ]
    await enqueue_outbox(redis, ids)
    await run_worker(smtp_settings)

    by_reference = {
        ref: mail
        for mail in catcher.messages
        for ref in (closed["reference"], moved["reference"])
        if ref in plain_text(mail)
    }
    office = by_reference[closed["reference"]]
    assert "Awaria zasilania" in plain_text(office)
    assert calendar_event(office, "CANCEL")["SEQUENCE"] == 2
    moved_mail = by_reference[moved["reference"]]
    assert "3 March 2031" in plain_text(moved_mail)  # the previous time, 10:00 in Warsaw
    assert calendar_event(moved_mail, "REQUEST")["SEQUENCE"] == 1


async def test_a_row_already_sent_is_not_sent_again(seeded, redis, smtp_settings, catcher):
    async with seeded.acquire() as conn:
        visit = await insert_booking(conn)
        row_id = await insert_outbox(conn, visit["id"], "confirmed")
    await enqueue_outbox(redis, [row_id])
    await run_worker(smtp_settings)
    await enqueue_outbox(redis, [row_id])  # a late duplicate enqueue, or the sweep
    await run_worker(smtp_settings)

    assert catcher.count() == 1
    assert (await outbox_row(seeded, row_id))["attempts"] == 1


async def test_a_waitlist_offer_carries_its_confirmation_link_and_a_stale_request_is_skipped(
    seeded, redis, smtp_settings, catcher
):
    async with seeded.acquire() as conn:
        offered = await insert_booking(conn, status="held", language="en")
        offer = await insert_outbox(
            conn, offered["id"], "waitlist_offer", payload={"token": "offer-token"}
        )
        confirmed = await insert_booking(conn, status="confirmed")
        stale = await insert_outbox(
            conn, confirmed["id"], "confirmation_request", payload={"token": "stale-token"}
        )
    await enqueue_outbox(redis, [offer, stale])
    await run_worker(smtp_settings)

    [mail] = catcher.messages
    assert mail["Subject"].startswith("A time has become free: ")
    link = f"http://wizyta.test/bookings/{offered['reference']}/confirm?token=offer-token"
    assert link in plain_text(mail)
    assert "token" not in (await outbox_row(seeded, offer))["payload"]
    stale_row = await outbox_row(seeded, stale)
    assert stale_row["last_error"] == "skipped: the visit is confirmed"
    assert "token" not in stale_row["payload"]


async def test_two_workers_sending_one_row_at_once_send_it_once(seeded, smtp_settings, catcher):
    catcher.delay = 0.3  # the first send is still talking SMTP when the second one starts
    async with seeded.acquire() as conn:
        visit = await insert_booking(conn)
        row_id = await insert_outbox(conn, visit["id"], "confirmed")
    ctx = {
        "pool": seeded,
        "settings": smtp_settings,
        "mail_config": fast_mail_config(),
        "transport": SmtpTransport.from_url(catcher.url, timeout=5),
    }

    outcomes = await asyncio.gather(send_outbox(ctx, row_id), send_outbox(ctx, row_id))

    assert sorted(outcomes) == ["busy", "sent"]
    assert catcher.count() == 1


async def test_a_reminder_goes_only_to_a_visit_still_confirmed_at_the_same_time(
    seeded, redis, smtp_settings, catcher
):
    now = datetime.now(UTC)
    start = now + timedelta(hours=1, minutes=30)
    async with seeded.acquire() as conn:
        kept = await insert_booking(conn, start=start, language="ru")
        cancelled = await insert_booking(conn, start=start + timedelta(hours=1))
        moved = await insert_booking(conn, start=start + timedelta(hours=2))
        ids = {}
        for name, visit in (("kept", kept), ("cancelled", cancelled), ("moved", moved)):
            # Written when the visit was confirmed, 2 h before it; due now.
            payload = {"offset": "2h"}
            ids[name] = await insert_outbox(
                conn, visit["id"], "reminder", payload=payload, due_at=now - timedelta(minutes=1)
            )
        later = await insert_outbox(conn, kept["id"], "reminder", due_at=now + timedelta(hours=1))
        await conn.execute(
            "update bookings set status = 'cancelled', sequence = 1 where id = $1", cancelled["id"]
        )
        await conn.execute(
            "update bookings set starts_at = starts_at + interval '1 day', ends_at = ends_at"
            " + interval '1 day', sequence = 1 where id = $1",
            moved["id"],
        )
    await enqueue_outbox(redis, [*ids.values(), later])
    await run_worker(smtp_settings)

    [reminder] = catcher.messages
    assert kept["reference"] in plain_text(reminder)
    assert reminder["Subject"].startswith(CATALOGS["ru"].reminder.subject.split("{")[0])
    rows = {name: await outbox_row(seeded, outbox_id) for name, outbox_id in ids.items()}
    assert rows["kept"]["last_error"] is None and rows["kept"]["sent_at"] is not None
    for name in ("cancelled", "moved"):
        assert rows[name]["sent_at"] is not None, "done with, so the sweep leaves it alone"
        assert rows[name]["last_error"].startswith("skipped: ")
    assert rows["cancelled"]["last_error"] == "skipped: the visit is cancelled"
    assert "changed" in rows["moved"]["last_error"]
    assert (await outbox_row(seeded, later))["sent_at"] is None, "not due yet"


async def test_without_smtp_url_mail_lands_as_readable_eml_files(seeded, redis, settings, caplog):
    async with seeded.acquire() as conn:
        visit = await insert_booking(conn, language="pl", visitor_name="Jan Kowalski")
        row_id = await insert_outbox(conn, visit["id"], "confirmed")
    await enqueue_outbox(redis, [row_id])

    with caplog.at_level(logging.INFO, logger="wizyta.notifications"):
        await run_worker(settings)

    [path] = (settings.data_dir / "mail" / "new").glob("*.eml")
    assert f"outbox-{row_id}" in path.name
    mail = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert mail["Subject"].startswith(CATALOGS["pl"].confirmed.subject.split("{")[0])
    assert visit["reference"] in plain_text(mail)
    assert calendar_event(mail, "REQUEST")["UID"] == f"{visit['id']}@wizyta"
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mail to")]
    assert line.startswith(f"mail to visitor@example.test: {mail['Subject']} (saved in ")
    assert line.endswith(f"{path.name})")


async def test_a_visit_closed_before_its_invitation_went_out_gets_a_plain_cancellation(
    seeded, redis, smtp_settings, catcher
):
    """Issue 14 item 10: confirmed, moved and the day closed within seconds. The confirmation
    and the move are skipped (the visit is cancelled by then); the cancellation still tells the
    visitor, but without a METHOD:CANCEL for an event their calendar never received."""
    async with seeded.acquire() as conn:
        visit = await insert_booking(
            conn, status="cancelled", language="en", sequence=3, was_confirmed=True
        )
        ids = [
            await insert_outbox(conn, visit["id"], "confirmed", sequence=1),
            await insert_outbox(conn, visit["id"], "moved", sequence=2),
            await insert_outbox(
                conn, visit["id"], "cancelled_by_office", sequence=3, payload={"reason": {}}
            ),
        ]
    await enqueue_outbox(redis, ids)
    await run_worker(smtp_settings)

    [mail] = catcher.messages
    assert mail["Subject"].startswith("Visit ") and visit["reference"] in mail["Subject"]
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert b"METHOD:CANCEL" not in mail.as_bytes()
    rows = [await outbox_row(seeded, outbox_id) for outbox_id in ids]
    assert [r["last_error"] for r in rows[:2]] == ["skipped: the visit is cancelled now"] * 2
    assert [r["itip_method"] for r in rows] == [None, None, None]
    assert rows[2]["sent_at"] is not None and rows[2]["last_error"] is None


async def test_a_cancellation_waits_while_the_visits_invitation_is_being_sent(
    seeded, smtp_settings, catcher
):
    """One visit's messages go out in order: a CANCEL never overtakes its REQUEST in flight."""
    async with seeded.acquire() as conn:
        visit = await insert_booking(conn, status="cancelled", sequence=2, was_confirmed=True)
        confirmed = await insert_outbox(conn, visit["id"], "confirmed", sequence=1)
        cancelled = await insert_outbox(conn, visit["id"], "cancelled", sequence=2)
        claim, _ = await outbox.claim(conn, confirmed, lease=30)  # another worker, sending
    ctx = {
        "pool": seeded,
        "settings": smtp_settings,
        "mail_config": fast_mail_config(),
        "transport": SmtpTransport.from_url(catcher.url, timeout=5),
    }

    with pytest.raises(Retry):
        await send_outbox(ctx, cancelled)
    async with seeded.acquire() as conn:
        assert await outbox.record_sent(conn, claim, itip_method="REQUEST")
    assert await send_outbox(ctx, cancelled) == "sent"

    [mail] = catcher.messages
    assert calendar_event(mail, "CANCEL")["SEQUENCE"] == 2
    assert (await outbox_row(seeded, cancelled))["itip_method"] == "CANCEL"
