"""The first free visit in my language: one search over every point of a city (on site) or
every point (phone, video), the same as GET /api/v1/availability (scheduling/search.py).

A GET form with no JavaScript; each time found links to the booking form's last step at its
point, with the service, channel, language and time chosen.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import asyncpg
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from core.problems import DomainError
from scheduling import search, store
from scheduling.availability import local_day_bounds
from scheduling.model import CHANNELS, LANGUAGES, ON_SITE
from web.booking_flow import step_link
from web.common import languages_in_order
from web.errors import explain
from web.render import language_of, page

Conn = NamedDependency[asyncpg.Connection]
ZONE = "Europe/Warsaw"
SEARCH_DAYS = 31
SHOWN = 12


class FindPages(Controller):
    path = "/find"
    include_in_schema = False

    @get("/")
    async def find(self, request: Request, conn: Conn) -> Template:
        query = request.query_params
        lang = language_of(request)
        points = await store.list_points(conn)
        cities = sorted({p.city for p in points})
        services = await conn.fetch("select id, names from services order by id")
        chosen = {
            "service": query.get("service") or "",
            "language": query.get("language") or lang,
            "city": query.get("city") or (cities[0] if cities else ""),
            "channel": query.get("channel") if query.get("channel") in CHANNELS else ON_SITE,
        }
        context: dict[str, Any] = {
            "cities": cities,
            "services": services,
            "visit_languages": languages_in_order(LANGUAGES),
            "channels": CHANNELS,
            "chosen": chosen,
            "found": None,
            "problem": None,
            "names": {p.id: p.names for p in points},
        }
        if chosen["service"] and chosen["language"] in LANGUAGES:
            first = dt.datetime.now(zoneinfo.ZoneInfo(ZONE)).date()
            last = first + dt.timedelta(days=SEARCH_DAYS - 1)
            try:
                result = await search.search(
                    conn,
                    city=chosen["city"] if chosen["channel"] == ON_SITE else None,
                    service_id=chosen["service"],
                    language=chosen["language"],
                    channel=chosen["channel"],
                    first=first,
                    last=last,
                    local_bounds=local_day_bounds(ZONE, first, last),
                )
            except DomainError as error:
                context["problem"] = explain(error, lang).message
            else:
                slots = [slot for day in result.days for slot in day.slots][:SHOWN]
                context["found"] = slots
                context["book_link"] = lambda slot: step_link(
                    slot.point_id,
                    service=chosen["service"],
                    channel=chosen["channel"],
                    language=chosen["language"],
                    day=slot.start.date().isoformat(),
                    start=slot.start.isoformat(),
                )
        return page(request, "find.html", lang=lang, **context)
