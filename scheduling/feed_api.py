"""GET /calendars/points/{id}.ics: a point's opening hours for calendar apps to subscribe to.

Calendar apps poll; the ETag (a hash of the body) lets them get a 304 instead of the feed.
Building a feed takes milliseconds (a year of rules expanded and written as iCalendar), and
every poll would build it to hash it, so each process keeps the body and its ETag per point,
configuration version (scheduling/config.py), local day and language: a poll then costs one
query, whether it gets the feed or a 304.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from core.openapi import not_modified, problems
from core.problems import Invalid, NotFound
from scheduling import config as point_config
from scheduling.feed import build_hours_feed
from scheduling.model import ON_SITE
from scheduling.offers import check_channel

FEED_PAST = dt.timedelta(days=31)
FEED_FUTURE = dt.timedelta(days=366)
FEED_LANGUAGES = ("pl", "en", "uk", "ru")


_KEPT_FEEDS = 256
_built: dict[tuple, tuple[bytes, str]] = {}


def _address(address: dict) -> str:
    city = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    return ", ".join(part for part in (address.get("street"), city) if part)


#: A feed answers its body, 304 when the ETag matches, or a refusal.
FEED_RESPONSES = {**problems(404, 422), **not_modified()}


class HoursFeedController(Controller):
    path = "/calendars/points"
    tags = ["feeds"]

    @get(
        "/{feed_name:str}",
        media_type="text/calendar",
        responses={**problems(404, 422), **not_modified()},
    )
    async def hours_feed(
        self,
        state: State,
        request: Request,
        conn: NamedDependency[asyncpg.Connection],
        feed_name: FromPath[str],
        lang: FromQuery[str] = "pl",
        channel: FromQuery[str] = ON_SITE,
    ) -> Response[bytes]:
        point_id, dot, extension = feed_name.rpartition(".")
        if not dot or extension != "ics":
            raise NotFound("Feeds are at /calendars/points/{point_id}.ics.")
        if lang not in FEED_LANGUAGES:
            raise Invalid(f"lang must be one of {', '.join(FEED_LANGUAGES)}.", field="lang")
        check_channel(channel)
        config, _ = await point_config.current(conn, point_id)
        point = config.point
        today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
        key = (
            config.database,
            point.id,
            config.version,
            today,
            lang,
            state.settings.public_url,
            channel,
        )
        if (kept := _built.get(key)) is None:
            body = build_hours_feed(
                point_id=point.id,
                point_name=point.names,
                address=_address(point.address),
                timezone=point.timezone,
                rules=config.rules,
                observes_holidays=point.observes_holidays,
                window_start=today - FEED_PAST,
                window_end=today + FEED_FUTURE,
                language=lang,
                public_url=state.settings.public_url,
                channel=channel,
            )
            if len(_built) >= _KEPT_FEEDS:
                _built.clear()
            kept = _built[key] = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        body, etag = kept
        headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(b"", status_code=304, headers=headers)
        name = point.id if channel == ON_SITE else f"{point.id}-{channel}"
        headers["Content-Disposition"] = f'inline; filename="{name}.ics"'
        return Response(body, media_type="text/calendar", headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
