"""Calendar apps' answers to a visit's invitation: iTIP REPLYs read from mail, and what each does.

A REPLY (RFC 5546 §3.2.3, carried in mail as RFC 6047 says) for a visit's UID, at its current
SEQUENCE, from the visit's own attendee: DECLINED cancels the visit through the visitor's own
cancel use-case (booking/visits.py: the usual cancellation message follows, the time goes to the
waitlist); ACCEPTED is recorded; anything else changes nothing. Every REPLY for a known visit is
written to `calendar_replies` with what came of it, and logged. The check and the cancellation
are one transaction that locks the visit, so a REPLY that arrives twice (or two at once) cancels
once: the second finds a newer SEQUENCE. notifications/inbound.py receives the mail.
"""

from __future__ import annotations

import email.policy
import logging
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

import asyncpg
import msgspec

from booking import links, visits
from booking.caller import Caller
from core.errors import DomainError
from core.settings import Settings
from core.uow import UnitOfWork

logger = logging.getLogger("wizyta.inbound")

_CALENDAR_TYPES = {"text/calendar", "application/ics", "text/x-vcalendar"}


class Reply(msgspec.Struct, frozen=True):
    """One VEVENT of a REPLY, as the calendar app wrote it."""

    uid: str
    sequence: int
    attendee: str
    partstat: str


class Outcome(msgspec.Struct, frozen=True):
    outcome: str  # cancelled | accepted | ignored
    reason: str
    reference: str | None = None


# ---------------------------------------------------------------------------- reading mail


