"""`wizyta inbound` fed over SMTP with the REPLYs calendar apps write (fixtures in tests/unit/
fixtures, as Google Calendar, Outlook and Thunderbird write them, RFC 5546 §3.2.3 in RFC 6047
mail): a DECLINED cancels the visit exactly once, an ACCEPTED is recorded, and a forged
attendee, an old SEQUENCE, an unknown UID, a COUNTER or a malformed calendar change nothing."""

from __future__ import annotations

from pathlib import Path

import aiosmtplib
import msgspec
import pytest

from notifications import inbound
from tests.factories import free_port, insert_booking

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures"
ADDRESS = "replies@wizyta.test"
VISITOR = "olena@example.com"


@pytest.fixture
async def receiver(seeded, redis, settings):
    """The receiver on a port of its own, as `wizyta inbound` runs it."""
    port = free_port()
    settings = msgspec.structs.replace(settings, inbound_address=ADDRESS)
    async with inbound.receiving(settings, seeded, redis, host="127.0.0.1", port=port):
        yield port


def reply(
    fixture: str,
    visit,
    *,
    partstat: str = "DECLINED",
    sequence: int | None = None,
    attendee: str = VISITOR,
    sender: str | None = None,
    uid: str | None = None,
) -> bytes:
    text = (FIXTURES / fixture).read_text()
    for name, value in {
        "UID": uid or f"{visit['id']}@wizyta",
        "SEQUENCE": str(visit["sequence"] if sequence is None else sequence),
        "PARTSTAT": partstat,
        "ATTENDEE": attendee,
        "FROM": sender or attendee,
        "ORGANIZER": ADDRESS,
    }.items():
        text = text.replace("{{" + name + "}}", value)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


async def deliver(port: int, raw: bytes, *, to: str = ADDRESS, sender: str = VISITOR) -> None:
    await aiosmtplib.send(
        raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port, timeout=10
    )


async def a_confirmed_visit(pool, *, sequence: int = 2):
    async with pool.acquire() as conn:
        return await insert_booking(conn, visitor_email=VISITOR, sequence=sequence)


async def status_of(pool, visit) -> str:
    return await pool.fetchval(
        "select visit_status(status, hold_expires_at) from bookings where id = $1", visit["id"]
    )


async def recorded(pool, visit) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "select outcome, reason from calendar_replies where booking_id = $1 order by id",
        visit["id"],
    )
    return [(r["outcome"], r["reason"]) for r in rows]


async def cancellations(pool, visit) -> int:
    return await pool.fetchval(
        "select count(*) from outbox where booking_id = $1 and kind = 'cancelled'", visit["id"]
    )


@pytest.mark.parametrize("fixture", ["reply_google_calendar.eml", "reply_outlook.eml"])
async def test_a_declined_visit_is_cancelled_exactly_once_when_the_reply_arrives_twice(
    seeded, receiver, fixture
):
    visit = await a_confirmed_visit(seeded)
    raw = reply(fixture, visit)

    await deliver(receiver, raw)
    await deliver(receiver, raw)

    assert await status_of(seeded, visit) == "cancelled"
    assert await cancellations(seeded, visit) == 1  # the usual cancellation message, once
    by = await seeded.fetchval("select cancelled_by from bookings where id = $1", visit["id"])
    assert by == "visitor"
    outcomes = await recorded(seeded, visit)
    assert outcomes[0][0] == "cancelled"
    assert outcomes[1] == ("ignored", "an old SEQUENCE 2 (the visit's is 3)")


async def test_an_accepted_reply_from_thunderbird_is_recorded_and_changes_nothing(seeded, receiver):
    visit = await a_confirmed_visit(seeded)

    await deliver(receiver, reply("reply_thunderbird.eml", visit, partstat="ACCEPTED"))

    assert await status_of(seeded, visit) == "confirmed"
    assert await recorded(seeded, visit) == [("accepted", "ACCEPTED recorded")]


async def test_a_tentative_reply_changes_nothing(seeded, receiver):
    visit = await a_confirmed_visit(seeded)

    await deliver(receiver, reply("reply_thunderbird.eml", visit, partstat="TENTATIVE"))

    assert await status_of(seeded, visit) == "confirmed"
    assert await recorded(seeded, visit) == [("ignored", "PARTSTAT=TENTATIVE changes nothing")]


async def test_a_decline_naming_another_attendee_changes_nothing(seeded, receiver):
    visit = await a_confirmed_visit(seeded)
    forged = "mallory@example.net"

    await deliver(
        receiver,
        reply("reply_google_calendar.eml", visit, attendee=forged),
        sender=forged,
    )

    assert await status_of(seeded, visit) == "confirmed"
    assert await recorded(seeded, visit) == [("ignored", "the ATTENDEE is not the visit's visitor")]


