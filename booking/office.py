"""The office's side of visits: the day sheet, the moves staff make on the day, and the office's
cancellation when hours change.

Staff's controllers (staff/visits_api.py, web/staff_pages.py, staff/changes.py) are thin: who
may act is theirs (they pass `authorize`, and write the audit line with `audited`); what a move
does to a visit is here, through the same store and state machine as the visitor's own changes.
The clock rules: a visit is checked in on its day, not before, and is a no-show only once it
has started.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec

from booking import store
from booking.caller import Caller
from booking.domain.errors import CheckInNotToday, NoShowTooEarly, NoSuchVisit
from booking.domain.lifecycle import Event, sources, transition
from core.uow import UnitOfWork
from scheduling import store as scheduling_store
from scheduling.availability import desk_schedules
from scheduling.model import Point


class VisitorOnSheet(msgspec.Struct, frozen=True):
    name: str | None
    email: str | None
    phone: str | None


class SheetVisit(msgspec.Struct, frozen=True, kw_only=True):
    time: str
    """Local wall-clock start, HH:MM."""
    start: dt.datetime
    end: dt.datetime
    reference: str
    status: str
    service_id: str
    service: dict[str, str]
    language: str
    needs: list[str]
    notes: str | None
    visitor: VisitorOnSheet
    desk_id: str
    desk: dict[str, str]
    mail_failed: bool = False
    """The last message to the visitor could not be delivered (the address bounced)."""
    channel: str = "on_site"
    """on_site, phone (call `visitor.phone` at the time) or video (`video_url`)"""
    party_size: int = 1
    """How many people come (a family)."""
    extra_services: list[str] = []
    """The visit's further matters, after `service_id`."""
    video_url: str | None = None
    outside_hours: bool = False
    """Active, but a change of hours, desks or offers (kept at staff's choice) left it
    outside the hours or without a desk that can serve it."""
    booked_by: str = "visitor"
    """"staff" for a visitor booked by phone, in writing or at the desk."""


_SHEET = """
    select b.id, b.reference, b.point_id, b.starts_at, b.ends_at, b.language, b.needs, b.notes,
           b.visitor_name, b.visitor_email, b.visitor_phone, b.service_id, b.sequence,
           b.hold_expires_at, s.names as service_names, b.desk_id, d.names as desk_names,
           p.timezone, visit_status(b.status, b.hold_expires_at) as status, b.booked_by,
           b.channel, b.party_size, b.extra_services, b.video_url,
           coalesce((
               select o.failed_at is not null from outbox o
                where o.booking_id = b.id
                  and (o.failed_at is not null or (o.sent_at is not null
                       and coalesce(o.last_error, '') not like 'skipped:%'))
                order by coalesce(o.failed_at, o.sent_at) desc, o.id desc
                limit 1), false) as mail_failed
    from bookings b
    join services s on s.id = b.service_id
    join desks d on d.point_id = b.point_id and d.id = b.desk_id
    join points p on p.id = b.point_id
"""


def sheet_visit(row: asyncpg.Record) -> SheetVisit:
    zone = zoneinfo.ZoneInfo(row["timezone"])
    start = row["starts_at"].astimezone(zone)
    return SheetVisit(
        time=start.strftime("%H:%M"),
        start=start,
        end=row["ends_at"].astimezone(zone),
        reference=row["reference"],
        status=row["status"],
        service_id=row["service_id"],
        service=row["service_names"],
        language=row["language"],
        needs=list(row["needs"]),
        notes=row["notes"],
        visitor=VisitorOnSheet(row["visitor_name"], row["visitor_email"], row["visitor_phone"]),
        desk_id=row["desk_id"],
        desk=row["desk_names"],
        mail_failed=row["mail_failed"],
        channel=row["channel"],
        party_size=row["party_size"],
        extra_services=list(row["extra_services"]),
        video_url=row["video_url"],
        booked_by=row["booked_by"],
    )


