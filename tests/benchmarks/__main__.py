"""`make bench`: run every benchmark and print one table. Never part of `make test`'s assertions.

Usage: python -m tests.benchmarks [--quick] [--server wizyta|uvicorn-uvloop|granian] [--workers N]

The suite starts its own PostgreSQL and Redis in a temporary directory (or uses DATABASE_URL /
REDIS_URL, creating and dropping a database of its own), migrates and seeds with the real code,
starts the real server (`wizyta serve`, RATE_LIMIT=off, PROOF_OF_WORK=off) as a child process
and loads it from other processes (wrk when installed, else tests/benchmarks/loadgen.py).
Every pair that makes a ratio runs in alternating rounds in the same run, so that the ratio
holds on a noisy machine. `--quick` is the smoke run: the same steps, tiny, in well under a
minute. docs/benchmarks.md has the figures and what they mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scheduling.slots import compute_slots
from tests.benchmarks import (
    bookings,
    engine,
    growth,
    loadgen,
    replicas,
    rush,
    search,
    slot_engine,
    soak,
    throughput,
)
from tests.benchmarks.report import Row, machine, median, number, render, target
from tests.benchmarks.stack import Meter, Server, bench_database, stores


@dataclass(frozen=True)
class Plan:
    engine_repeats: int
    rounds: int
    get_seconds: float
    feed_builds: int
    booking_rounds: int
    booking_seconds: float
    rush_clients: int
    rush_slots_per_desk: int
    growth_seconds: float
    growth_past: int
    growth_future: int
    worker_mails: int
    soak_seconds: float


FULL = Plan(300, 3, 5.0, 40, 3, 8.0, 10_000, 20, 5.0, 1_000_000, 50_000, 1000, 60.0)
QUICK = Plan(20, 1, 2.0, 3, 1, 2.0, 60, 2, 1.0, 20_000, 2_000, 50, 2.0)

SERVERS = {
    "wizyta": None,  # `wizyta serve`, as deployed
    "uvicorn-uvloop": [
        sys.executable, "-m", "uvicorn", "--factory", "tests.benchmarks.asgi:app",
        "--host", "{host}", "--port", "{port}", "--loop", "uvloop", "--http", "httptools",
        "--log-level", "info", "--proxy-headers", "--lifespan", "on", "--workers", "{workers}",
    ],
    "granian": [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "{host}", "--port", "{port}", "--loop", "uvloop", "--workers", "{workers}",
        "tests.benchmarks.asgi:app",
    ],
}  # fmt: skip


def engine_rows(plan: Plan) -> list[Row]:
    figures = slot_engine.run(repeats=plan.engine_repeats)
    # The same inputs again, timed in CPU time: a busy neighbour stretches wall time only.
    desks = slot_engine.desk_schedules("krakow")
    visits = slot_engine.existing_visits(desks, 100, seed=2026)
    query = slot_engine.query("pl", 30, 15)
    cpu = engine.measure(lambda: compute_slots(desks, visits, query), plan.engine_repeats)
    one = figures["one_point_service"]
    resolved = figures["one_point_service_with_rule_resolution"]
    batch = figures["six_points_four_services"]
    return [
        Row(
            "slot engine: 1 point-service, 60 days",
            number(one["median_ms"], 2),
            "ms median",
            f"p99 {number(one['p99_ms'], 2)} ms; {one['desks']} desks, {one['visits']} visits, "
            f"{one['slots']} slots (synthetic, slot_engine.py)",
        ),
        Row(
            "slot engine: same, in CPU time",
            number(cpu["cpu_median"], 2),
            "ms median",
            f"p99 {number(cpu['cpu_p99'], 2)} ms (wall: median {number(cpu['median'], 2)} ms); "
            + target(cpu["cpu_median"] < 2, "< 2 ms"),
        ),
        Row(
            "slot engine: same, rules resolved too",
            number(resolved["median_ms"], 2),
            "ms median",
            f"p99 {number(resolved['p99_ms'], 2)} ms",
        ),
        Row(
            f"slot engine: {batch['point_services']} point-services at once",
            number(batch["median_ms"], 2),
            "ms median",
            f"p99 {number(batch['p99_ms'], 2)} ms; 6 synthetic points x 4 services, 60 days",
        ),
    ]


def seeded_engine_rows(database_url: str, plan: Plan) -> list[Row]:
    async def load() -> list[engine.Case]:
        from core import db

        conn = await db.connect(database_url)
        try:
            return await engine.load_cases(conn)
        finally:
            await conn.close()

    figures = engine.run(asyncio.run(load()), plan.engine_repeats)
    one, resolved, every = figures["one_slots_only"], figures["one_with_rules"], figures["all"]

    def spread(f: dict) -> str:
        return (
            f"p99 {number(f['p99'], 2)} ms; CPU time: median {number(f['cpu_median'], 2)} ms, "
            f"p99 {number(f['cpu_p99'], 2)} ms"
        )

    return [
        Row(
            "slot engine (seeds): Basztowa everyday uk",
            number(one["median"], 2),
            "ms median",
            f"{spread(one)}; 60 days from today, {figures['one_desks']} desks, "
            f"{figures['one_visits']} visits, {figures['one_slots']} slots; "
            + target(one["median"] < 2, "< 2 ms"),
        ),
        Row(
            "slot engine (seeds): same, rules resolved too",
            number(resolved["median"], 2),
            "ms median",
            f"{spread(resolved)} (what one /availability of 60 days computes)",
        ),
        Row(
            f"slot engine (seeds): all {figures['cases']} point-services",
            number(every["median"], 2),
            "ms median",
            f"{spread(every)}; every seeded point ({figures['points']}) and service, 60 days, "
            "rules resolved",
        ),
    ]


def _latency(result) -> str:
    return f"p50 {number(result.p50_ms)} ms, p99 {number(result.p99_ms)} ms"


def _cpu(series_or_result) -> str:
    """Server and PostgreSQL CPU per request, in ms (PostgreSQL only when it is embedded)."""
    server, database = series_or_result.server_cpu_ms, series_or_result.db_cpu_ms
    text = f"CPU/req: server {number(server, 2)} ms"
    return text + (f" + PostgreSQL {number(database, 2)} ms" if database == database else "")


def availability_rows(server: Server, meter: Meter, plan: Plan) -> list[Row]:
    paths = {
        "healthz": ("/healthz", {}),
        "availability": (throughput.AVAILABILITY, {}),
    }
    runs = throughput.side_by_side(server, meter, paths, plan.rounds, plan.get_seconds)
    health, availability = runs["healthz"], runs["availability"]
    ratio = availability.per_second / health.per_second if health.per_second else 0.0
    how = f"{throughput.CONNECTIONS} connections, {plan.rounds} alternating rounds"
    return [
        Row(
            "GET /healthz",
            number(health.per_second),
            "req/s",
            f"{_latency(health)}; {_cpu(health)}; {how}; "
            f"non-200: {health.requests - health.count(200)}",
        ),
        Row(
            "GET /availability (14 days)",
            number(availability.per_second),
            "req/s",
            f"{_latency(availability)}; {_cpu(availability)}; Basztowa everyday uk; "
            f"non-200: {availability.requests - availability.count(200)}",
        ),
        Row(
            "availability / healthz throughput",
            f"{ratio:.2f}",
            "ratio",
            target(ratio >= 0.5, ">= 0.50")
            + f"; by CPU per request: {_cpu_ratio(health, availability)}",
        ),
    ]


def search_rows(database_url: str, server: Server, meter: Meter, plan: Plan) -> list[Row]:
    """The first free visit across points (issue 16) against one point's availability: in
    process with no cache, then over HTTP as served (both behind the one-second read cache)."""

    async def timed() -> dict:
        from core import db

        conn = await db.connect(database_url)
        try:
            return await search.measure(conn, plan.engine_repeats)
        finally:
            await conn.close()

    figures = asyncio.run(timed())
    one = figures["one point"]
    rows = [
        Row(
            f"search: {name}, 14 days",
            number(f["median"], 2),
            "ms median",
            f"CPU {number(f['cpu_median'], 2)} ms; {f['points']} point(s), {f['slots']} slots; "
            f"uncached, in process",
        )
        for name, f in figures.items()
    ]
    city = figures["Kraków on site"]
    # By CPU time: on a shared machine wall time is mostly the neighbours'.
    ratio = one["cpu_median"] / city["cpu_median"] if city["cpu_median"] else 0.0
    rows.append(
        Row(
            "search (Kraków) / one point, rate",
            f"{ratio:.2f}",
            "ratio",
            target(ratio >= 0.5, ">= 0.50")
            + " (by CPU per request, uncached; served, both share the read cache: next row)",
        )
    )
    paths = {
        "availability": (throughput.AVAILABILITY, {}),
        "search": (search.CITY_PATH, {}),
    }
    runs = throughput.side_by_side(server, meter, paths, plan.rounds, plan.get_seconds)
    point, found = runs["availability"], runs["search"]
    served = found.per_second / point.per_second if point.per_second else 0.0
    rows.append(
        Row(
            "GET /availability?city=Kraków",
            number(found.per_second),
            "req/s",
            f"{_latency(found)}; {_cpu(found)}; against one point's "
            f"{number(point.per_second)} req/s in the same rounds: {served:.2f}; "
            f"non-200: {found.requests - found.count(200)}",
        )
    )
    return rows


def _cpu_ratio(cheap, dear) -> str:
    """cheap's CPU per request over dear's: what the throughput ratio would be if CPU were
    the only limit; steadier than throughput on a shared machine."""

    def total(side) -> float:
        database = side.db_cpu_ms if side.db_cpu_ms == side.db_cpu_ms else 0.0
        return side.server_cpu_ms + database

    return f"{total(cheap) / total(dear):.2f}" if total(dear) else "-"


def feed_rows(database_url: str, server: Server, meter: Meter, plan: Plan) -> list[Row]:
    async def inputs() -> dict:
        from core import db

        conn = await db.connect(database_url)
        try:
            return await throughput.feed_inputs(conn)
        finally:
            await conn.close()

    found = asyncio.run(inputs())
    build_median, build_p99, size = throughput.time_feed_build(
        found["point"], found["rules"], plan.feed_builds
    )
    etag = throughput.feed_etag(server)
    paths = {
        "200": (throughput.FEED, {}),
        "304": (throughput.FEED, {"If-None-Match": etag}),
    }
    runs = throughput.side_by_side(server, meter, paths, max(1, plan.rounds - 1), plan.get_seconds)
    full, not_modified = runs["200"], runs["304"]
    ratio = not_modified.per_second / full.per_second if full.per_second else 0.0
    cpu_share = not_modified.server_cpu_ms / full.server_cpu_ms if full.server_cpu_ms else 0.0
    return [
        Row(
            "feed: build Basztowa's .ics (in process)",
            number(build_median),
            "ms median",
            f"p99 {number(build_p99)} ms; {size:,} bytes; 31 days back, 366 ahead",
        ),
        Row(
            "GET feed (200)",
            number(full.per_second),
            "req/s",
            f"{_latency(full)}; {_cpu(full)}; non-200: {full.requests - full.count(200)}",
        ),
        Row(
            "GET feed, If-None-Match (304)",
            number(not_modified.per_second),
            "req/s",
            f"{_latency(not_modified)}; {_cpu(not_modified)}; non-304: "
            f"{not_modified.requests - not_modified.count(304)}",
        ),
        Row(
            "feed 304 / 200 server CPU per request",
            f"{cpu_share:.2f}",
            "ratio",
            f"throughput ratio {ratio:.2f}; both answer from the feed kept per configuration "
            "version and day (the build above runs once per version, day and language)",
        ),
    ]


def booking_rows(
    database_url: str,
    server: Server,
    meter: Meter,
    plan: Plan,
    folder: Path,
    guarded_redis: str | None = None,
) -> list[Row]:
    """`guarded_redis`: the server runs with RATE_LIMIT and PROOF_OF_WORK on (`--guarded`);
    every booking carries a solution and comes from an address of its own, and Redis's own
    counters are read around the booking rounds (that Redis's URL)."""
    *lists, spare = bookings.starts(plan.booking_rounds + 1)
    per_round = int(plan.booking_seconds * 1500)  # more solutions than a round can send
    proofs = (
        asyncio.run(bookings.solutions(database_url, 20 + per_round * len(lists)))
        if guarded_redis
        else []
    )
    bookings.warm_up(server, spare[:20], proofs=proofs[:20])
    before = asyncio.run(bookings.booked(database_url))
    held, pg = [], []
    redis_spent = {"cpu": 0.0, "commands": 0.0, "evalsha": 0.0, "set": 0.0, "booked": 0.0}
    for n, starts in enumerate(lists):
        starts_file = folder / f"starts-{n}.txt"
        starts_file.write_text("\n".join(starts) + "\n")
        proofs_file = None
        if guarded_redis:
            proofs_file = folder / f"proofs-{n}.txt"
            mine = proofs[20 + n * per_round : 20 + (n + 1) * per_round]
            proofs_file.write_text("\n".join(mine) + "\n")
            redis_before = bookings.redis_figures(guarded_redis)
            redis_before["booked"] = asyncio.run(bookings.booked(database_url))
        held.append(
            bookings.book(server, meter, starts_file, f"b{n}", plan.booking_seconds, proofs_file)
        )
        if guarded_redis:  # once the requests still in flight are done
            redis_after = {"booked": asyncio.run(bookings.settled(database_url))}
            redis_after |= bookings.redis_figures(guarded_redis)
            for name in redis_spent:
                redis_spent[name] += redis_after[name] - redis_before[name]
        pg.append(bookings.pgbench(database_url, meter, plan.booking_seconds))
    seconds = sum(r.seconds for r in held)
    created = sum(r.count(201) for r in held)
    per_second = created / seconds if seconds else 0.0
    tps = sum(r.transactions for r in pg) / (plan.booking_seconds * len(pg))
    ratio = per_second / tps if tps else 0.0
    in_database = asyncio.run(bookings.booked(database_url)) - before
    others = sum(r.requests for r in held) - created
    booking_server = 1000 * sum(r.server_cpu for r in held) / max(1, in_database)
    booking_db = 1000 * sum(r.db_cpu for r in held) / max(1, in_database)
    pgbench_db = 1000 * sum(r.db_cpu for r in pg) / max(1, sum(r.transactions for r in pg))
    by_cpu = pgbench_db / (booking_server + booking_db) if booking_db == booking_db else 0.0
    guard_rows = []
    if guarded_redis:
        made = max(1, redis_spent["booked"])
        guard_rows.append(
            Row(
                "Redis per booking (--guarded)",
                number(redis_spent["evalsha"] / made, 2),
                "EVALSHA",
                f"{number(1e6 * redis_spent['cpu'] / made)} us of Redis CPU and "
                f"{number(redis_spent['commands'] / made, 1)} commands per booking (the job "
                f"queue's and the scripts' own included), {made:.0f} bookings",
            )
        )
    return [
        Row(
            f"POST /bookings, {bookings.CLIENTS} clients",
            number(per_second),
            "holds/s",
            f"p50 {number(median([r.p50_ms for r in held]))} ms, "
            f"p99 {number(median([r.p99_ms for r in held]))} ms; CPU/booking: server "
            f"{number(booking_server, 2)} ms + PostgreSQL {number(booking_db, 2)} ms; "
            f"{created} answered 201 in time ({in_database} held in the database, with those "
            f"in flight at the end), other statuses: {others}, 5xx: "
            f"{sum(r.count_5xx() for r in held)}, socket errors: {sum(r.errors for r in held)}",
        ),
        Row(
            f"pgbench one-row insert txn, {bookings.CLIENTS} clients",
            number(tps),
            "txn/s",
            f"latency avg {number(median([r.latency_ms for r in pg]))} ms; CPU/txn: "
            f"PostgreSQL {number(pgbench_db, 2)} ms; same server, {len(pg)} alternating "
            f"rounds; failed: {sum(r.failed for r in pg)}",
        ),
        Row(
            "bookings / pgbench",
            f"{ratio:.2f}",
            "ratio",
            target(ratio >= 0.2, ">= 0.2") + f"; by CPU per transaction: {by_cpu:.2f}",
        ),
        *guard_rows,
    ]


def soak_rows(
    database_url: str,
    server: Server,
    meter: Meter,
    folder: Path,
    plan: Plan,
    idle: float,
    after_rush: float,
    label: str,
) -> list[Row]:
    """The web process's RSS at idle, after the sections above (the rush last) and after the
    sustained booking load: no growth from the second to the third reading is the leak check."""
    found = soak.run(server, meter, folder, plan.soak_seconds, database_url)
    after = found.samples[-1][1]
    first_slice = found.samples[1][1] if len(found.samples) > 1 else after
    noise = max(2.0, 0.03 * after_rush)  # MB: what the allocator's arenas move by themselves
    grew = after - after_rush
    per_booking = 1000 * found.server_cpu / max(1, found.booked)
    per_booking_db = 1000 * found.db_cpu / max(1, found.booked)
    samples = ", ".join(f"{number(rss)}" for _, rss in found.samples)
    return [
        Row(
            f"soak: bookings for {number(found.seconds / 60)} min",
            number(found.booked / found.seconds if found.seconds else 0.0),
            "holds/s",
            f"{found.booked} held, {found.requests} requests, 5xx or errors {found.errors}, "
            f"{found.expired} holds expired by the sweep between slices, "
            f"statuses {dict(sorted(found.statuses.items()))}; p99 of each "
            f"{number(soak.SLICE)} s slice {number(min(found.p99s, default=0))}-"
            f"{number(max(found.p99s, default=0))} ms; CPU/booking: server "
            f"{number(per_booking, 2)} ms + PostgreSQL {number(per_booking_db, 2)} ms",
        ),
        Row(
            "memory: web process RSS",
            number(after),
            "MB",
            f"at idle (started) {number(idle)} MB, after the sections above (the rush last) "
            f"{number(after_rush)} MB, after the soak {number(after)} MB: "
            + target(grew <= noise, f"no growth beyond {number(noise)} MB")
            + f" ({grew:+.1f} MB; through the soak, MB after each slice: {samples}; from the "
            f"first slice to the last {after - first_slice:+.1f} MB; {label}, one process)",
        ),
    ]


def _percentiles(answers: list[dict]) -> tuple[float, float]:
    times = sorted(a["ms"] for a in answers if a["status"])
    return loadgen.percentile(times, 0.5), loadgen.percentile(times, 0.99)


def _statuses(answers: list[dict]) -> str:
    counts: dict[str, int] = {}
    for a in answers:
        key = str(a["status"] or "error")
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def rush_rows(database_url: str, server: Server, meter: Meter, plan: Plan) -> list[Row]:
    result = rush.run(server, database_url, plan.rush_clients, plan.rush_slots_per_desk, meter)
    return rush_result_rows(result, "rush")


def replica_rows(database_url: str, found, folder: Path, plan: Plan) -> list[Row]:
    rows = []
    for count, result in replicas.run(
        database_url,
        found.redis_url,
        folder,
        plan.rush_clients,
        plan.rush_slots_per_desk,
        found.postmaster_pid,
    ):
        rows += rush_result_rows(result, f"rush via HAProxy, {count} processes")
    return rows


def rush_result_rows(result: rush.Rush, name: str) -> list[Row]:

    def cpu(seconds: tuple[float, float], count: int) -> str:
        server_s, db_s = seconds
        return (
            f"CPU/request: server {server_s * 1000 / max(count, 1):.2f} ms + PostgreSQL "
            f"{db_s * 1000 / max(count, 1):.2f} ms"
        )

    entries_p50, entries_p99 = _percentiles(result.entries)
    answers_p50, answers_p99 = _percentiles(result.answers)
    failed = [a for a in result.entries if a["status"] != 202] + [
        a for a in result.answers if a["status"] != 200
    ]
    worst_p99 = max(entries_p99, answers_p99)
    fair = (
        result.visits == result.won == min(result.capacity, result.clients)
        and result.people_with_visits == result.visits
        and result.won + result.lost == result.clients
    )
    return [
        Row(
            f"{name}: {result.clients} draw entries at once",
            number(entries_p50),
            "ms p50",
            f"p99 {number(entries_p99)} ms; POST /bookings in the draw window; "
            f"{cpu(result.entries_cpu, len(result.entries))}; {_statuses(result.entries)}",
        ),
        Row(
            f"{name}: {len(result.answers)} draw answers at once",
            number(answers_p50),
            "ms p50",
            f"p99 {number(answers_p99)} ms; GET /draws/{{id}}; the first answer, which "
            f"decided the draw, after {number(min((a['ms'] for a in result.answers), default=0))}"
            f" ms; {cpu(result.answers_cpu, len(result.answers))}; "
            f"{_statuses(result.answers)}",
        ),
        Row(
            f"{name}: failed requests (not 202 / 200)",
            str(len(failed)),
            "requests",
            target(not failed and worst_p99 < 2000, "no errors and p99 < 2 s")
            + f" (worst p99 {number(worst_p99)} ms)",
        ),
        Row(
            f"{name}: visits given / capacity",
            f"{result.visits} / {result.capacity}",
            "visits",
            f"won {result.won}, lost {result.lost}, {result.people_with_visits} distinct people, "
            f"overbooked: {result.overbooked}; {'fair' if fair else 'NOT AS EXPECTED'}",
        ),
    ]


async def _postgres_facts(database_url: str) -> tuple[str, int]:
    from core import db

    conn = await db.connect(database_url)
    try:
        version = await conn.fetchval("show server_version")
        return version.split()[0], await rush.overbooked(conn)
    finally:
        await conn.close()


async def _prepare(database_url: str) -> int:
    from core import db

    conn = await db.connect(database_url)
    try:
        return await throughput.busy_basztowa(conn)
    finally:
        await conn.close()


def _growth_ratio(small: tuple[float, float], large: tuple[float, float]) -> float:
    return sum(large) / sum(small) if sum(small) else float("nan")


def _pair(costs: tuple[float, float], first: str) -> str:
    return f"{first} {number(costs[0], 2)} + PostgreSQL {number(costs[1], 2)} ms"


def growth_rows(figures: growth.Figures) -> list[Row]:
    g, small, large, purge = figures.generated, figures.small, figures.large, figures.purge
    rows = [
        Row(
            "growth: visits generated",
            f"{g['visits']:,.0f}",
            "visits",
            f"at {g['points']:.0f} points, bookings table {number(g['size_mb'])} MB; "
            f"{g['past']:,.0f} past in {number(g['past_s'])} s, {g['future']:,.0f} ahead in one "
            f"transaction with the per-person trigger in {number(g['future_s'])} s; PostgreSQL's "
            f"background work (autovacuum, checkpoints) during the runs below, left out of "
            f"their CPU per request: {number(g.get('background_s', float('nan')))} s",
        )
    ]
    for name, unit, s_cost, l_cost, notes in (
        (
            "/availability (14 days, no read cache)",
            "server",
            small.availability,
            large.availability,
            f"p99 {number(small.availability_p99)} -> {number(large.availability_p99)} ms",
        ),
        (
            f"POST /bookings, {bookings.CLIENTS} clients",
            "server",
            small.booking,
            large.booking,
            f"p99 {number(small.booking_p99)} -> {number(large.booking_p99)} ms; "
            f"{small.booking_count} and {large.booking_count} booked",
        ),
        (
            "day sheet (in process)",
            "client",
            small.sheet,
            large.sheet,
            f"{large.sheet_visits} visits on the day",
        ),
    ):
        ratio = _growth_ratio(s_cost, l_cost)
        rows.append(
            Row(
                f"growth: {name}",
                f"{ratio:.2f}",
                "ratio",
                f"CPU/request large / small: small {_pair(s_cost, unit)}, large "
                f"{_pair(l_cost, unit)}; {notes}; " + target(ratio <= 1.1, "<= 1.10"),
            )
        )
    minutes = purge["waiting"] / purge["per_second"] / 60 if purge["per_second"] else 0.0
    rows.append(
        Row(
            "growth: bookings during the purge",
            number(purge["p99"]),
            "ms p99",
            f"p50 {number(purge['p50'])} ms; without the purge (row above) p99 "
            f"{number(large.booking_p99)} ms; {purge['booked']:.0f} booked, 5xx or errors "
            f"{purge['errors']:.0f}; meanwhile the purge anonymised {purge['anonymised']:,.0f} "
            f"of {purge['waiting']:,.0f} visits ({number(purge['per_second'])}/s, all in about "
            f"{number(minutes)} min), WAL {number(purge['wal_mb'])} MB"
            + (f"; purge error: {purge['error']}" if purge["error"] else ""),
        )
    )
    return rows


SECTIONS = ("engine", "availability", "search", "feed", "bookings", "rush", "soak", "growth")
#: Sections only run when named with --only (their minutes would not fit in `make bench`'s ten).
EXTRA_SECTIONS = ("replicas",)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument("--quick", action="store_true", help="the smoke run: tiny and fast")
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="wizyta",
        help="compare another ASGI server or event loop running the same app",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (not for `wizyta serve`)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS + EXTRA_SECTIONS,
        help="run only these sections (repeatable); the full table is the default",
    )
    parser.add_argument(
        "--rush-clients", type=int, help="draw entries at once in the rush (the plan's default)"
    )
    parser.add_argument(
        "--soak-minutes", type=float, help="minutes of the memory soak's booking load (make soak)"
    )
    parser.add_argument("--worker-mails", type=int, help="mails the worker sends for its RSS")
    parser.add_argument(
        "--guarded",
        action="store_true",
        help="with --only bookings: RATE_LIMIT and PROOF_OF_WORK on, each booking solved and "
        "from an address of its own",
    )
    args = parser.parse_args(argv)
    only = set(args.only or SECTIONS)
    if args.guarded and only != {"bookings"}:
        parser.error("--guarded is for --only bookings (other sections send unsolved requests)")
    guard = {"RATE_LIMIT": "on", "PROOF_OF_WORK": "on"} if args.guarded else {}
    plan = QUICK if args.quick else FULL
    if args.rush_clients:
        plan = dataclasses.replace(plan, rush_clients=args.rush_clients)
    if args.soak_minutes is not None:
        plan = dataclasses.replace(plan, soak_seconds=args.soak_minutes * 60)
    if args.worker_mails:
        plan = dataclasses.replace(plan, worker_mails=args.worker_mails)
    began = time.monotonic()
    host = machine()
    print("running the benchmarks" + (" (quick)" if args.quick else "") + " ...", flush=True)
    rows = engine_rows(plan) if "engine" in only else []  # pure, before any server runs
    with contextlib.ExitStack() as stack:
        found = stack.enter_context(stores())
        database_url = stack.enter_context(bench_database(found))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wizyta-bench-")))
        visits = asyncio.run(_prepare(database_url))
        if "engine" in only:
            rows += seeded_engine_rows(database_url, plan)
        label = "wizyta serve" if args.server == "wizyta" else args.server
        command = SERVERS[args.server]
        workers = 1 if command is None else args.workers
        server = stack.enter_context(
            Server(
                database_url,
                found.redis_url,
                folder,
                command=command and [part.replace("{workers}", str(workers)) for part in command],
                label=label,
                env=guard,
            )
        )
        meter = Meter(server.process.pid if server.process else None, found.postmaster_pid)
        rss_idle = growth.rss_mb(server.process.pid if server.process else None)
        loop = "uvloop" if server.uses("uvloop") else "asyncio"
        parser_kind = (
            "httptools parser"
            if server.uses("httptools")
            else ("granian's own HTTP" if args.server == "granian" else "h11 parser")
        )
        if "availability" in only:
            rows += availability_rows(server, meter, plan)
        if "search" in only:
            rows += search_rows(database_url, server, meter, plan)
        if "feed" in only:
            rows += feed_rows(database_url, server, meter, plan)
        if "bookings" in only:
            rows += booking_rows(
                database_url,
                server,
                meter,
                plan,
                folder,
                found.redis_url if args.guarded else None,
            )
        if "rush" in only:
            rows += rush_rows(database_url, server, meter, plan)
        rss_loaded = growth.rss_mb(server.process.pid if server.process else None)
        if "soak" in only:
            rows += soak_rows(
                database_url, server, meter, folder, plan, rss_idle, rss_loaded, label
            )
        else:
            rows.append(
                Row(
                    "memory: web process RSS",
                    number(rss_loaded),
                    "MB",
                    f"at idle (started) {number(rss_idle)} MB, after the sections above "
                    f"{number(rss_loaded)} MB ({label}, one process)",
                )
            )
        if "replicas" in only:
            rows += replica_rows(database_url, found, folder, plan)
        plans: list[str] = []
        if "growth" in only:
            growth_server = stack.enter_context(
                Server(
                    database_url,
                    found.redis_url,
                    folder,
                    env={"READ_CACHE_SECONDS": "0"},
                    label="wizyta serve (growth)",
                )
            )
            figures = growth.run(
                database_url,
                growth_server,
                growth.BackendMeter(
                    growth_server.process.pid,
                    found.postmaster_pid,
                    urlsplit(database_url).path.lstrip("/"),
                ),
                folder,
                plan.growth_seconds,
                past=plan.growth_past,
                future=plan.growth_future,
            )
            rows += growth_rows(figures)
            plans = figures.plans
        if "growth" in only or "soak" in only:
            mails = growth.worker_rss(
                database_url,
                found.redis_url,
                folder,
                plan.worker_mails,
                within=max(60, plan.worker_mails / 5),
            )
            rows.append(
                Row(
                    "memory: worker RSS",
                    number(mails["after"]),
                    "MB",
                    f"started {number(mails['started'])} MB, after {mails['mails']:.0f} mails "
                    f"in {number(mails['seconds'])} s {number(mails['after'])} MB",
                )
            )
        version, overbooked = asyncio.run(_postgres_facts(database_url))
        rows.append(
            Row(
                "overbooked visits, whole database",
                str(overbooked),
                "visits",
                "active visits overlapping another on the same desk, checked in PostgreSQL",
            )
        )
        stopped = server.process is not None and server.process.poll() is not None
        server_log = server.log_tail(5) if stopped else ""
    title = [
        f"machine: {host['cpus']} CPUs, {host['cpu']}, {host['memory']} RAM, {host['os']}",
        f"software: {host['python']}, PostgreSQL {version} "
        f"({'embedded' if found.embedded else 'DATABASE_URL'}), "
        f"server: {label}, {workers} worker process(es), {loop} loop, {parser_kind}",
        f"settings: RATE_LIMIT={guard.get('RATE_LIMIT', 'off')}, "
        f"PROOF_OF_WORK={guard.get('PROOF_OF_WORK', 'off')}, DB_POOL_MAX default; load generator: "
        f"{'wrk' if loadgen.wrk_available() else 'tests/benchmarks/loadgen.py (no wrk)'}; "
        f"{visits} visits at Basztowa",
        f"load average before: {host['load']}, after: {machine()['load']}; "
        f"took {time.monotonic() - began:.0f} s",
        "",
    ]
    print(render(title, rows), flush=True)
    if plans:
        print("\nquery plans on the large database (EXPLAIN ANALYZE):\n" + "\n".join(plans))
    if server_log:
        print(f"\nthe server had stopped:\n{server_log}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
