"""The waiting room's screen: `/points/{id}/display` (public: ticket numbers, desks, no names)
and its live feed `/points/{id}/display/events` (server-sent events).

Across replicas, a change to a point's queue is a PostgreSQL NOTIFY on booking.queue.CHANNEL,
sent when its transaction commits. Each process keeps one LISTEN connection of its own (not a
pooled one) while any screen is connected to it, and wakes the streams of that point; each
stream then reads the board through the pool for a moment and sends it whole. A stream sends
the whole board when it (re)connects and again at least every REFRESH seconds, so a screen is
right again after its connection or the LISTEN connection was lost, whatever it missed. On
shutdown `close_streams()` ends the streams, so a server stops at once and screens reconnect
to another replica (EventSource reconnects by itself; display.js also after an error status).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from booking import queue
from core import db
from scheduling import store
from scheduling.model import Point
from web import i18n
from web.i18n import N_, N_plural, gettext_for, plural
from web.render import Formats, language_of, page
from web.security import _PAGE_POLICY

logger = logging.getLogger("wizyta.display")

REFRESH = 15.0
RECONNECT = 1.0

#: The screen runs one script of this site, which opens the event stream.
DISPLAY_POLICY = "; ".join([*_PAGE_POLICY, "script-src 'self'", "connect-src 'self'"])

WAIT = N_plural("About %(n)s minute", "About %(n)s minutes")
NO_WAIT = N_("No waiting now")
SAY = N_("Number %(number)s, %(desk)s")
SAY_ROOM = N_("Number %(number)s, %(desk)s, %(room)s")


class Hub:
    """One process's LISTEN connection and the streams waiting on it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.streams: dict[str, set[asyncio.Queue[None]]] = {}
        self.closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, point_id: str) -> asyncio.Queue[None]:
        wake: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self.streams.setdefault(point_id, set()).add(wake)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="display-listen")
        return wake

    def unsubscribe(self, point_id: str, wake: asyncio.Queue[None]) -> None:
        found = self.streams.get(point_id)
        if found is not None:
            found.discard(wake)
            if not found:
                del self.streams[point_id]
        if not self.streams and self._task is not None:
            self._task.cancel()
            self._task = None

    def wake(self, point_id: str | None = None) -> None:
        """Wake the streams of a point (or all): each reads its board again."""
        for pid, wakes in list(self.streams.items()):
            if point_id is None or pid == point_id:
                for w in list(wakes):
                    with contextlib.suppress(asyncio.QueueFull):
                        w.put_nowait(None)

    def close(self) -> None:
        self.closing.set()
        self.wake()

    async def _listen(self) -> None:
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncio.wait_for(db.connect(self.database_url), 5)
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(queue.CHANNEL, lambda *args: self.wake(args[3]))
                self.wake()  # anything missed while there was no connection
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 10)
                    if not lost.is_set():
                        await asyncio.wait_for(conn.execute("select 1"), 5)  # still there?
            except asyncio.CancelledError:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
                raise
            except Exception as error:  # the database went away: try again soon
                logger.warning("display LISTEN connection lost: %s", error)
            if conn is not None:
                conn.terminate()
            await asyncio.sleep(RECONNECT)


#: Per event loop, per database: the hubs of this process.
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Hub]] = (
    weakref.WeakKeyDictionary()
)


def hub_for(database_url: str) -> Hub:
    hubs = _hubs.setdefault(asyncio.get_running_loop(), {})
    hub = hubs.get(database_url)
    if hub is None or hub.closing.is_set():
        hub = hubs[database_url] = Hub(database_url)
    return hub


def close_streams() -> None:
    """End every event stream of this process (a server shutting down)."""
    with contextlib.suppress(RuntimeError):
        for hub in _hubs.get(asyncio.get_running_loop(), {}).values():
            hub.close()


def board_json(board: queue.Board, lang: str) -> dict[str, Any]:
    """The board as the screen shows it, in its language (desk names and rooms, the wait, what
    to say)."""
    fmt = Formats(lang)
    _ = gettext_for(lang)

    def call(c: queue.Call) -> dict[str, Any]:
        desk = fmt.pick(c.desk)
        spoken = f"{c.number[0]} {int(c.number[1:])}"
        words = {"number": spoken, "desk": desk, "room": c.room}
        return {
            "id": c.id,
            "number": c.number,
            "desk": desk,
            "room": c.room,
            "time": fmt.time(c.at),
            "say": _(SAY_ROOM if c.room else SAY) % words,
        }

    wait = None
    if board.wait_minutes is not None:
        wait = plural(lang, WAIT, board.wait_minutes) if board.wait_minutes else _(NO_WAIT)
    return {
        "now_serving": [call(c) for c in board.now_serving],
        "last_calls": [call(c) for c in board.last_calls],
        "waiting": board.waiting,
        "wait": wait,
        "lang": lang,
    }


async def _board(state: State, point: Point, lang: str) -> dict[str, Any]:
    async with state.pool.acquire() as conn:
        return board_json(await queue.board(conn, point), lang)


class DisplayPages(Controller):
    path = "/points/{point_id:str}/display"
    include_in_schema = False

    @get("/")
    async def display(self, request: Request, state: State, point_id: FromPath[str]) -> Template:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
        lang = language_of(request)
        shown = await _board(state, point, lang)
        return page(
            request,
            "display.html",
            lang=lang,
            point=point,
            board=shown,
            events=f"/points/{point.id}/display/events?lang={lang}",
            headers={"Content-Security-Policy": DISPLAY_POLICY},
        )

    @get("/events")
    async def events(
        self, request: Request, state: State, point_id: FromPath[str]
    ) -> ServerSentEvent:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
        lang = i18n.choose(request.query_params.get("lang"), None, "")
        hub = hub_for(state.settings.database_url)

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            wake = hub.subscribe(point.id)
            try:
                last = None
                while not hub.closing.is_set():
                    shown = json.dumps(await _board(state, point, lang), ensure_ascii=False)
                    if shown != last:
                        yield ServerSentEventMessage(data=shown, event="board", retry=1000)
                        last = shown
                    else:
                        yield ServerSentEventMessage(comment="still here", data=None)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.get(), REFRESH)
            finally:
                hub.unsubscribe(point.id, wake)

        return ServerSentEvent(
            stream(),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
