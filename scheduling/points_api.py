"""Public read API of points: the list, one point, its services, hours and availability."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from core.openapi import problems
from core.problems import Invalid, NotFound
from scheduling import search, store
from scheduling.availability import local_day_bounds, point_days, slots_for
from scheduling.model import LANGUAGES, ON_SITE, Point, PointService
from scheduling.offers import check_channel, visit_offer
from scheduling.rules import real_span

MAX_RANGE_DAYS = 93
#: the points' zone, in which a search's dates are read (every point is in Małopolska)
SEARCH_ZONE = "Europe/Warsaw"
DEFAULT_RANGE_DAYS = 14

Conn = NamedDependency[asyncpg.Connection]
FromDate = Annotated[dt.date | None, QueryParameter(name="from", description="first local date")]
ToDate = Annotated[
    dt.date | None, QueryParameter(name="to", description="last local date, inclusive")
]
ChannelParam = Annotated[
    str,
    QueryParameter(
        name="channel",
        max_length=20,
        description="on_site (default), phone or video: each has its own hours and desks",
    ),
]
PartySizeParam = Annotated[
    int,
    QueryParameter(
        name="party_size",
        ge=1,
        le=99,
        description="how many people come (default 1); longer visits for larger parties",
    ),
]
ExtraServiceParam = Annotated[
    list[str] | None,
    QueryParameter(
        name="extra_service",
        max_items=9,
        description="a further matter for the same visit (repeat for more)",
    ),
]


class Interval(msgspec.Struct, frozen=True):
    opens: str
    closes: str
    start: dt.datetime
    end: dt.datetime


class DayReason(msgspec.Struct, frozen=True):
    kind: str
    label: dict[str, str]


class Day(msgspec.Struct, frozen=True):
    date: dt.date
    status: str
    intervals: list[Interval]
    reasons: list[DayReason]


class Hours(msgspec.Struct, frozen=True):
    point_id: str
    timezone: str
    days: list[Day]
    channel: str = ON_SITE


class SlotOut(msgspec.Struct, frozen=True):
    start: dt.datetime
    end: dt.datetime
    free: int


class AvailabilityDay(msgspec.Struct, frozen=True):
    date: dt.date
    slots: list[SlotOut]


class Availability(msgspec.Struct, frozen=True):
    point_id: str
    service_id: str
    language: str
    timezone: str
    days: list[AvailabilityDay]
    channel: str = ON_SITE
    party_size: int = 1
    extra_services: list[str] = []


def date_range(
    point: Point | str, first: dt.date | None, last: dt.date | None
) -> tuple[dt.date, dt.date]:
    """Resolve ?from&to in the point's zone (or the zone given): today and two weeks by
    default, 93 days at most."""
    zone = point if isinstance(point, str) else point.timezone
    today = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    first = first or today
    last = last or first + dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if last < first:
        raise Invalid(f"'to' ({last}) is before 'from' ({first}).", field="to")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(
            f"The range from {first} to {last} is {(last - first).days + 1} days; "
            f"at most {MAX_RANGE_DAYS} days can be asked for at once.",
            field="to",
        )
    return first, last


def _wall(t: dt.time) -> str:
    return t.strftime("%H:%M")


def hours_of(point: Point, days, channel: str = ON_SITE) -> Hours:
    """The days' intervals with their real instants; an interval that has no real length (one
    inside the spring-forward gap, saved before such rules were refused) is left out."""
    zone = zoneinfo.ZoneInfo(point.timezone)
    out = []
    for day in days:
        intervals = [
            Interval(opens=_wall(i.opens), closes=_wall(i.closes), start=span[0], end=span[1])
            for i in day.intervals
            if (span := real_span(day.date, i.opens, i.closes, zone)) is not None
        ]
        out.append(
            Day(
                date=day.date,
                status="open" if intervals else "closed",
                intervals=intervals,
                reasons=[DayReason(r.kind, dict(r.label)) for r in day.reasons],
            )
        )
    return Hours(point_id=point.id, timezone=point.timezone, days=out, channel=channel)


class PointController(Controller):
    path = "/api/v1/points"
    tags = ["points"]

    @get("/", responses=problems(404, 422))
    async def list_points(self, conn: Conn) -> list[Point]:
        return await store.list_points(conn)

    @get("/{point_id:str}", responses=problems(404, 422))
    async def get_point(self, conn: Conn, point_id: FromPath[str]) -> Point:
        return await store.get_point(conn, point_id)

    @get("/{point_id:str}/services", responses=problems(404, 422))
    async def list_services(self, conn: Conn, point_id: FromPath[str]) -> list[PointService]:
        await store.get_point(conn, point_id)
        return await store.list_point_services(conn, point_id)

    @get(
        "/{point_id:str}/hours", cache=True, responses=problems(404, 422)
    )  # core/cache.py: at most READ_CACHE_SECONDS old
    async def hours(
        self,
        conn: Conn,
        point_id: FromPath[str],
        from_: FromDate = None,
        to: ToDate = None,
        channel: ChannelParam = ON_SITE,
    ) -> Hours:
        """The point's hours in one channel: its visiting hours (on_site, the default), or the
        hours of its phone or video visits."""
        check_channel(channel)
        point = await store.get_point(conn, point_id)
        first, last = date_range(point, from_, to)
        rules = await store.list_rules(conn, point_id, channel)
        return hours_of(point, point_days(point, rules, first, last, channel), channel)

    @get("/{point_id:str}/availability", cache=True, responses=problems(404, 422))
    async def availability(
        self,
        conn: Conn,
        point_id: FromPath[str],
        service: Annotated[str, QueryParameter(name="service", description="service id")],
        language: Annotated[
            str, QueryParameter(name="language", description="pl en uk ru pjm ukl rsl")
        ],
        from_: FromDate = None,
        to: ToDate = None,
        channel: ChannelParam = ON_SITE,
        party_size: PartySizeParam = 1,
        extra_service: ExtraServiceParam = None,
    ) -> Availability:
        point = await store.get_point(conn, point_id)
        offers = [await store.get_point_service(conn, point_id, service)]
        for extra in dict.fromkeys(extra_service or []):
            if extra != service:
                offers.append(await store.get_point_service(conn, point_id, extra))
        offer = visit_offer(point, offers, channel, party_size)
        check_language(offer, language)
        first, last = date_range(point, from_, to)
        now = dt.datetime.now(dt.UTC)
        zone = zoneinfo.ZoneInfo(point.timezone)
        days = await slots_for(
            conn,
            point,
            offer,
            language,
            first,
            last,
            now,
            channel=channel,
            services=[o.id for o in offers],
        )
        return Availability(
            point_id=point.id,
            service_id=offer.id,
            language=language,
            timezone=point.timezone,
            days=[
                AvailabilityDay(
                    date=day.date,
                    slots=[
                        SlotOut(s.start.astimezone(zone), s.end.astimezone(zone), s.free)
                        for s in day.slots
                    ],
                )
                for day in days
            ],
            channel=channel,
            party_size=party_size,
            extra_services=[o.id for o in offers[1:]],
        )


def check_language(offer: PointService, language: str) -> None:
    if language not in LANGUAGES:
        raise Invalid(
            f"Unknown language {language!r}; use one of {', '.join(LANGUAGES)}.", field="language"
        )
    if language not in offer.languages:
        raise Invalid(
            f"The service {offer.id!r} is not offered in {language!r} here; "
            f"it is offered in {', '.join(offer.languages)}.",
            field="language",
        )


class SearchController(Controller):
    """The first free visit across points (scheduling/search.py)."""

    path = "/api/v1/availability"
    tags = ["points"]

    @get(
        "/",
        cache=True,
        summary="Free visits across points: every point of a city, or every point by phone "
        "or video",
        responses=problems(404, 422),
    )
    async def search(
        self,
        conn: Conn,
        service: Annotated[str, QueryParameter(name="service", description="service id")],
        language: Annotated[
            str, QueryParameter(name="language", description="pl en uk ru pjm ukl rsl")
        ],
        city: Annotated[
            str | None,
            QueryParameter(
                name="city",
                max_length=100,
                description="the city of an on-site visit (phone and video: every point)",
            ),
        ] = None,
        channel: ChannelParam = ON_SITE,
        party_size: PartySizeParam = 1,
        from_: FromDate = None,
        to: ToDate = None,
    ) -> search.Search:
        check_channel(channel)
        if language not in LANGUAGES:
            raise Invalid(
                f"Unknown language {language!r}; use one of {', '.join(LANGUAGES)}.",
                field="language",
            )
        if channel == ON_SITE and not city:
            raise Invalid("An on-site visit is searched for in a city: give ?city=.", field="city")
        if not await conn.fetchval("select exists (select from services where id = $1)", service):
            raise NotFound(f"There is no service {service!r}.", service_id=service)
        if channel == ON_SITE and not await conn.fetchval(
            "select exists (select from points where lower(city) = lower($1))", city
        ):
            raise NotFound(f"There is no point in {city!r}.", city=city)
        zone = SEARCH_ZONE
        first, last = date_range(zone, from_, to)
        return await search.search(
            conn,
            city=city if channel == ON_SITE else None,
            service_id=service,
            language=language,
            channel=channel,
            party_size=party_size,
            first=first,
            last=last,
            local_bounds=local_day_bounds(zone, first, last),
        )
