"""The visit lifecycle: hold, confirm, cancel, reschedule — each one short transaction.

Every change re-checks the requested time against the slot engine inside its transaction (rules
may have just changed), lets PostgreSQL's constraints settle races (overlap per desk,
per-person limit, idempotency key), writes its outbox row in the same transaction, and enqueues
the outbox job only after the commit. Serialization failures and deadlocks are retried whole.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import msgspec
from arq.connections import ArqRedis

from booking import draw, idempotency, store
from booking.checks import bookable_slot, parse_start
from booking.desks import TAKEN, move_to_a_desk, take_a_desk
from booking.guards import (
    authorized,
    config_and_offer,
    confirmed_marker,
    db_now,
    not_started,
    point_and_offer,
    transition_or_409,
    valid_email,
    visit_of,
    was_confirmed_by,
)
from booking.holds import expire_stale_holds
from booking.lifecycle import Event, Status
from booking.reminders import parse_offsets, reminder_times
from booking.schemas import BookingCreate, Visit, VisitCreated, VisitorOut
from booking.secrets import email_key, new_token, token_hash, token_matches
from booking.waitlist import offer_freed_slot, settle_offer
from core.db import in_transaction
from core.jobs import enqueue_outbox
from core.problems import Conflict, Gone, Invalid, NotFound
from core.settings import Settings
from scheduling.points_api import check_language


@dataclass
class Result:
    status: int
    body: bytes
    outbox: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Bookings:
    """The booking service of one process: its pool, its queue and its settings."""

    pool: asyncpg.Pool
    redis: ArqRedis
    settings: Settings

    async def _run(self, work) -> Result:
        result: Result = await in_transaction(self.pool, work)
        await enqueue_outbox(self.redis, result.outbox)
        return result

    # ------------------------------------------------------------------------ create (hold)

    async def create(self, data: BookingCreate, key: str) -> Result:
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            raise Invalid(
                "An Idempotency-Key header (1 to 200 characters, e.g. a UUID) is required, "
                "so a retried request cannot book twice.",
                field="Idempotency-Key",
            )
        email = valid_email(data.visitor.email)
        key_hash, request_hash = idempotency.key_hash(key), idempotency.request_hash(data)

        async def work(conn: asyncpg.Connection) -> Result:
            first = await conn.fetchval(
                """
                insert into idempotency_keys (key_hash, request_hash) values ($1, $2)
                on conflict do nothing returning true
                """,
                key_hash,
                request_hash,
            )
            if not first:  # the key was used: the other transaction has committed by now
                row = await conn.fetchrow(
                    "select request_hash, status_code, response from idempotency_keys "
                    "where key_hash = $1",
                    key_hash,
                )
                if bytes(row["request_hash"]) != request_hash:
                    raise Invalid(
                        "This Idempotency-Key was already used for a different request; "
                        "use a new key for a new booking.",
                        field="Idempotency-Key",
                    )
                return Result(row["status_code"], idempotency.unseal(key, row["response"]))
            status, created, outbox = await self._hold(conn, data, email)
            body = msgspec.json.encode(created)
            await conn.execute(
                "update idempotency_keys set status_code = $4, response = $2, "
                "booking_id = (select id from bookings where reference = $3) where key_hash = $1",
                key_hash,
                idempotency.seal(key, body),
                getattr(created, "reference", None),
                status,
            )
            return Result(status, body, outbox)

        return await self._run(work)

    async def _hold(
        self, conn: asyncpg.Connection, data: BookingCreate, email: str
    ) -> tuple[int, VisitCreated | draw.DrawEntry, list[int]]:
        """Hold the visit (201), or, in a release's first minutes, enter its draw (202)."""
        config, offer, now = await config_and_offer(conn, data.point_id, data.service_id)
        point = config.point
        check_language(offer, data.language)
        start = parse_start(data.start, point.timezone)
        day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
        hold = dt.timedelta(minutes=self.settings.hold_minutes)
        window = draw.open_window(point, day, now)
        # After a draw's window, the draw is decided before anyone books that day.
        outbox = [] if window else await draw.decide_due(conn, point, day, hold, now)
        slot = await bookable_slot(
            conn, point, offer, data.language, start, now, config=config, free_only=not window
        )
        if window:
            entry = await draw.enter(
                conn,
                point,
                offer.id,
                data.language,
                slot.start,
                window[1],
                name=data.visitor.name.strip(),
                email=email,
                phone=data.visitor.phone,
                notes=data.notes,
                needs=list(data.needs),
            )
            return 202, entry, outbox
        manage, confirm = new_token(), new_token()
        expires = now + hold
        values = dict(
            point_id=point.id,
            service_id=offer.id,
            starts_at=slot.start,
            ends_at=slot.end,
            language=data.language,
            visitor_name=data.visitor.name.strip(),
            visitor_email=email,
            visitor_email_key=email_key(email),
            visitor_phone=data.visitor.phone,
            notes=data.notes,
            needs=list(data.needs),
            status=Status.HELD.value,
            hold_expires_at=expires,
            manage_token_hash=token_hash(manage),
            confirm_token_hash=token_hash(confirm),
        )
        taken = await take_a_desk(conn, slot.desk_ids, point, **values)
        if taken is None:
            # The slot engine counts a hold past its expiry as free, the exclusion constraint
            # still sees it until it is marked expired (here, by the worker's cron, or by a
            # cancellation at this point): mark this point's overdue holds, then try once more.
            expired = await expire_stale_holds(conn, point.id)
            outbox += expired
            if expired:
                taken = await take_a_desk(conn, slot.desk_ids, point, **values)
        if taken is None:
            raise Conflict(TAKEN, field="start")
        booking_id, reference, desk = taken
        outbox.append(
            await store.add_outbox(
                conn, booking_id, "confirmation_request", 0, payload={"token": confirm}
            )
        )
        created = VisitCreated(
            reference=reference,
            status=Status.HELD.value,
            point_id=point.id,
            service_id=offer.id,
            desk_id=desk,
            start=slot.start,
            end=slot.end,
            timezone=point.timezone,
            language=data.language,
            visitor=VisitorOut(data.visitor.name.strip(), email, data.visitor.phone),
            notes=data.notes,
            needs=list(data.needs),
            sequence=0,
            expires_at=expires,
            manage_token=manage,
        )
        return 201, created, outbox

    # ------------------------------------------------------------------------ the visitor's own

    async def get(self, reference: str, token: str | None) -> Visit:
        async with self.pool.acquire() as conn:
            row = await authorized(conn, reference, token, lock=False)
        return visit_of(row)

    async def confirm(self, reference: str, token: str) -> Result:
        async def work(conn: asyncpg.Connection) -> Result:
            row = await store.visit_by_reference(conn, reference, lock=True)
            if row is None:
                raise NotFound("No visit with this reference and confirmation link.")
            if row["status"] == Status.CONFIRMED and was_confirmed_by(row, token):
                return Result(200, msgspec.json.encode(visit_of(row)))  # a second click
            if not token_matches(token, row["confirm_token_hash"]):
                raise NotFound("No visit with this reference and confirmation link.")
            if row["status"] == Status.EXPIRED:
                raise Gone(
                    "This visit was held for you, but it was not confirmed in time and the "
                    "time was released. Please book again.",
                )
            transition_or_409(row["status"], Event.CONFIRM)
            now = await db_now(conn)
            # A waitlist offer or a draw win was held without a manage token: issue one now.
            manage = None if row["manage_token_issued"] else new_token()
            await conn.execute(
                """
                update bookings set status = 'confirmed', confirmed_at = now(),
                       hold_expires_at = null, updated_at = now(),
                       confirm_token_hash = $2,
                       manage_token_hash = coalesce($3, manage_token_hash),
                       manage_token_issued = true
                where id = $1
                """,
                row["id"],
                confirmed_marker(token),
                token_hash(manage) if manage else None,
            )
            if row["waitlist_id"] is not None:
                await settle_offer(conn, row["id"], "booked")
            outbox = [await store.add_outbox(conn, row["id"], "confirmed", row["sequence"])]
            outbox += await self._reminders(conn, row["id"], row["starts_at"], row["sequence"], now)
            fresh = visit_of(await store.visit_by_reference(conn, reference))
            if manage is not None:
                fresh = VisitCreated(**msgspec.structs.asdict(fresh), manage_token=manage)
            return Result(200, msgspec.json.encode(fresh), outbox)

        return await self._run(work)

    async def cancel(self, reference: str, token: str | None) -> Result:
        async def work(conn: asyncpg.Connection) -> Result:
            row = await authorized(conn, reference, token, lock=True)
            now = await db_now(conn)
            not_started(row, now, "cancelled")
            transition_or_409(row["status"], Event.CANCEL)
            # Overdue holds give their desks back first, so the freed slot can be offered.
            expired = await expire_stale_holds(conn, row["point_id"])
            sequence = row["sequence"] + 1
            await conn.execute(
                """
                update bookings set status = 'cancelled', cancelled_by = 'visitor',
                       cancelled_at = now(), sequence = $2, updated_at = now()
                where id = $1
                """,
                row["id"],
                sequence,
            )
            outbox = [*expired, await store.add_outbox(conn, row["id"], "cancelled", sequence)]
            outbox += await offer_freed_slot(
                conn, row["point_id"], row["service_id"], row["starts_at"]
            )
            fresh = await store.visit_by_reference(conn, reference)
            return Result(200, msgspec.json.encode(visit_of(fresh)), outbox)

        return await self._run(work)

    async def reschedule(self, reference: str, token: str | None, new_start: str) -> Result:
        async def work(conn: asyncpg.Connection) -> Result:
            row = await authorized(conn, reference, token, lock=True)
            now = await db_now(conn)
            not_started(row, now, "moved")
            transition_or_409(row["status"], Event.RESCHEDULE)
            point, offer = await point_and_offer(conn, row["point_id"], row["service_id"])
            start = parse_start(new_start, point.timezone)
            if start == row["starts_at"]:
                return Result(200, msgspec.json.encode(visit_of(row)))
            outbox = await expire_stale_holds(conn, point.id)
            slot = await bookable_slot(
                conn, point, offer, row["language"], start, now, excluding=row["id"]
            )
            sequence = row["sequence"] + 1
            # One UPDATE: the new time is taken in the same instant the old one is freed.
            desk = await move_to_a_desk(
                conn, point, row["id"], slot.desk_ids, slot.start, slot.end, sequence
            )
            if desk is None:
                raise Conflict(TAKEN)
            outbox.append(
                await store.add_outbox(
                    conn,
                    row["id"],
                    "moved",
                    sequence,
                    payload={"previous_start": row["starts_at"].isoformat()},
                )
            )
            if row["status"] == Status.CONFIRMED:
                outbox += await self._reminders(conn, row["id"], slot.start, sequence, now)
            outbox += await offer_freed_slot(
                conn, row["point_id"], row["service_id"], row["starts_at"]
            )
            fresh = await store.visit_by_reference(conn, reference)
            return Result(200, msgspec.json.encode(visit_of(fresh)), outbox)

        return await self._run(work)

    async def _reminders(
        self,
        conn: asyncpg.Connection,
        booking_id: UUID,
        start: dt.datetime,
        sequence: int,
        now: dt.datetime,
    ) -> list[int]:
        offsets = parse_offsets(self.settings.reminder_offsets)
        return [
            await store.add_outbox(
                conn, booking_id, "reminder", sequence, due_at=due, payload={"offset": label}
            )
            for due, label in reminder_times(start, now, offsets)
        ]
