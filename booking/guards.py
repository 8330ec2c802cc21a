"""Checks and conversions every visit operation shares: who may touch a visit, whether its
status allows the change, and how a row is shown."""

from __future__ import annotations

import datetime as dt

import asyncpg
from email_validator import EmailNotValidError, validate_email

from booking import store
from booking.lifecycle import Event, IllegalTransition, Status, transition
from booking.schemas import Visit, VisitorOut
from booking.secrets import token_hash, token_matches
from core.problems import Conflict, Invalid, NotFound, Unauthorized
from scheduling import config as point_config
from scheduling import store as scheduling_store
from scheduling.config import PointConfig
from scheduling.model import Point, PointService


def visit_of(row: asyncpg.Record) -> Visit:
    return Visit(
        reference=row["reference"],
        status=row["status"],
        point_id=row["point_id"],
        service_id=row["service_id"],
        desk_id=row["desk_id"],
        start=row["starts_at"],
        end=row["ends_at"],
        timezone=row["timezone"],
        language=row["language"],
        visitor=VisitorOut(row["visitor_name"], row["visitor_email"], row["visitor_phone"]),
        notes=row["notes"],
        needs=list(row["needs"]),
        sequence=row["sequence"],
        expires_at=row["hold_expires_at"] if row["status"] == "held" else None,
    )


def valid_email(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise Invalid(f"The e-mail address is not valid: {e}", field="visitor.email") from e


async def db_now(conn: asyncpg.Connection) -> dt.datetime:
    """The database's clock: every replica agrees with the constraints' now()."""
    return await conn.fetchval("select now()")


async def point_and_offer(
    conn: asyncpg.Connection, point_id: str, service_id: str
) -> tuple[Point, PointService]:
    try:
        point = await scheduling_store.get_point(conn, point_id)
        offer = await scheduling_store.get_point_service(conn, point_id, service_id)
    except NotFound as e:
        raise Invalid(e.detail, **e.extra) from e
    return point, offer


async def config_and_offer(
    conn: asyncpg.Connection, point_id: str, service_id: str
) -> tuple[PointConfig, PointService, dt.datetime]:
    """The point's current configuration (scheduling/config.py), the service, and now()."""
    try:
        config, now = await point_config.current(conn, point_id)
        return config, config.offer(service_id), now
    except NotFound as e:
        raise Invalid(e.detail, **e.extra) from e


async def authorized(
    conn: asyncpg.Connection, reference: str, token: str | None, *, lock: bool
) -> asyncpg.Record:
    """The visit, if the manage token is its own; otherwise reveal nothing about it."""
    if not token:
        raise Unauthorized("This needs the visit's manage token: Authorization: Bearer <token>.")
    row = await store.visit_by_reference(conn, reference, lock=lock)
    if row is None or not token_matches(token, row["manage_token_hash"]):
        raise NotFound("No visit with this reference and token.")
    return row


def transition_or_409(status: str, event: Event) -> Status:
    try:
        return transition(status, event)
    except IllegalTransition as e:
        raise Conflict(str(e), visit_status=status) from e


def not_started(row: asyncpg.Record, now: dt.datetime, verb: str) -> None:
    if row["starts_at"] <= now:
        raise Conflict(f"The visit has already started, so it cannot be {verb} online.")


def confirmed_marker(token: str) -> bytes:
    """After confirming, the confirmation hash is replaced by one that still recognises a
    repeated click on the same link (idempotent confirm) but no longer confirms anything else."""
    return token_hash("confirmed:" + token)


def was_confirmed_by(row: asyncpg.Record, token: str) -> bool:
    return token_matches("confirmed:" + token, row["confirm_token_hash"])
