"""Draw entries written together: a group commit for a release's first seconds.

In a release's draw window every request for the new day becomes an entry (booking/draw.py),
and thousands arrive in the same second. Written one by one, each costs a pooled connection and
a transaction of six statements, and the pool's 20 connections turn the rush into a queue that
answers 503. Here a process gathers the entries that arrive within `GATHER` seconds (and while
the previous group is being written) and writes them in one transaction of a few statements,
whatever their number: the idempotency keys in one insert, the entries in one insert, the
answers in one update. The request waits for its own outcome and holds no connection meanwhile.

What does not change:
- one entry per person per draw: the unique (point, day, person) index decides, inside the
  insert; an entry it refuses is answered 409 `already_in_draw`, as before;
- one answer per Idempotency-Key: the keys are claimed first, and a key used before gets its
  first answer (or 422 when the body differs); a key twice in one group waits for the next;
- every entrant gets their own outcome: the entry and its token, or the refusal of its own
  request (checked against the point's configuration as of the group's transaction);
- a request whose draw window turned out closed, and every request of a group whose
  transaction failed, are answered None: the caller then takes the usual way of one request,
  one transaction (booking/visits.py), which also answers a store outage as it always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from booking import draw, idempotency
from booking.checks import bookable_slot, parse_start, visit_of
from booking.domain.errors import AlreadyInDraw, IdempotencyKeyReused, UnknownPoint
from booking.domain.visit import VisitCreated
from booking.schemas import BookingCreate
from booking.secrets import email_key, new_token, token_hash
from core.db import BoundedPool
from core.errors import DomainError, NotFound
from core.uow import UnitOfWork
from scheduling import config as point_config
from scheduling import store as scheduling_store
from scheduling.availability import slots_for

logger = logging.getLogger("wizyta.draw")

GATHER = 0.004
"""Seconds a group waits for more entries after its first one (the next gathers meanwhile)."""
LARGEST = 1000
"""Entries one transaction writes at most."""


@dataclass
class Pending:
    data: BookingCreate
    key: str
    key_hash: bytes
    request_hash: bytes
    email: str
    phone: str | None
    answer: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def may_draw(data: BookingCreate) -> bool:
    """Whether this request is likely a draw entry, by the point's configuration this process
    read last (no query): only which way to try first, never the decision. A point this process
    has not read yet goes to a group too (a rush may be the first thing a process serves): the
    group reads it, and sends a request outside a window back to the usual way."""
    config = point_config.latest(data.point_id)
    if config is None:
        return True
    if config.point.release_time is None:
        return False
    try:
        start = parse_start(data.start, config.point.timezone)
    except DomainError:
        return False
    day = start.astimezone(zoneinfo.ZoneInfo(config.point.timezone)).date()
    return draw.open_window(config.point, day, dt.datetime.now(dt.UTC)) is not None


class DrawEntries:
    """One per web process (app.state.draw_entries): gathers draw entries into groups."""

    def __init__(self, pool: BoundedPool, redis: Any, *, gather: float = GATHER) -> None:
        self._pool = pool
        self._redis = redis
        self.gather = gather
        self._waiting: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._deciding: dict[tuple[str, dt.date], asyncio.Task[None]] = {}
        self._asked: list[tuple[UUID, asyncio.Future[Any]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def enter(
        self, data: BookingCreate, key: str, email: str, phone: str | None
    ) -> draw.DrawEntry | VisitCreated | None:
        """The entry (or the first answer of its key), a refusal raised, or None: take the
        usual way."""
        pending = Pending(
            data, key, idempotency.key_hash(key), idempotency.request_hash(data), email, phone
        )
        self._waiting.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        outcome = await asyncio.shield(pending.answer)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def read(self, entry_id: UUID) -> asyncpg.Record | None:
        """The entry with its visit's reference, its point's release settings and the database's
        now(), read in one query with the other entries asked for within `GATHER` seconds: an
        answer in a rush needs no connection of its own."""
        asked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._asked.append((entry_id, asked))
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_all())
        outcome = await asyncio.shield(asked)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _read_all(self) -> None:
        while self._asked:
            await asyncio.sleep(self.gather)
            group, self._asked = self._asked[:LARGEST], self._asked[LARGEST:]
            try:
                async with UnitOfWork(self._pool, self._redis) as uow:
                    conn = await uow.connection()
                    rows = {
                        row["id"]: row
                        for row in await conn.fetch(
                            """
                            select e.*, b.reference, p.timezone, p.release_time,
                                   p.release_days_ahead, p.draw_minutes, now() as now
                            from draw_entries e
                            join points p on p.id = e.point_id
                            left join bookings b on b.id = e.booking_id
                            where e.id = any($1::uuid[])
                            """,
                            [entry_id for entry_id, _ in group],
                        )
                    }
                    outcomes: list[Any] = [rows.get(entry_id) for entry_id, _ in group]
            except Exception as e:  # the store's failure, answered to each as usual
                outcomes = [e] * len(group)
            for (_, asked), outcome in zip(group, outcomes, strict=True):
                if not asked.done():
                    asked.set_result(outcome)

    async def decide(self, point_id: str, day: dt.date, hold: dt.timedelta) -> None:
        """Decide the draw of (point, day) once for every request of this process that asks
        meanwhile: one transaction decides, the others wait for it without a connection (so a
        thousand answers asked at once do not fill the pool while the draw runs)."""
        key = (point_id, day)
        task = self._deciding.get(key)
        if task is None:
            task = asyncio.create_task(self._decide(point_id, day, hold))
            self._deciding[key] = task
            task.add_done_callback(lambda _: self._deciding.pop(key, None))
        await asyncio.shield(task)

    async def _decide(self, point_id: str, day: dt.date, hold: dt.timedelta) -> None:
        async with UnitOfWork(self._pool, self._redis) as uow:

            async def work(conn: asyncpg.Connection) -> None:
                point = await scheduling_store.get_point(conn, point_id)
                uow.send(await draw.decide_due(conn, point, day, hold))

            await uow.atomic(work)

    async def close(self) -> None:
        """Write what is waiting (the app is stopping)."""
        for task in (self._writer, self._reader):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task

    async def _write_all(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.gather)
            group: list[Pending] = []
            later: list[Pending] = []
            keys: set[bytes] = set()
            for pending in self._waiting:
                if len(group) < LARGEST and pending.key_hash not in keys:
                    keys.add(pending.key_hash)
                    group.append(pending)
                else:  # the same key twice: the second is answered after the first commits
                    later.append(pending)
            self._waiting = later
            try:
                async with UnitOfWork(self._pool, self._redis) as uow:
                    outcomes = await uow.atomic(lambda conn, group=group: _write(conn, group))
            except Exception as e:  # each takes the usual way, and meets the failure alone
                logger.warning("a group of %d draw entries failed (%r); one by one", len(group), e)
                outcomes = [None] * len(group)
            for pending, outcome in zip(group, outcomes, strict=True):
                if not pending.answer.done():
                    pending.answer.set_result(outcome)


async def _write(conn: asyncpg.Connection, group: list[Pending]) -> list[Any]:
    """One group in one transaction; each pending's outcome: an answer, a refusal, or None."""
    from booking.visits import check_step_free, request_window  # visits calls this module

    outcomes: list[Any] = [None] * len(group)
    claimed = {
        bytes(row["key_hash"])
        for row in await conn.fetch(
            """
            insert into idempotency_keys (key_hash, request_hash)
            select k, r from unnest($1::bytea[], $2::bytea[]) as t (k, r) order by k
            on conflict do nothing returning key_hash
            """,
            [p.key_hash for p in group],
            [p.request_hash for p in group],
        )
    }
    used = [p.key_hash for p in group if p.key_hash not in claimed]
    if used:
        firsts = {
            bytes(row["key_hash"]): row
            for row in await conn.fetch(
                "select key_hash, request_hash, status_code, response from idempotency_keys "
                "where key_hash = any($1::bytea[])",
                used,
            )
        }
    configs: dict[str, Any] = {}
    offered: dict[tuple, dict[dt.datetime, Any]] = {}
    rows: list[tuple[int, Pending, Any, dt.datetime, tuple[dt.datetime, dt.datetime], str]] = []
    for n, pending in enumerate(group):
        if pending.key_hash not in claimed:
            first = firsts[pending.key_hash]
            ticket = idempotency.Ticket(pending.key, pending.key_hash, pending.request_hash)
            try:
                outcomes[n] = ticket.first(
                    first["request_hash"], first["status_code"], first["response"]
                )
            except IdempotencyKeyReused as refused:
                outcomes[n] = refused
            continue
        data = pending.data
        try:
            if data.point_id not in configs:
                try:
                    configs[data.point_id] = await point_config.current(conn, data.point_id)
                except NotFound as e:
                    raise UnknownPoint(point_id=data.point_id) from e
            config, now = configs[data.point_id]
            offer, services = visit_of(
                config,
                [data.service_id, *data.extra_services],
                data.channel,
                data.party_size,
            )
            start, day, window = request_window(config, offer, services, now, data)
            if window is None:
                continue  # None: the usual way (the window closed meanwhile)
            # The day's slots as the rules offer them (a draw entry names a time the rules
            # offer, taken or not): computed once per group for each kind of visit.
            shape = (config.point.id, tuple(services), data.language, data.channel, day)
            if shape not in offered:
                (found,) = await slots_for(
                    conn,
                    config.point,
                    offer,
                    data.language,
                    day,
                    day,
                    now,
                    ignore_busy=True,
                    config=config,
                    channel=data.channel,
                    services=services,
                )
                offered[shape] = {slot.start: slot for slot in found.slots}
            slot = offered[shape].get(start) or await bookable_slot(
                conn,
                config.point,
                offer,
                data.language,
                start,
                now,
                config=config,
                free_only=False,
                channel=data.channel,
                services=services,
            )  # not offered: bookable_slot says why
            check_step_free(config, data, slot.desk_ids)
        except DomainError as refusal:
            outcomes[n] = refusal
            continue
        rows.append((n, pending, config.point, slot.start, window, offer.id))
    entered: dict[bytes, asyncpg.Record] = {}
    tokens = [new_token() for _ in rows]
    if rows:
        zones = {row[2].timezone: zoneinfo.ZoneInfo(row[2].timezone) for row in rows}
        days = [start.astimezone(zones[point.timezone]).date() for _, _, point, start, _, _ in rows]
        hashes = [token_hash(token) for token in tokens]
        # By person: two groups of two processes lock the unique index's entries in one order.
        order = sorted(range(len(rows)), key=lambda i: email_key(rows[i][1].email))
        entered = {
            bytes(row["token_hash"]): row
            for row in await conn.fetch(
                """
                insert into draw_entries (point_id, day, service_id, language, requested_start,
                    visitor_name, visitor_email, visitor_email_key, visitor_phone, notes, needs,
                    token_hash, mail_language)
                select e.point_id, e.day, e.service_id, e.language, e.requested_start,
                       e.visitor_name, e.visitor_email, e.visitor_email_key, e.visitor_phone,
                       e.notes,
                       array(select jsonb_array_elements_text(e.needs::jsonb)),
                       e.token_hash, e.mail_language
                from unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::timestamptz[],
                            $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                            $11::text[], $12::bytea[], $13::text[])
                     with ordinality as e (point_id, day, service_id, language, requested_start,
                        visitor_name, visitor_email, visitor_email_key, visitor_phone, notes,
                        needs, token_hash, mail_language, n)
                order by e.n
                on conflict do nothing
                returning token_hash, id, status
                """,
                *(
                    [column[i] for i in order]
                    for column in (
                        [point.id for _, _, point, _, _, _ in rows],
                        days,
                        [service for *_, service in rows],
                        [p.data.language for _, p, *_ in rows],
                        [start for _, _, _, start, _, _ in rows],
                        [p.data.visitor.name.strip() for _, p, *_ in rows],
                        [p.email for _, p, *_ in rows],
                        [email_key(p.email) for _, p, *_ in rows],
                        [p.phone for _, p, *_ in rows],
                        [p.data.notes for _, p, *_ in rows],
                        [msgspec.json.encode(list(p.data.needs)).decode() for _, p, *_ in rows],
                        hashes,
                        [p.data.mail_language for _, p, *_ in rows],
                    )
                ),
            )
        }
        answered_hashes, answers = [], []
        for (n, pending, point, start, window, _), token, day in zip(
            rows, tokens, days, strict=True
        ):
            row = entered.get(token_hash(token))
            if row is None:  # the unique (point, day, person) index
                outcomes[n] = AlreadyInDraw(day=day.isoformat())
                continue
            entry = draw.DrawEntry(
                entry_id=row["id"],
                status=row["status"],
                point_id=point.id,
                day=day,
                requested_start=start,
                decided_at=None,
                draw_closes_at=window[1],
                token=token,
            )
            outcomes[n] = entry
            answered_hashes.append(pending.key_hash)
            answers.append(idempotency.seal(pending.key, msgspec.json.encode(entry)))
        if answers:
            await conn.execute(
                """
                update idempotency_keys k set status_code = 202, response = a.response
                from unnest($1::bytea[], $2::bytea[]) as a (key_hash, response)
                where k.key_hash = a.key_hash
                """,
                answered_hashes,
                answers,
            )
    # Keys claimed for requests that wrote nothing are given back, as a rollback would.
    unused = [
        p.key_hash
        for p, outcome in zip(group, outcomes, strict=True)
        if p.key_hash in claimed and not isinstance(outcome, draw.DrawEntry)
    ]
    if unused:
        await conn.execute("delete from idempotency_keys where key_hash = any($1::bytea[])", unused)
    return outcomes
