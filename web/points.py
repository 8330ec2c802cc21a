"""The visitor's first pages: the list of points, one point with its hours, the language switch."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import quote_plus

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import queue
from scheduling import store
from scheduling.availability import point_days
from scheduling.model import Point
from scheduling.open_formats import json_ld, osm_opening_hours, script_json
from scheduling.open_formats_api import week_for
from scheduling.premises import get_premises
from scheduling.rules import DayHours
from web import i18n
from web.render import page

Conn = NamedDependency[asyncpg.Connection]
HOURS_WEEKS = 5


def today_at(point: Point) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()


def webcal_url(public_url: str, point_id: str, lang: str) -> str:
    """The hours feed as webcal:// (the same https URL under the scheme calendar apps open as
    a subscription when it is tapped, instead of downloading a file)."""
    host = public_url.split("://", 1)[-1]
    return f"webcal://{host}/calendars/points/{point_id}.ics?lang={lang}"


def address_line(point: Point) -> str:
    address = point.address
    city = " ".join(p for p in (address.get("postal_code"), address.get("city")) if p)
    return ", ".join(p for p in (address.get("street"), city) if p)


def map_link(point: Point) -> str:
    query = f"{point.address.get('street', '')}, {point.address.get('city', point.city)}"
    return f"https://www.openstreetmap.org/search?query={quote_plus(query)}"


def hours_text(day: DayHours) -> str:
    return ", ".join(f"{i.opens:%H:%M}–{i.closes:%H:%M}" for i in day.intervals)


def day_view(day: DayHours) -> dict[str, Any]:
    """One day of a point's calendar, with what marks it out (a holiday, an open Saturday)."""
    kinds = {reason.kind for reason in day.reasons}
    return {
        "date": day.date,
        "open": bool(day.intervals),
        "hours": hours_text(day),
        "reasons": [reason.label for reason in day.reasons],
        "holiday": "holiday" in kinds,
        "closure": "closure" in kinds and not day.intervals,
        "special": "special" in kinds,
        "weekend_open": day.date.weekday() >= 5 and bool(day.intervals),
    }


def safe_next(target: str | None) -> str:
    """Only a path of this site: never `//elsewhere` or `https://elsewhere`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


class PointPages(Controller):
    path = ""
    include_in_schema = False

    @get("/")
    async def points(self, request: Request, conn: Conn) -> Template:
        points = await store.list_points(conn)
        views = []
        for point in points:
            rules = await store.list_rules(conn, point.id)
            (today,) = point_days(point, rules, today_at(point), today_at(point))
            views.append(
                {
                    "point": point,
                    "address": address_line(point),
                    "map": map_link(point),
                    "today": day_view(today),
                }
            )
        return page(request, "points.html", points=views)

    @get("/points/{point_id:str}")
    async def point(self, request: Request, conn: Conn, point_id: FromPath[str]) -> Template:
        point = await store.get_point(conn, point_id)
        rules = await store.list_rules(conn, point.id)
        first = today_at(point)
        last = first + dt.timedelta(days=7 * HOURS_WEEKS - first.weekday() - 1)
        days = [day_view(d) for d in point_days(point, rules, first, last)]
        weeks: list[list[dict[str, Any]]] = []
        for day in days:
            if not weeks or day["date"].weekday() == 0:
                weeks.append([])
            weeks[-1].append(day)
        services = await store.list_point_services(conn, point.id)
        walk_in_wait = await queue.wait_for_walk_in(conn, point)  # None: appointments only
        lang = i18n.choose(
            request.query_params.get("lang"),
            request.cookies.get(i18n.COOKIE),
            request.headers.get("accept-language", ""),
        )
        # Phone and video visits have hours of their own (issue 16): shown and fed apart.
        every = await store.list_rules(conn, point.id, channel=None)
        channel_hours = [
            {
                "channel": channel,
                "days": [
                    day_view(d)
                    for d in point_days(point, every, first, first + dt.timedelta(days=13), channel)
                ],
                "feed": f"/calendars/points/{point.id}.ics?lang={lang}&channel={channel}",
            }
            for channel in ("phone", "video")
            if any(channel in s.channels for s in services)
        ]
        week, _, _ = await week_for(conn, point)
        public_url = request.app.state.settings.public_url
        structured = json_ld(
            point,
            await get_premises(conn, point.id),
            week,
            url=f"{public_url}/points/{point.id}",
            lang=lang,
        )
        return page(
            request,
            "point.html",
            lang=lang,
            json_ld=script_json(structured),
            osm_hours=osm_opening_hours(week),
            point=point,
            address=address_line(point),
            map=map_link(point),
            weeks=weeks,
            today=first,
            services=services,
            channel_hours=channel_hours,
            on_site=not services or any("on_site" in s.channels for s in services),
            walk_in_wait=walk_in_wait,
            feed=f"/calendars/points/{point.id}.ics?lang={lang}",
            webcal=webcal_url(request.app.state.settings.public_url, point.id, lang),
        )

    @get("/language")
    async def language(self, request: Request) -> Response[Any]:
        """The switch: remember the choice for a year and go back to the same page."""
        chosen = request.query_params.get("set", "")
        target = safe_next(request.query_params.get("next"))
        response: Response[Any] = Redirect(path=target, status_code=303)
        if chosen in i18n.LANGUAGES:
            response.set_cookie(language_cookie(request, chosen))
        return response


def language_cookie(request: Request, chosen: str) -> Cookie:
    """The language switch's choice, remembered for a year."""
    return Cookie(
        key=i18n.COOKIE,
        value=chosen,
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        secure=request.url.scheme == "https",
    )