async def day_sheet(conn: asyncpg.Connection, point: Point, day: dt.date) -> list[SheetVisit]:
    """Every visit starting on one local date of the point, whatever its status (staff also see
    who cancelled), by time, then desk."""
    zone = zoneinfo.ZoneInfo(point.timezone)
    rows = await conn.fetch(
        _SHEET
        + """
        where b.point_id = $1 and b.starts_at >= $2 and b.starts_at < $3
        order by b.starts_at, b.desk_id, b.reference
        """,
        point.id,
        dt.datetime.combine(day, dt.time(0), zone),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone),
    )
    visits = [sheet_visit(r) for r in rows]
    stranded = {
        v.reference
        for v in await unservable(
            conn,
            point.id,
            dt.datetime.combine(day, dt.time(0), zone),
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone),
        )
    }
    return [
        msgspec.structs.replace(v, outside_hours=True) if v.reference in stranded else v
        for v in visits
    ]


#: Writes the audit line of a move in its transaction: (conn, point id, before, after).
Audited = Callable[[asyncpg.Connection, str, dict, dict], Awaitable[None]]


async def record(
    uow: UnitOfWork,
    reference: str,
    event: Event,
    *,
    authorize: Callable[[str], None],
    audited: Audited,
) -> SheetVisit:
    """Apply one staff event (check-in, no-show, complete) to a visit: NoSuchVisit, the
    caller's refusal for another point's visit, IllegalTransition or a clock rule otherwise."""

    async def work(conn: asyncpg.Connection) -> SheetVisit:
        row = await conn.fetchrow(_SHEET + " where b.reference = $1 for update of b", reference)
        if row is None:
            raise NoSuchVisit(reference=reference)
        authorize(row["point_id"])
        transition(row["status"], event)
        _check_clock(row, event, await conn.fetchval("select now()"))
        status = await store.record(conn, row, event)
        await audited(conn, row["point_id"], {"status": row["status"]}, {"status": status.value})
        return sheet_visit(await conn.fetchrow(_SHEET + " where b.id = $1", row["id"]))

    return await uow.atomic(work)


def _check_clock(row: asyncpg.Record, event: Event, now: dt.datetime) -> None:
    zone = zoneinfo.ZoneInfo(row["timezone"])
    day = row["starts_at"].astimezone(zone).date()
    if event == Event.CHECK_IN and day > now.astimezone(zone).date():
        raise CheckInNotToday(day=day.isoformat(), visit_status=row["status"])
    if event == Event.NO_SHOW and row["starts_at"] > now:
        raise NoShowTooEarly(visit_status=row["status"])


# ---------------------------------------------------------------------------- hours that change


class AffectedVisit(msgspec.Struct, frozen=True):
    reference: str
    start: dt.datetime
    end: dt.datetime
    desk_id: str
    service_id: str
    language: str
    status: str


async def future_active(
    conn: asyncpg.Connection,
    point_id: str,
    first: dt.datetime | None = None,
    last: dt.datetime | None = None,
) -> list[AffectedVisit]:
    """The point's active visits still ahead (held and not overdue, or confirmed), by time;
    only those starting in [first, last) when given."""
    rows = await conn.fetch(
        """
        select reference, starts_at, ends_at, desk_id, service_id, language,
               visit_status(status, hold_expires_at) as status
        from bookings
        where point_id = $1 and starts_at > now()
          and visit_status(status, hold_expires_at) = any($2::text[])
          and ($3::timestamptz is null or starts_at >= $3)
          and ($4::timestamptz is null or starts_at < $4)
        order by starts_at
        """,
        point_id,
        sorted(sources(Event.CANCEL)),  # the visits the office could still cancel
        first,
        last,
    )
    return [_affected(r) for r in rows]


def _affected(r: asyncpg.Record) -> AffectedVisit:
    return AffectedVisit(
        r["reference"],
        r["starts_at"],
        r["ends_at"],
        r["desk_id"],
        r["service_id"],
        r["language"],
        r["status"],
    )


