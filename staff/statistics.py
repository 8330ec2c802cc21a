"""Figures a point's office reports: per day, service, language and channel, and the day's
capacity planned and used. The API (JSON, CSV) is here; the page is web/staff_statistics.py.

Everything is counted from anonymous columns: the visits' point, service, language, times,
status and who cancelled (the retention purge keeps them, booking/retention.py) and the queue's
tickets (no personal data at all, migrations/0035). So the figures of a day stay the same after
its visitors' personal data is gone.

Definitions (one day = the point's local date of the appointment, or of the arrival):
- booked: visits placed for the day, except holds that lapsed unconfirmed (expired);
- confirmed: of those, confirmed at some time (cancelled later or not);
- cancelled_by_visitor / cancelled_by_office: visits cancelled, by whom;
- no_shows: visits marked "did not come", and tickets called that did not come to the desk;
- walk_ins: tickets taken at the kiosk without an appointment;
- wait (arrival to first call) and service (first call to done), in minutes: median and 90th
  percentile (continuous, as PostgreSQL's percentile_cont) over the tickets that have them;
- channel: online (booked on the site or API by the visitor), office (booked by staff for a
  visitor), draw, waitlist, walk_in;
- capacity: planned = the desks' opening minutes; booked = the minutes of visits confirmed and
  not cancelled; served = the minutes measured from call to done.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from core.errors import Invalid
from core.openapi import problems
from core.uow import Uow
from scheduling import store
from scheduling.availability import desk_schedules
from scheduling.model import Point
from staff.auth import Staff, current_staff, require_point
from staff.schemas import STAFF_SECURITY

MAX_DAYS = 366


class FigureRow(msgspec.Struct, frozen=True, kw_only=True):
    date: dt.date
    service_id: str
    language: str
    channel: str
    booked: int
    confirmed: int
    cancelled_by_visitor: int
    cancelled_by_office: int
    no_shows: int
    walk_ins: int
    wait_median_minutes: float | None
    wait_p90_minutes: float | None
    service_median_minutes: float | None
    service_p90_minutes: float | None


class CapacityRow(msgspec.Struct, frozen=True, kw_only=True):
    date: dt.date
    planned_minutes: int
    booked_minutes: int
    served_minutes: float


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    first: dt.date
    last: dt.date
    rows: list[FigureRow]
    capacity: list[CapacityRow]


class RangeTooLong(Invalid):
    code, field = "statistics_range", "to"
    template = "Give a range of at most {days} days, 'to' not before 'from'."


_CHANNEL = """
    case when b.booked_by = 'staff' then 'office'
         when b.waitlist_id is not null then 'waitlist'
         when exists (select from draw_entries e where e.booking_id = b.id) then 'draw'
         else 'online' end
"""

_FIGURES = f"""
with v as (
    select (b.starts_at at time zone $4)::date as day, b.service_id, b.language,
           {_CHANNEL} as channel,
           visit_status(b.status, b.hold_expires_at) as status, b.confirmed_at, b.cancelled_by
      from bookings b
     where b.point_id = $1 and b.starts_at >= $2 and b.starts_at < $3
),
vs as (
    select day, service_id, language, channel,
           count(*) filter (where status <> 'expired' or confirmed_at is not null) as booked,
           count(*) filter (where confirmed_at is not null) as confirmed,
           count(*) filter (where status = 'cancelled' and cancelled_by = 'visitor') as cv,
           count(*) filter (where status = 'cancelled' and cancelled_by = 'office') as co,
           count(*) filter (where status = 'no_show') as no_shows
      from v group by 1, 2, 3, 4
),
t as (
    select t.day, t.service_id, t.language,
           case when t.kind = 'walk_in' then 'walk_in'
                when b.id is null then 'online'
                else {_CHANNEL} end as channel,
           t.kind, t.status,
           extract(epoch from t.called_at - t.arrived_at) / 60 as wait,
           case when t.status = 'done' then extract(epoch from t.done_at - t.called_at) / 60
           end as service
      from queue_tickets t left join bookings b on b.id = t.booking_id
     where t.point_id = $1 and t.day between $5 and $6
),
ts as (
    select day, service_id, language, channel,
           count(*) filter (where kind = 'walk_in') as walk_ins,
           count(*) filter (where status = 'no_show') as no_shows,
           percentile_cont(0.5) within group (order by wait) as wait_median,
           percentile_cont(0.9) within group (order by wait) as wait_p90,
           percentile_cont(0.5) within group (order by service) as service_median,
           percentile_cont(0.9) within group (order by service) as service_p90
      from t group by 1, 2, 3, 4
)
select coalesce(vs.day, ts.day) as date,
       coalesce(vs.service_id, ts.service_id) as service_id,
       coalesce(vs.language, ts.language) as language,
       coalesce(vs.channel, ts.channel) as channel,
       coalesce(vs.booked, 0) as booked, coalesce(vs.confirmed, 0) as confirmed,
       coalesce(vs.cv, 0) as cancelled_by_visitor, coalesce(vs.co, 0) as cancelled_by_office,
       coalesce(vs.no_shows, 0) + coalesce(ts.no_shows, 0) as no_shows,
       coalesce(ts.walk_ins, 0) as walk_ins,
       ts.wait_median, ts.wait_p90, ts.service_median, ts.service_p90
  from vs full join ts using (day, service_id, language, channel)
 order by 1, 2, 3, 4
