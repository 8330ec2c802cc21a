"""GET throughput: /availability against /healthz, and the opening-hours feed (200 and 304).

Each pair runs in alternating rounds on the same server (one `wizyta serve` process) with the
same load (32 keep-alive connections), so a noisy neighbour slows both sides alike and their
ratio holds: /healthz is the framework and server alone, /availability adds our own code.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import zoneinfo
from dataclasses import dataclass

import asyncpg

from scheduling import store
from scheduling.availability import slots_for
from scheduling.feed import build_hours_feed
from scheduling.feed_api import FEED_FUTURE, FEED_PAST, _address
from tests.benchmarks import loadgen
from tests.benchmarks.stack import Meter, Server

CONNECTIONS = 32
POINT, SERVICE, LANGUAGE = "krakow-basztowa-22", "everyday-matters", "uk"
AVAILABILITY = f"/api/v1/points/{POINT}/availability?service={SERVICE}&language={LANGUAGE}"
FEED = f"/calendars/points/{POINT}.ics"


@dataclass
class Series:
    """The rounds of one side: requests and seconds add up; latencies are per-round medians."""

    results: list[loadgen.LoopResult]

    @property
    def per_second(self) -> float:
        seconds = sum(r.seconds for r in self.results)
        return sum(r.requests for r in self.results) / seconds if seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.results)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.results)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)

    def count(self, *codes: int) -> int:
        return sum(r.count(*codes) for r in self.results)

    @property
    def failures(self) -> int:
        return sum(r.errors for r in self.results)

    @property
    def tool(self) -> str:
        return self.results[0].tool if self.results else "-"

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per answered request, in ms: independent of how busy the machine is."""
        requests = self.requests
        return 1000 * sum(r.server_cpu for r in self.results) / requests if requests else 0.0

    @property
    def db_cpu_ms(self) -> float:
        requests = self.requests
        return 1000 * sum(r.db_cpu for r in self.results) / requests if requests else 0.0


def get(server: Server, meter: Meter, path: str, seconds: float, headers: dict | None = None):
    spec = loadgen.LoopSpec(
        host=server.host,
        port=server.port,
        connections=CONNECTIONS,
        duration=seconds,
        path=path,
        headers=headers or {},
    )
    result, result.server_cpu, result.db_cpu = meter.run(lambda: loadgen.loop(spec))
    return result


def warm_up(server: Server, paths: dict[str, tuple[str, dict]], times: int = 20) -> None:
    """A few requests to each path first, so one-off costs (imports, caches) of a fresh process
    are not in the figures of a server that, in production, runs for days."""
    import http.client

    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        for path, headers in paths.values():
            for _ in range(times):
                connection.request("GET", path, headers=headers)
                connection.getresponse().read()
    finally:
        connection.close()


def side_by_side(
    server: Server,
    meter: Meter,
    paths: dict[str, tuple[str, dict]],
    rounds: int,
    seconds: float,
) -> dict[str, Series]:
    """Alternate the paths round by round (A B A B ...), each for `seconds`."""
    warm_up(server, paths)
    series: dict[str, Series] = {name: Series([]) for name in paths}
    for _ in range(rounds):
        for name, (path, headers) in paths.items():
            series[name].results.append(get(server, meter, path, seconds, headers))
    return series


async def busy_basztowa(conn: asyncpg.Connection, every: int = 4) -> int:
    """Confirmed visits on every `every`-th free slot of the next 60 days at Basztowa, so that
    /availability and the engine see a point with visits, as they would in production."""
    point = await store.get_point(conn, POINT)
    offer = await store.get_point_service(conn, POINT, SERVICE)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
    days = await slots_for(conn, point, offer, LANGUAGE, today, today + dt.timedelta(days=59), now)
    slots = [slot for day in days for slot in day.slots][::every]
    await conn.executemany(
        """
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, status, manage_token_hash,
                              confirmed_at)
        values ('BEN-' || lpad(upper(to_hex($1::int)), 4, '0') || '-00', $2, $3, $4, $5, $6,
                'uk', 'Bench Visitor', 'visitor' || $1 || '@example.org', 'confirmed',
                '\\x00', now())
        """,
        [
            (n, POINT, SERVICE, slot.desk_ids[0], slot.start, slot.end)
            for n, slot in enumerate(slots)
        ],
    )
    return len(slots)


async def feed_inputs(conn: asyncpg.Connection) -> dict:
    point = await store.get_point(conn, POINT)
    return {"point": point, "rules": await store.list_rules(conn, POINT)}


def build_feed(point, rules, public_url: str) -> bytes:
    """What the feed endpoint computes for every request (also for a 304)."""
    today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
    return build_hours_feed(
        point_id=point.id,
        point_name=point.names,
        address=_address(point.address),
        timezone=point.timezone,
        rules=rules,
        observes_holidays=point.observes_holidays,
        window_start=today - FEED_PAST,
        window_end=today + FEED_FUTURE,
        language="pl",
        public_url=public_url,
    )


def time_feed_build(point, rules, repeats: int) -> tuple[float, float, int]:
    body = build_feed(point, rules, "http://127.0.0.1")
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        build_feed(point, rules, "http://127.0.0.1")
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return (
        statistics.median(timings),
        timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        len(body),
    )


def feed_etag(server: Server) -> str:
    import http.client

    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", FEED)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {FEED} answered {response.status}")
        return response.getheader("ETag") or ""
    finally:
        connection.close()
