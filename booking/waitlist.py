"""The waitlist: a freed slot is offered to the first person waiting for it, with a short hold.

When a visit is cancelled or a hold expires, the slot it frees is offered, in the same
transaction, to the earliest waiting entry for that point and service whose dates include it
and whose language a free desk speaks. The offer is an ordinary `held` visit (confirmed from
the e-mail like any other) that expires after WAITLIST_HOLD_MINUTES; when it expires, the slot
goes to the next person in line.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from uuid import UUID

import asyncpg

from booking import store
from booking.checks import bookable_slot
from booking.desks import take_a_desk
from booking.secrets import new_token, token_hash
from core.problems import Conflict, DomainError
from scheduling import store as scheduling_store

OFFER_HOLD = dt.timedelta(minutes=15)


async def offer_freed_slot(
    conn: asyncpg.Connection, point_id: str, service_id: str, start: dt.datetime
) -> list[int]:
    """Offer the slot at `start` to the first suitable waiting entry; return outbox ids."""
    point = await scheduling_store.get_point(conn, point_id)
    offer = await scheduling_store.get_point_service(conn, point_id, service_id)
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
    now = await conn.fetchval("select now()")
    entries = await conn.fetch(
        """
        select id, language, visitor_name, visitor_email, visitor_email_key from waitlist
        where point_id = $1 and service_id = $2 and status = 'waiting'
          and first_day <= $3 and $3 <= last_day
        order by created_at, id
        for update skip locked
        """,
        point_id,
        service_id,
        day,
    )
    for entry in entries:
        try:
            slot = await bookable_slot(conn, point, offer, entry["language"], start, now)
        except DomainError:
            continue  # no free desk speaks this person's language then, or it is too soon
        confirm = new_token()
        try:
            taken = await take_a_desk(
                conn,
                slot.desk_ids,
                point,
                keep_going=True,
                point_id=point_id,
                service_id=service_id,
                starts_at=slot.start,
                ends_at=slot.end,
                language=entry["language"],
                visitor_name=entry["visitor_name"],
                visitor_email=entry["visitor_email"],
                visitor_email_key=entry["visitor_email_key"],
                status="held",
                hold_expires_at=now + OFFER_HOLD,
                # The visitor has no manage token yet; the offer mail's link confirms, and
                # the manage token comes with the confirmation.
                manage_token_hash=token_hash(new_token()),
                manage_token_issued=False,
                confirm_token_hash=token_hash(confirm),
                waitlist_id=entry["id"],
            )
        except Conflict:  # they hold a visit here already
            continue
        if taken is None:  # the desks were taken meanwhile
            continue
        booking_id = taken[0]
        await conn.execute(
            "update waitlist set status = 'offered', booking_id = $2 where id = $1",
            entry["id"],
            booking_id,
        )
        return [
            await store.add_outbox(
                conn, booking_id, "waitlist_offer", 0, payload={"token": confirm}
            )
        ]
    return []


async def settle_offer(conn: asyncpg.Connection, booking_id: UUID, status: str) -> None:
    """Record what became of an offer: 'booked' when confirmed, 'expired' when it lapsed."""
    await conn.execute(
        "update waitlist set status = $2 where booking_id = $1 and status = 'offered'",
        booking_id,
        status,
    )


# ---------------------------------------------------------------------------- joining, leaving

MAX_DAYS = 93


async def join(
    conn: asyncpg.Connection,
    *,
    point_id: str,
    service_id: str,
    language: str,
    first_day: dt.date,
    last_day: dt.date,
    name: str,
    email: str,
    email_key: str,
) -> tuple[UUID, str]:
    """Add a person to the waitlist; return the entry's id and its token (shown once)."""
    from core.problems import Invalid, NotFound
    from scheduling.points_api import check_language

    try:
        point = await scheduling_store.get_point(conn, point_id)
        offer = await scheduling_store.get_point_service(conn, point_id, service_id)
    except NotFound as e:
        raise Invalid(e.detail) from e
    check_language(offer, language)
    today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
    if last_day < first_day:
        raise Invalid("'last_day' is before 'first_day'.", field="last_day")
    if first_day < today:
        raise Invalid("'first_day' is in the past.", field="first_day")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise Invalid(f"A waitlist entry may span at most {MAX_DAYS} days.", field="last_day")
    token = new_token()
    entry_id = await conn.fetchval(
        """
        insert into waitlist (point_id, service_id, language, first_day, last_day, visitor_name,
                              visitor_email, visitor_email_key, token_hash)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id
        """,
        point_id,
        service_id,
        language,
        first_day,
        last_day,
        name,
        email,
        email_key,
        token_hash(token),
    )
    return entry_id, token


async def entry(conn: asyncpg.Connection, entry_id: UUID, token: str | None) -> asyncpg.Record:
    from core.problems import NotFound, Unauthorized
    from core.tokens import token_matches

    if not token:
        raise Unauthorized("This needs the waitlist entry's token: Authorization: Bearer <token>.")
    row = await conn.fetchrow(
        """
        select w.*, b.reference from waitlist w left join bookings b on b.id = w.booking_id
        where w.id = $1
        """,
        entry_id,
    )
    if row is None or not token_matches(token, row["token_hash"]):
        raise NotFound("No waitlist entry with this id and token.")
    return row