"""

_CAPACITY = """
select (b.starts_at at time zone $4)::date as day,
       sum(extract(epoch from b.ends_at - b.starts_at) / 60)::bigint as minutes
  from bookings b
 where b.point_id = $1 and b.starts_at >= $2 and b.starts_at < $3
   and b.confirmed_at is not null
   and visit_status(b.status, b.hold_expires_at) <> 'cancelled'
 group by 1
"""

_SERVED = """
select day, sum(extract(epoch from done_at - called_at) / 60) as minutes
  from queue_tickets
 where point_id = $1 and day between $2 and $3 and status = 'done'
 group by 1
"""


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


async def figures(conn: asyncpg.Connection, point: Point, first: dt.date, last: dt.date) -> Figures:
    if last < first or (last - first).days >= MAX_DAYS:
        raise RangeTooLong(days=MAX_DAYS)
    zone = zoneinfo.ZoneInfo(point.timezone)
    start = dt.datetime.combine(first, dt.time(0), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone)
    rows = await conn.fetch(_FIGURES, point.id, start, end, point.timezone, first, last)
    figure_rows = [
        FigureRow(
            date=r["date"],
            service_id=r["service_id"],
            language=r["language"],
            channel=r["channel"],
            booked=r["booked"],
            confirmed=r["confirmed"],
            cancelled_by_visitor=r["cancelled_by_visitor"],
            cancelled_by_office=r["cancelled_by_office"],
            no_shows=r["no_shows"],
            walk_ins=r["walk_ins"],
            wait_median_minutes=_minutes(r["wait_median"]),
            wait_p90_minutes=_minutes(r["wait_p90"]),
            service_median_minutes=_minutes(r["service_median"]),
            service_p90_minutes=_minutes(r["service_p90"]),
        )
        for r in rows
    ]
    booked = {
        r["day"]: r["minutes"]
        for r in await conn.fetch(_CAPACITY, point.id, start, end, point.timezone)
    }
    served = {r["day"]: r["minutes"] for r in await conn.fetch(_SERVED, point.id, first, last)}
    rules = await store.list_rules(conn, point.id)
    schedules = await desk_schedules(conn, point, rules, first, last)
    capacity = []
    day = first
    while day <= last:
        planned = sum(
            _length(interval) for schedule in schedules for interval in schedule.days.get(day, ())
        )
        capacity.append(
            CapacityRow(
                date=day,
                planned_minutes=planned,
                booked_minutes=int(booked.get(day) or 0),
                served_minutes=_minutes(served.get(day)) or 0.0,
            )
        )
        day += dt.timedelta(days=1)
    return Figures(point_id=point.id, first=first, last=last, rows=figure_rows, capacity=capacity)


def _length(interval) -> int:
    opens = interval.opens.hour * 60 + interval.opens.minute
    closes = interval.closes.hour * 60 + interval.closes.minute
    return closes - opens


FIELDS = [f for f in FigureRow.__struct_fields__]


def figures_csv(found: Figures) -> str:
    """The figure rows as CSV (RFC 4180: CRLF line ends), one header line first; the capacity
    columns repeated on each row of their day, so one sheet holds both."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    capacity = {c.date: c for c in found.capacity}
    writer.writerow(["point_id", *FIELDS, "planned_minutes", "booked_minutes", "served_minutes"])
    for row in found.rows:
        values = msgspec.to_builtins(row)
        day = capacity.get(row.date)
        writer.writerow(
            [
                found.point_id,
                *("" if values[f] is None else values[f] for f in FIELDS),
                day.planned_minutes if day else "",
                day.booked_minutes if day else "",
                day.served_minutes if day else "",
            ]
        )
    return out.getvalue()


def default_range(
    point: Point, first: dt.date | None, last: dt.date | None
) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
    last = last or today
    first = first or last - dt.timedelta(days=13)
    return first, last


FirstDay = Annotated[
    dt.date | None, QueryParameter(description="the first local date; 13 days before the last")
]
LastDay = Annotated[dt.date | None, QueryParameter(description="the last local date; today")]


class StaffStatisticsController(Controller):
    path = "/api/v1/staff/points/{point_id:str}/statistics"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404))
    async def statistics(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        first: FirstDay = None,
        last: LastDay = None,
    ) -> Figures:
        """The point's figures per day, service, language and channel, and its capacity."""
        require_point(staff, point_id)
        conn = await uow.connection()
        point = await store.get_point(conn, point_id)
        return await figures(conn, point, *default_range(point, first, last))

    @get("/csv", responses=problems(401, 403, 404), media_type="text/csv")
    async def statistics_csv(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        first: FirstDay = None,
        last: LastDay = None,
    ) -> Response[str]:
        """The same rows as CSV, for the project's reports."""
        require_point(staff, point_id)
        conn = await uow.connection()
        point = await store.get_point(conn, point_id)
        found = await figures(conn, point, *default_range(point, first, last))
        name = f"wizyta-{point.id}-{found.first}-{found.last}.csv"
        return Response(
            figures_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