async def outside_hours(
    conn: asyncpg.Connection, point_id: str, visits: list[AffectedVisit]
) -> list[AffectedVisit]:
    """Those of `visits` (a point's) that no longer lie inside their desk's hours (a desk that
    is not active has none)."""
    if not visits:
        return []
    point = await scheduling_store.get_point(conn, point_id)
    zone = zoneinfo.ZoneInfo(point.timezone)
    first = min(v.start for v in visits).astimezone(zone).date()
    last = max(v.end for v in visits).astimezone(zone).date()
    # Each visit against its own channel's hours (a phone visit against the phone hours).
    channels = dict(
        await conn.fetch(
            "select reference, channel from bookings where reference = any($1::text[])",
            [v.reference for v in visits],
        )
    )
    rules = await scheduling_store.list_rules(conn, point_id, channel=None)
    schedules = {
        (channel, d.desk_id): d
        for channel in set(channels.values())
        for d in await desk_schedules(conn, point, rules, first, last, channel=channel)
    }
    affected = []
    for v in visits:
        day = v.start.astimezone(zone).date()
        schedule = schedules.get((channels.get(v.reference, "on_site"), v.desk_id))
        intervals = schedule.days.get(day, ()) if schedule else ()
        inside = any(
            dt.datetime.combine(day, i.opens, zone) <= v.start
            and v.end <= dt.datetime.combine(day, i.closes, zone)
            for i in intervals
        )
        if not inside:
            affected.append(v)
    return affected


async def unservable(
    conn: asyncpg.Connection,
    point_id: str,
    first: dt.datetime | None = None,
    last: dt.datetime | None = None,
) -> list[AffectedVisit]:
    """Active future visits (starting in [first, last) when given) outside their desk's hours,
    or that their desk or the point's offer can no longer serve (desk retired, language
    dropped, service withdrawn): what staff's changes are judged by, and what the day sheet
    flags as "outside the hours after a change"."""
    rows = await conn.fetch(
        """
        select b.reference, b.starts_at, b.ends_at, b.desk_id, b.service_id, b.language,
               visit_status(b.status, b.hold_expires_at) as status
        from bookings b
        join desks d on d.point_id = b.point_id and d.id = b.desk_id
        join point_services ps on ps.point_id = b.point_id and ps.service_id = b.service_id
        where b.point_id = $1 and b.starts_at > now()
          and visit_status(b.status, b.hold_expires_at) = any($2::text[])
          and ($3::timestamptz is null or b.starts_at >= $3)
          and ($4::timestamptz is null or b.starts_at < $4)
          and (not d.active or not ps.active
               or not (b.language = any(d.languages)) or not (b.language = any(ps.languages)))
        """,
        point_id,
        sorted(sources(Event.CANCEL)),  # the visits the office could still cancel
        first,
        last,
    )
    active = await future_active(conn, point_id, first, last)
    found = {v.reference: v for v in await outside_hours(conn, point_id, active)}
    for r in rows:
        found.setdefault(r["reference"], _affected(r))
    return sorted(found.values(), key=lambda v: (v.start, v.reference))


class OfficeCancellation(msgspec.Struct, frozen=True, kw_only=True):
    """What the office's cancellation did: the outbox ids to announce, the visits cancelled,
    and for each the held alternative offered (reference), if one was found."""

    outbox: list[int]
    cancelled: list[str]
    alternatives: dict[str, str]


async def cancel_by_office(
    conn: asyncpg.Connection,
    references: list[str],
    reason: dict[str, str],
    *,
    offer_alternatives: bool = True,
) -> OfficeCancellation:
    """Cancel visits because the office closed or changed its hours; each visitor is told why
    (outbox) and, unless `offer_alternatives` is off, offered the nearest free time as a held
    visit (booking/alternatives.py) whose accept and release links the same mail carries.
    Announce the outbox ids with the unit of work."""
    from booking.alternatives import offer_alternative  # it holds visits: a cycle

    rows = await store.cancel_by_office(conn, references)
    outbox: list[int] = []
    alternatives: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r["starts_at"], r["reference"])):
        payload: dict = {"reason": reason}
        if offer_alternatives:
            alternative = await offer_alternative(conn, row)
            payload["alternative"] = alternative.payload() if alternative else None
            if alternative is not None:
                payload["token"] = alternative.confirm_token  # dropped once the mail is sent
                alternatives[row["reference"]] = alternative.reference
        outbox.append(
            await store.add_outbox(
                conn, row["id"], "cancelled_by_office", row["sequence"], payload=payload
            )
        )
    return OfficeCancellation(
        outbox=outbox, cancelled=[r["reference"] for r in rows], alternatives=alternatives
    )