def calendar_parts(message: EmailMessage) -> Iterator[bytes]:
    """The calendar objects a message carries: its text/calendar parts and .ics attachments."""
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = (part.get_filename() or "").lower()
        if part.get_content_type() in _CALENDAR_TYPES or filename.endswith(".ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                yield payload


def replies_in(data: bytes) -> tuple[str | None, list[Reply]]:
    """(the iTIP method, the REPLY's events) of one calendar object; ValueError if it does
    not parse as iCalendar."""
    from icalendar import Calendar

    _check_nesting(data)
    calendar = Calendar.from_ical(data)
    method = str(calendar.get("METHOD", "")).strip().upper() or None
    found = []
    for event in calendar.walk("VEVENT"):
        attendees = event.get("ATTENDEE")
        if attendees is None:
            continue
        # RFC 5546 §3.2.3: a REPLY names exactly one attendee, the one replying.
        attendee = attendees[0] if isinstance(attendees, list) else attendees
        if isinstance(attendees, list) and len(attendees) != 1:
            raise ValueError("a REPLY names one ATTENDEE")
        address = str(attendee)
        if address[:7].lower() == "mailto:":
            address = address[7:]
        partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        found.append(
            Reply(
                uid=str(event.get("UID", "")).strip(),
                sequence=int(event.get("SEQUENCE", 0)),
                attendee=address.strip(),
                partstat=partstat,
            )
        )
    return method, found


def _check_nesting(data: bytes) -> None:
    """Every BEGIN has its END, one VCALENDAR around all (icalendar's parser lets a wrong END
    pass): ValueError if not."""
    stack: list[str] = []
    tops = 0
    for line in data.decode("utf-8", "replace").splitlines():
        if line[:1] in (" ", "\t"):
            continue  # a folded line's continuation (RFC 5545 §3.1)
        name, _, value = line.partition(":")
        name, value = name.strip().upper(), value.strip().upper()
        if name == "BEGIN":
            if not stack:
                tops += 1
                if value != "VCALENDAR":
                    raise ValueError(f"BEGIN:{value} outside a VCALENDAR")
            stack.append(value)
        elif name == "END" and (not stack or stack.pop() != value):
            raise ValueError(f"END:{value} closes nothing open")
    if stack or tops != 1:
        raise ValueError("not one whole VCALENDAR")


def same_address(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().casefold() == b.strip().casefold()  # type: ignore[union-attr]


def _visit_id(uid: str) -> uuid.UUID | None:
    """The visit's id from an invitation's UID, "<id>@wizyta" (notifications/mailer.py)."""
    head, at, domain = uid.rpartition("@")
    if not at or domain != "wizyta":
        return None
    try:
        return uuid.UUID(head)
    except ValueError:
        return None


# ---------------------------------------------------------------------------- acting on one


class Replies:
    """What a REPLY does to a visit; the receiver and `wizyta inbound` share one."""

    def __init__(self, pool: Any, redis: Any, settings: Settings) -> None:
        self.pool = pool
        self.redis = redis
        self.settings = settings

    async def receive(self, raw: bytes) -> list[Outcome]:
        """Act on every REPLY event one message carries; what came of each."""
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        sender = next((addr for _, addr in getaddresses(message.get_all("From", []))), None)
        outcomes: list[Outcome] = []
        seen: set[Reply] = set()  # the same object twice: a part and its .ics attachment
        for data in calendar_parts(message):  # type: ignore[arg-type]
            try:
                method, replies = replies_in(data)
            except Exception as e:
                outcomes.append(self._log(Outcome("ignored", f"malformed calendar: {e}"[:200])))
                continue
            if method != "REPLY":
                outcomes.append(self._log(Outcome("ignored", f"METHOD:{method} is not a REPLY")))
                continue
            for reply in replies:
                if reply not in seen:
                    seen.add(reply)
                    outcomes.append(self._log(await self.act(reply, sender)))
        if not outcomes:
            outcomes.append(self._log(Outcome("ignored", "no calendar in the message")))
        return outcomes

    def _log(self, outcome: Outcome) -> Outcome:
        logger.info(
            "calendar reply%s: %s (%s)",
            f" for {outcome.reference}" if outcome.reference else "",
            outcome.outcome,
            outcome.reason,
        )
        return outcome

    async def act(self, reply: Reply, sender: str | None) -> Outcome:
        booking_id = _visit_id(reply.uid)
        if booking_id is None:
            return Outcome("ignored", f"unknown UID {reply.uid[:80]!r}")
        async with UnitOfWork(self.pool, self.redis) as uow:
            caller = Caller(
                uow=uow, settings=self.settings, limits=None, redis=self.redis, address="inbound"
            )

            async def work(conn: asyncpg.Connection) -> Outcome:
                row = await conn.fetchrow(
                    "select id, reference, sequence, visitor_email from bookings where id = $1 "
                    "for update",
                    booking_id,
                )
                if row is None:
                    return Outcome("ignored", f"unknown UID {reply.uid[:80]!r}")
                outcome = await self._decide(caller, conn, row, reply, sender)
                await conn.execute(
                    """
                    insert into calendar_replies (booking_id, sequence, partstat, outcome, reason)
                    values ($1, $2, $3, $4, $5)
                    """,
                    row["id"],
                    reply.sequence,
                    reply.partstat[:40],
                    outcome.outcome,
                    outcome.reason[:200],
                )
                return outcome

            return await uow.atomic(work)

    async def _decide(
        self,
        caller: Caller,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        reply: Reply,
        sender: str | None,
    ) -> Outcome:
        reference = row["reference"]
        if not same_address(reply.attendee, row["visitor_email"]):
            return Outcome("ignored", "the ATTENDEE is not the visit's visitor", reference)
        if not same_address(sender, reply.attendee):
            return Outcome("ignored", "the message is not from the ATTENDEE", reference)
        if reply.sequence != row["sequence"]:
            which = "an old" if reply.sequence < row["sequence"] else "an unknown"
            return Outcome(
                "ignored",
                f"{which} SEQUENCE {reply.sequence} (the visit's is {row['sequence']})",
                reference,
            )
        if reply.partstat == "ACCEPTED":
            return Outcome("accepted", "ACCEPTED recorded", reference)
        if reply.partstat != "DECLINED":
            return Outcome("ignored", f"PARTSTAT={reply.partstat} changes nothing", reference)
        token = links.mail_token(await links.link_key(conn), row["id"])
        try:
            # The visitor's own cancellation, inside this transaction (uow.atomic nests).
            await visits.cancel(caller, reference, token)
        except DomainError as e:
            return Outcome("ignored", f"not cancelled: {e.code}", reference)
        return Outcome("cancelled", "DECLINED: cancelled as the visitor asked", reference)
