"""`wizyta inbound`: the answers calendar apps send to a visit's invitation, received by SMTP/LMTP.

Invitations name INBOUND_ADDRESS as their ORGANIZER and ask for an answer (RSVP=TRUE,
notifications/invitation.py). When a visitor presses "No" / "Decline" in Google Calendar,
Outlook, Apple Calendar or Thunderbird, the app mails an iTIP REPLY to that address; the mail
system hands it here, and notifications/itip_reply.py decides what it does (a DECLINED at the
visit's current SEQUENCE from its own attendee cancels it; the rest changes nothing).

The receiver takes mail only for INBOUND_ADDRESS (any other recipient: 550), one recipient a
message, at most MAX_BYTES a message (552), at most so many messages a minute from one address
and from all (450: the sending server tries again later), and answers 451 when the database is
away or slow, so nothing is lost. A REPLY's UID is the visit's random id, known only to the
visitor's calendar; the mail system in front should still check SPF/DKIM (see README).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import Any

from core.db import STORE_FAILURES
from core.errors import StoreUnavailable
from core.settings import Settings
from notifications.itip_reply import Replies, same_address

logger = logging.getLogger("wizyta.inbound")

MAX_BYTES = 256 * 1024
"""A calendar app's REPLY is a few kilobytes; a message larger than this is refused."""
PER_PEER_PER_MINUTE = 60
ALL_PER_MINUTE = 600
HANDLE_WITHIN = 20.0
"""Seconds one message may take to be handled (parsing, the database); then 451, retried."""
CONCURRENT = 4
"""Messages handled at the same time (each holds one pooled connection)."""


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
        if not same_address(address, self.address):
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
        except Exception:  # a bug: keep the message at the sender (it retries), never bounce it
            logger.exception("inbound: a message could not be handled; the sender will try again")
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