async def test_a_decline_in_the_visitors_name_sent_from_another_address_changes_nothing(
    seeded, receiver
):
    visit = await a_confirmed_visit(seeded)

    await deliver(receiver, reply("reply_outlook.eml", visit, sender="mallory@example.net"))

    assert await status_of(seeded, visit) == "confirmed"
    assert await recorded(seeded, visit) == [("ignored", "the message is not from the ATTENDEE")]


async def test_a_decline_of_an_older_version_of_the_visit_changes_nothing(seeded, receiver):
    visit = await a_confirmed_visit(seeded, sequence=3)  # moved since that invitation

    await deliver(receiver, reply("reply_google_calendar.eml", visit, sequence=2))

    assert await status_of(seeded, visit) == "confirmed"
    assert await cancellations(seeded, visit) == 0
    assert await recorded(seeded, visit) == [("ignored", "an old SEQUENCE 2 (the visit's is 3)")]


async def test_unknown_uids_counters_and_malformed_calendars_change_nothing(seeded, receiver):
    visit = await a_confirmed_visit(seeded)
    stranger = "6f1c7d3b-8a61-4c3b-9a0e-2f1c7d3b8a61@wizyta"
    await deliver(receiver, reply("reply_google_calendar.eml", visit, uid=stranger))
    await deliver(receiver, reply("reply_google_calendar.eml", visit, uid="not-ours@google.com"))
    counter = reply("reply_google_calendar.eml", visit).replace(b"METHOD:REPLY", b"METHOD:COUNTER")
    await deliver(receiver, counter)
    broken = reply("reply_google_calendar.eml", visit).replace(b"END:VEVENT", b"END:VEVEN")
    await deliver(receiver, broken)

    assert await status_of(seeded, visit) == "confirmed"
    assert await seeded.fetchval("select count(*) from calendar_replies") == 0
    assert await seeded.fetchval("select count(*) from outbox") == 0


async def test_mail_for_any_other_recipient_is_refused(seeded, receiver):
    visit = await a_confirmed_visit(seeded)

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await deliver(receiver, reply("reply_outlook.eml", visit), to="postmaster@wizyta.test")

    assert refused.value.recipients[0].code == 550
    assert await status_of(seeded, visit) == "confirmed"


async def test_a_message_larger_than_the_limit_is_refused(seeded, receiver):
    visit = await a_confirmed_visit(seeded)
    raw = reply("reply_outlook.eml", visit) + b"x" * (inbound.MAX_BYTES + 10) + b"\r\n"

    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await deliver(receiver, raw)

    assert refused.value.code == 552
    assert await status_of(seeded, visit) == "confirmed"


async def test_a_sender_past_its_rate_is_told_to_try_later(seeded, redis, settings):
    port = free_port()
    settings = msgspec.structs.replace(settings, inbound_address=ADDRESS)
    async with inbound.receiving(settings, seeded, redis, host="127.0.0.1", port=port) as server:
        del server
        visit = await a_confirmed_visit(seeded)
        raw = reply("reply_thunderbird.eml", visit, partstat="ACCEPTED")
        codes = []
        for _ in range(inbound.PER_PEER_PER_MINUTE + 1):
            try:
                await deliver(port, raw)
                codes.append(250)
            except aiosmtplib.SMTPResponseException as e:
                codes.append(e.code)
    assert codes[:-1] == [250] * inbound.PER_PEER_PER_MINUTE
    assert codes[-1] == 450


async def test_the_wizyta_inbound_command_receives_a_decline_and_cancels_the_visit(
    seeded, settings, tmp_path
):
    """The real `wizyta inbound` process, as compose.yaml runs it."""
    import asyncio
    import subprocess
    import sys
    import time

    from tests.factories import subprocess_env

    port = free_port()
    env = subprocess_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        INBOUND_ADDRESS=ADDRESS,
        INBOUND_PORT=str(port),
        WIZYTA_DATA_DIR=str(tmp_path),
    )
    log = (tmp_path / "inbound.log").open("w")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import app; app.main()",
        "inbound",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.returncode is None, (tmp_path / "inbound.log").read_text()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                assert time.monotonic() < deadline, "wizyta inbound did not listen in time"
                await asyncio.sleep(0.1)
        visit = await a_confirmed_visit(seeded)
        await deliver(port, reply("reply_google_calendar.eml", visit))
        assert await status_of(seeded, visit) == "cancelled"
        assert await cancellations(seeded, visit) == 1
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0
        log.close()
