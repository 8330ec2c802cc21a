"""Kiosk tokens: a tablet at a point's entrance checks visitors in without a login, with a token
staff issue for that point (shown once; only its hash is kept) and may revoke."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import asyncpg
import msgspec

from booking.domain.queue import KioskNotSetUp, KioskOfAnotherPoint
from core.tokens import new_token, token_hash


class Kiosk(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    point_id: str
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class IssuedKiosk(msgspec.Struct, frozen=True, kw_only=True):
    kiosk: Kiosk
    token: str
    """Shown once: open the kiosk page with it on the tablet (`?kiosk_token=`)."""
    url: str


_KIOSK = "select id, point_id, label, created_at, revoked_at from kiosk_devices"


async def issue(conn: asyncpg.Connection, point_id: str, label: str) -> tuple[Kiosk, str]:
    token = new_token()
    row = await conn.fetchrow(
        """
        insert into kiosk_devices (point_id, label, token_hash) values ($1, $2, $3)
        returning id, point_id, label, created_at, revoked_at
        """,
        point_id,
        label,
        token_hash(token),
    )
    return Kiosk(**dict(row)), token


async def list_kiosks(conn: asyncpg.Connection, point_id: str) -> list[Kiosk]:
    rows = await conn.fetch(_KIOSK + " where point_id = $1 order by created_at", point_id)
    return [Kiosk(**dict(r)) for r in rows]


async def revoke(conn: asyncpg.Connection, point_id: str, kiosk_id: UUID) -> Kiosk | None:
    row = await conn.fetchrow(
        """
        update kiosk_devices set revoked_at = coalesce(revoked_at, now())
         where point_id = $1 and id = $2
        returning id, point_id, label, created_at, revoked_at
        """,
        point_id,
        kiosk_id,
    )
    return Kiosk(**dict(row)) if row else None


async def authorize(conn: asyncpg.Connection, point_id: str, token: str | None) -> None:
    """The kiosk token must be a live one of this point: KioskNotSetUp (none, unknown or
    revoked) or KioskOfAnotherPoint otherwise."""
    if not token:
        raise KioskNotSetUp()
    owner = await conn.fetchval(
        "select point_id from kiosk_devices where token_hash = $1 and revoked_at is null",
        token_hash(token),
    )
    if owner is None:
        raise KioskNotSetUp()
    if owner != point_id:
        raise KioskOfAnotherPoint()
