"""The waitlist: a freed slot is offered to the first person waiting for it, with a short hold.

When a visit is cancelled or a hold expires, the slot it frees is offered, in the same
transaction, to the earliest waiting entry for that point and service whose dates include it
and whose language a free desk speaks. The offer is an ordinary `held` visit (confirmed from
the e-mail like any other), held through booking/holds.py like every visit and for as long
(HOLD_MINUTES); when it expires, the slot goes to the next person in line.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from uuid import UUID

import asyncpg

from booking.checks import bookable_slot, check_language, config_and_offer
from booking.domain.errors import (
    PerPersonLimit,
    WaitlistDaysPast,
    WaitlistDaysReversed,
    WaitlistEntryNotFound,
    WaitlistTokenMissing,
    WaitlistTooLong,
)
from booking.domain.visit import Visitor, hold_visit
from booking.holds import WAITLIST_OFFER, place_hold
from booking.secrets import new_token, token_hash, token_matches
from core.errors import DomainError


async def offer_freed_slot(
    conn: asyncpg.Connection,
    point_id: str,
    service_id: str,
    start: dt.datetime,
    hold: dt.timedelta,
) -> list[int]:
    """Offer the slot at `start` to the first suitable waiting entry; return outbox ids."""
    try:
        config, offer, now = await config_and_offer(conn, point_id, service_id)
    except DomainError:
        return []  # the service was withdrawn: nobody can be offered it
    point = config.point
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
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
        held, secrets = hold_visit(
            point_id=point_id,
            service_id=service_id,
            start=slot.start,
            end=slot.end,
            language=entry["language"],
            visitor=Visitor(entry["visitor_name"], entry["visitor_email"], None),
            now=now,
            hold=hold,
            # The offer mail's link confirms; the manage token comes with the confirmation.
            manage_token_issued=False,
            waitlist_id=entry["id"],
        )
        try:
            placed = await place_hold(
                conn, point, slot.desk_ids, held, secrets, keep_going=True, message=WAITLIST_OFFER
            )
        except PerPersonLimit:  # they hold a visit here already
            continue
        if placed is None:  # the desks were taken meanwhile
            continue
        booking, outbox_id = placed
        await conn.execute(
            "update waitlist set status = 'offered', booking_id = $2 where id = $1",
            entry["id"],
            booking.id,
        )
        return [outbox_id]
    return []


async def settle_offer(conn: asyncpg.Connection, booking_id: UUID, status: str) -> None:
    """Record what became of an offer: 'booked' when confirmed, 'expired' when it lapsed."""
    await conn.execute(
        "update waitlist set status = $2 where booking_id = $1 and status = 'offered'",
        booking_id,
        status,
    )


async def settle_offers(conn: asyncpg.Connection, booking_ids: list[UUID], status: str) -> None:
    """`settle_offer` for many visits in one statement."""
    if booking_ids:
        await conn.execute(
            "update waitlist set status = $2 where booking_id = any($1::uuid[]) "
            "and status = 'offered'",
            booking_ids,
            status,
        )


async def services_waited_for(
    conn: asyncpg.Connection, services: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (point, service) pairs someone on the waitlist is waiting for."""
    if not services:
        return set()
    points, service_ids = zip(*services, strict=True)
    rows = await conn.fetch(
        """
        select distinct w.point_id, w.service_id
          from waitlist w
          join unnest($1::text[], $2::text[]) as s(point_id, service_id)
            on s.point_id = w.point_id and s.service_id = w.service_id
         where w.status = 'waiting'
        """,
        list(points),
        list(service_ids),
    )
    return {(r["point_id"], r["service_id"]) for r in rows}


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
    config, offer, now = await config_and_offer(conn, point_id, service_id)
    check_language(offer, language)
    today = now.astimezone(zoneinfo.ZoneInfo(config.point.timezone)).date()
    if last_day < first_day:
        raise WaitlistDaysReversed()
    if first_day < today:
        raise WaitlistDaysPast()
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise WaitlistTooLong(days=MAX_DAYS)
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
    if not token:
        raise WaitlistTokenMissing()
    row = await conn.fetchrow(
        """
        select w.*, b.reference from waitlist w left join bookings b on b.id = w.booking_id
        where w.id = $1
        """,
        entry_id,
    )
    if row is None or not token_matches(token, row["token_hash"]):
        raise WaitlistEntryNotFound()
    return row


async def leave(conn: asyncpg.Connection, entry_id: UUID, token: str | None) -> asyncpg.Record:
    """Withdraw a waiting entry (an offered or settled one keeps its status)."""
    await entry(conn, entry_id, token)
    await conn.execute(
        "update waitlist set status = 'withdrawn' where id = $1 and status = 'waiting'", entry_id
    )
    return await entry(conn, entry_id, token)
