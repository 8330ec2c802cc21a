"""Staff feed tokens, and GET /calendars/staff/{token}.ics, where the token is the credential.

A calendar app cannot log in, so the feed's URL carries a 256-bit token, shown once at creation
and stored only as its SHA-256 hash (`core.tokens`); it is listed by id and revoked by id.
Unknown and revoked tokens get the same 404. Apps poll: the ETag lets them get a 304.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from core.openapi import not_modified, problems
from core.problems import NotFound
from core.tokens import new_token, token_hash
from core.uow import Uow
from scheduling import store
from staff.auth import Staff, current_staff, require_point
from staff.changes import audit
from staff.feeds import WINDOW, FeedVisit, build_staff_feed
from staff.schemas import STAFF_SECURITY

#: A feed answers its body, 304 when the ETag matches, or a refusal.
FEED_RESPONSES = {**problems(404, 422), **not_modified()}


class FeedTokenIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    show_names: bool = False
    label: Annotated[str, Meta(max_length=200)] | None = None
    """Where the feed is used ("desk 2, Outlook"), so the right one can be revoked later."""


class FeedToken(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    point_id: str
    show_names: bool
    label: str | None
    created_at: dt.datetime
    created_by: str | None
    revoked_at: dt.datetime | None


class FeedTokenCreated(FeedToken, frozen=True, kw_only=True):
    url: str
    """Shown once: only its hash is kept."""


_TOKEN = """
    select f.id, f.point_id, f.show_names, f.label, f.created_at, a.email as created_by,
           f.revoked_at
    from feed_tokens f left join staff_accounts a on a.id = f.created_by
"""


class StaffFeedTokenController(Controller):
    path = "/api/v1/staff/points/{point_id:str}/feed-tokens"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404, 422))
    async def list_tokens(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> list[FeedToken]:
        """The point's feed tokens, newest first, revoked ones included; never their secret."""
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        rows = await conn.fetch(
            _TOKEN + " where f.point_id = $1 order by f.created_at desc, f.id", point_id
        )
        return [FeedToken(**dict(r)) for r in rows]

    @post("/", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def create_token(
        self,
        state: State,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        data: JSONBody[FeedTokenIn],
    ) -> FeedTokenCreated:
        require_point(staff, point_id)
        token = new_token()

        async def work(conn: asyncpg.Connection) -> FeedToken:
            await store.get_point(conn, point_id)
            token_id = await conn.fetchval(
                """
                insert into feed_tokens (token_hash, point_id, created_by, show_names, label)
                values ($1, $2, $3, $4, $5) returning id
                """,
                token_hash(token),
                point_id,
                staff.id,
                data.show_names,
                data.label,
            )
            created = FeedToken(**dict(await conn.fetchrow(_TOKEN + " where f.id = $1", token_id)))
            await audit(conn, staff, "create", "feed_token", str(token_id), point_id, None, created)
            return created

        created = await uow.atomic(work)
        url = f"{state.settings.public_url.rstrip('/')}/calendars/staff/{token}.ics"
        return FeedTokenCreated(**msgspec.structs.asdict(created), url=url)

    @delete("/{token_id:uuid}", status_code=204, responses=problems(401, 403, 404, 409, 422))
    async def revoke_token(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], token_id: FromPath[UUID]
    ) -> None:
        """Revoke a token: its feed answers 404 from now on. Revoking twice changes nothing."""
        require_point(staff, point_id)

        async def work(conn: asyncpg.Connection) -> None:
            row = await conn.fetchrow(
                _TOKEN + " where f.id = $1 and f.point_id = $2 for update of f",
                token_id,
                point_id,
            )
            if row is None:
                raise NotFound(f"The point {point_id!r} has no feed token {token_id}.")
            if row["revoked_at"] is not None:
                return
            before = FeedToken(**dict(row))
            revoked_at = await conn.fetchval(
                "update feed_tokens set revoked_at = now() where id = $1 returning revoked_at",
                token_id,
            )
            after = msgspec.structs.replace(before, revoked_at=revoked_at)
            await audit(conn, staff, "revoke", "feed_token", str(token_id), point_id, before, after)

        await uow.atomic(work)


_FEED_VISITS = """
    select b.id as booking_id, b.reference, b.status, b.sequence, b.starts_at as start,
           b.ends_at as end, coalesce(s.names->>'pl', s.id) as service, b.language,
           coalesce(d.names->>'pl', d.id) as desk, b.visitor_name, b.needs, b.updated_at,
           b.channel, b.party_size
    from bookings b
    join services s on s.id = b.service_id
    join desks d on d.id = b.desk_id
    where b.point_id = $1 and b.starts_at >= $2 and b.starts_at < $3
      and (b.status in ('confirmed', 'checked_in')
           or (b.status = 'held' and b.hold_expires_at > now()))
    order by b.starts_at, b.reference
"""


class StaffFeedController(Controller):
    path = "/calendars/staff"
    tags = ["feeds"]

    @get(
        "/{feed_name:str}",
        media_type="text/calendar",
        responses={**problems(404, 422), **not_modified()},
    )
    async def staff_feed(
        self, state: State, uow: Uow, request: Request, feed_name: FromPath[str]
    ) -> Response[bytes]:
        """The point's visits from today for six weeks (no session: the token is the key)."""
        token, dot, extension = feed_name.rpartition(".")
        if not dot or extension != "ics" or not token or len(token) > 100:
            raise NotFound("There is no such feed; ask the point's staff for a new link.")
        async with uow.acquire() as conn:
            feed = await conn.fetchrow(
                """
                select point_id, show_names from feed_tokens
                where token_hash = $1 and revoked_at is null
                """,
                token_hash(token),
            )
            if feed is None:
                raise NotFound("There is no such feed; ask the point's staff for a new link.")
            point = await store.get_point(conn, feed["point_id"])
            zone = zoneinfo.ZoneInfo(point.timezone)
            today = dt.datetime.now(zone).date()
            start = dt.datetime.combine(today, dt.time(0), zone)
            rows = await conn.fetch(_FEED_VISITS, point.id, start, start + WINDOW)
        body = build_staff_feed(
            point_id=point.id,
            point_name=point.names.get("pl") or point.id,
            timezone=point.timezone,
            visits=[FeedVisit(**dict(r)) for r in rows],
            show_names=feed["show_names"],
            window_start=today,
            public_url=state.settings.public_url,
        )
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        # private: the body is one point's visits; no-cache: revalidate, a token may be revoked.
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(b"", status_code=304, headers=headers)
        headers["Content-Disposition"] = f'inline; filename="{point.id}-visits.ics"'
        return Response(body, media_type="text/calendar", headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