# ---------------------------------------------------------------------------- the clerk's desk


async def cancel_one(
    uow: UnitOfWork,
    reference: str,
    reason: dict[str, str],
    *,
    authorize: Callable[[str], None],
    audited: Audited,
) -> SheetVisit:
    """The office cancels one visit from the day sheet (the visitor is told `reason`, through
    `cancel_by_office`, as when the office closes): NoSuchVisit, the caller's refusal for
    another point's visit, or IllegalTransition for a visit that can no longer be cancelled."""

    async def work(conn: asyncpg.Connection) -> SheetVisit:
        row = await conn.fetchrow(_SHEET + " where b.reference = $1 for update of b", reference)
        if row is None:
            raise NoSuchVisit(reference=reference)
        authorize(row["point_id"])
        transition(row["status"], Event.CANCEL)
        uow.send((await cancel_by_office(conn, [reference], reason)).outbox)
        fresh = await conn.fetchrow(_SHEET + " where b.id = $1", row["id"])
        await audited(
            conn,
            row["point_id"],
            {"status": row["status"]},
            {"status": fresh["status"], "reason": reason},
        )
        return sheet_visit(fresh)

    return await uow.atomic(work)


async def move_one(
    caller: Caller,
    reference: str,
    new_start: str,
    *,
    authorize: Callable[[str], None],
    audited: Audited,
) -> SheetVisit:
    """The office moves a visit to another free time of its service and language (the capacity
    staff see, as when staff book): the visitor's own move without its token, its limit of
    moves or its notice (the office agreed the change with them). The visitor is told
    ("moved"), and a confirmed visit's reminders follow the new time."""
    from booking.checks import bookable_slot, config_and_visit, parse_start
    from booking.domain.errors import AlreadyStarted, SlotTaken
    from booking.holds import expire_overdue
    from booking.visits import _reminders

    async def work(conn: asyncpg.Connection) -> SheetVisit:
        row = await store.by_reference(conn, reference, lock=True)
        if row is None:
            raise NoSuchVisit(reference=reference)
        authorize(row["point_id"])
        # the visit keeps its channel, party and matters (its length, its consultants)
        config, offer, services, now = await config_and_visit(
            conn,
            row["point_id"],
            [row["service_id"], *row["extra_services"]],
            row["channel"],
            row["party_size"],
        )
        point = config.point
        if row["starts_at"] <= now:
            raise AlreadyStarted(verb="moved")
        transition(row["status"], Event.RESCHEDULE)
        start = parse_start(new_start, point.timezone)
        before = {"start": row["starts_at"].isoformat(), "desk_id": row["desk_id"]}
        if start != row["starts_at"]:
            caller.uow.send(await expire_overdue(conn, caller.hold, point.id))
            slot = await bookable_slot(
                conn,
                point,
                offer,
                row["language"],
                start,
                now,
                excluding=row["id"],
                config=config,
                staff=True,
                channel=row["channel"],
                services=services,
            )
            moved = await store.move(
                conn, point, row, slot.desk_ids, slot.start, slot.end, by_visitor=False
            )
            if moved is None:
                raise SlotTaken()
            desk, sequence = moved
            previous = {"previous_start": row["starts_at"].isoformat()}
            caller.uow.send(
                [await store.add_outbox(conn, row["id"], "moved", sequence, payload=previous)]
            )
            if row["status"] == "confirmed":
                caller.uow.send(
                    await _reminders(caller, conn, row["id"], slot.start, sequence, now)
                )
            await audited(
                conn, point.id, before, {"start": slot.start.isoformat(), "desk_id": desk}
            )
        return sheet_visit(await conn.fetchrow(_SHEET + " where b.id = $1", row["id"]))

    return await caller.uow.atomic(work)
