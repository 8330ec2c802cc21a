"""A TCP proxy a test can cut, blackhole and restore, to make a real store "go away" and come back.

`cut` refuses new connections and breaks open ones (a crashed server, a closed port);
`blackhole` keeps accepting and keeps connections open but passes no byte either way until
`restore` (a network that drops packets: the client only notices through its own timeouts).

It runs its own event loop in a thread: the app under test may run in another loop (the
litestar test client's portal) and block the test's loop while it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from urllib.parse import parse_qs, urlsplit, urlunsplit


class CuttableProxy:
    def __init__(self, upstream_url: str) -> None:
        self.upstream_url = upstream_url
        parts = urlsplit(upstream_url)
        query = parse_qs(parts.query)
        self._unix = (query.get("host") or [None])[0] if not parts.hostname else None
        self._host = parts.hostname
        self._port = parts.port or (5432 if parts.scheme.startswith("postgres") else 6379)
        if self._unix:
            self._unix = f"{self._unix}/.s.PGSQL.{self._port}"
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._flowing: asyncio.Event | None = None
        self.port = 0

    @property
    def url(self) -> str:
        parts = urlsplit(self.upstream_url)
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}", query=""))

    async def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        await self.restore()

    async def _call(self, coro):  # run a coroutine on the proxy's own loop
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        await self._call(self._cut())

    async def blackhole(self) -> None:
        await self._call(self._blackhole())

    async def restore(self) -> None:
        """Accept and pass traffic again (bytes held back by a blackhole go through now)."""
        await self._call(self._restore())

    async def _restore(self) -> None:
        if self._flowing is None:
            self._flowing = asyncio.Event()
        self._flowing.set()
        if self._server is None:
            await self._listen()

    async def _blackhole(self) -> None:
        assert self._flowing is not None
        self._flowing.clear()

    async def stop(self) -> None:
        await self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _cut(self) -> None:
        """Refuse new connections and break every open one."""
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            assert self._flowing is not None
            await self._flowing.wait()  # a blackholed network: the connection is not made yet
            if self._unix:
                up_reader, up_writer = await asyncio.open_unix_connection(self._unix)
            else:
                up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
            try:
                await asyncio.gather(
                    _pipe(reader, up_writer, self._flowing), _pipe(up_reader, writer, self._flowing)
                )
            finally:
                up_writer.close()
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            writer.close()
            self._pipes.discard(task)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            await flowing.wait()  # held back, not lost, while blackholed
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()
