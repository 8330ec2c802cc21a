"""`wizyta inbound`: the answers calendar apps send to a visit's invitation, received by SMTP/LMTP.

Invitations name INBOUND_ADDRESS as their ORGANIZER and ask for an answer (RSVP=TRUE,
notifications/invitation.py). When a visitor presses "No" / "Decline" in Google Calendar,
Outlook, Apple Calendar or Thunderbird, the app mails an iTIP REPLY (RFC 5546 §3.2.3; RFC 6047
carries it as a text/calendar part) to that address; the mail system hands it here. A REPLY
for a visit's UID, at its current SEQUENCE, from the visit's own attendee:

- PARTSTAT=DECLINED cancels the visit through the visitor's own cancel use-case
  (booking/visits.py: the usual cancellation message follows, the time goes to the waitlist);
- PARTSTAT=ACCEPTED is recorded;
- anything else (TENTATIVE, a COUNTER, an old SEQUENCE, an unknown UID, a REPLY whose ATTENDEE
  or From is not the visit's visitor, a calendar that does not parse) changes nothing.

Every REPLY for a known visit is written to `calendar_replies` with what came of it, and every
one is logged. The check and the cancellation are one transaction that locks the visit, so a
REPLY that arrives twice (or two at once) cancels once: the second finds a newer SEQUENCE.

The receiver takes mail only for INBOUND_ADDRESS (any other recipient: 550), one recipient a
message, at most INBOUND_MAX_BYTES a message (552), at most so many messages a minute from one
address and from all (450: the sending server tries again later), and answers 451 when the
database is away, so nothing is lost. A REPLY's UID is the visit's random id, known only to the
visitor's calendar; the mail system in front should still check SPF/DKIM (see README).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

import asyncpg
import msgspec

from booking import links, visits
from booking.caller import Caller
from core.db import STORE_FAILURES
from core.errors import DomainError, StoreUnavailable
from core.settings import Settings
from core.uow import UnitOfWork

logger = logging.getLogger("wizyta.inbound")

MAX_BYTES = 256 * 1024
"""A calendar app's REPLY is a few kilobytes; a message larger than this is refused."""
PER_PEER_PER_MINUTE = 60
ALL_PER_MINUTE = 600
HANDLE_WITHIN = 20.0
"""Seconds one message may take to be handled (parsing, the database); then 451, retried."""
CONCURRENT = 4
"""Messages handled at the same time (each holds one pooled connection)."""

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


def _same_address(a: str | None, b: str | None) -> bool:
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
        if not _same_address(reply.attendee, row["visitor_email"]):
            return Outcome("ignored", "the ATTENDEE is not the visit's visitor", reference)
        if not _same_address(sender, reply.attendee):
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


# ---------------------------------------------------------------------------- the receiver


class Window:
    """At most `limit` events in any minute, per key (one process's view: enough to keep one
    sender from flooding the database)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        seen = self.events[key]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


class InboundHandler:
    """aiosmtpd's handler: recipients checked at RCPT, rates at MAIL, the REPLY at DATA."""

    def __init__(
        self,
        replies: Replies,
        address: str,
        *,
        per_peer: int = PER_PEER_PER_MINUTE,
        overall: int = ALL_PER_MINUTE,
    ) -> None:
        self.replies = replies
        self.address = address
        self.per_peer = Window(per_peer)
        self.overall = Window(overall)
        self.busy = asyncio.Semaphore(CONCURRENT)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        peer = str(session.peer[0]) if session.peer else "?"
        if not (self.per_peer.allow(peer) and self.overall.allow("*")):
            logger.warning("inbound: too many messages from %s; refused for now", peer)
            return "450 4.7.1 Too many messages, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not _same_address(address, self.address):
            logger.info("inbound: refused mail for %s (only %s is received)", address, self.address)
            return "550 5.1.1 No such mailbox here"
        if envelope.rcpt_tos:
            return "452 4.5.3 One recipient per message"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            async with self.busy, asyncio.timeout(HANDLE_WITHIN):
                await self.replies.receive(envelope.original_content or envelope.content)
        except (*STORE_FAILURES, StoreUnavailable, TimeoutError) as e:
            logger.warning("inbound: not handled now (%r); the sender will try again", e)
            return "451 4.3.0 Try again later"
        return "250 OK"


@contextlib.asynccontextmanager
async def receiving(
    settings: Settings,
    pool: Any,
    redis: Any,
    *,
    host: str | None = None,
    port: int | None = None,
    lmtp: bool = False,
) -> AsyncIterator[asyncio.Server]:
    """The receiver listening on INBOUND_HOST:INBOUND_PORT until the block ends."""
    from aiosmtpd.lmtp import LMTP
    from aiosmtpd.smtp import SMTP

    handler = InboundHandler(Replies(pool, redis, settings), settings.replies_address)
    protocol = LMTP if lmtp else SMTP

    def factory() -> Any:
        return protocol(
            handler,
            data_size_limit=MAX_BYTES,
            hostname=settings.replies_address.rpartition("@")[2] or None,
            ident="wizyta inbound",
            timeout=60,
        )

    server = await asyncio.get_running_loop().create_server(
        factory, host=host or settings.inbound_host, port=port or settings.inbound_port
    )
    logger.info(
        "receiving calendar replies for %s on %s:%s (%s)",
        settings.replies_address,
        host or settings.inbound_host,
        port or settings.inbound_port,
        "LMTP" if lmtp else "SMTP",
    )
    try:
        yield server
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


async def serve(
    settings: Settings, stop: asyncio.Event, *, lmtp: bool = False, required: bool = True
) -> None:
    """Run the receiver with a small pool and Redis of its own until `stop` is set (app.py).
    Not `required` (inside `wizyta run`), a port already taken is logged and the rest runs on."""
    from core import db
    from core.redis import redis_client

    pool = await db.create_pool(
        settings.database_url,  # type: ignore[arg-type]
        min_size=0,
        max_size=CONCURRENT,
        command_timeout=settings.db_command_timeout,
    )
    try:
        # Connects on its first command: a Redis that is away only delays the cancellation
        # message (the worker's sweep sends it), it does not stop replies being received.
        redis = redis_client(settings.redis_url)  # type: ignore[arg-type]
        try:
            try:
                async with receiving(settings, pool, redis, lmtp=lmtp):
                    await stop.wait()
            except OSError as e:
                if required:
                    raise
                logger.error(
                    "calendar replies are not received: cannot listen on %s:%s (%s); set "
                    "INBOUND_PORT",
                    settings.inbound_host,
                    settings.inbound_port,
                    e,
                )
                await stop.wait()
        finally:
            await redis.aclose()
    finally:
        await pool.close()
