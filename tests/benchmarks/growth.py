"""Data growth: the same requests on the small database and after years of visits.

The section starts a server of its own with READ_CACHE_SECONDS=0 (every /availability reads
PostgreSQL, as the first request after each second does in production), measures CPU per
request for /availability (Basztowa), a booking (POST /bookings at bench-growth, 32 clients)
and the day sheet (booking/office.py day_sheet for a day of Basztowa with visits, run in this
process), then generates in SQL

- 50 points: the seeds' 6, the suite's own and copies of Basztowa (its desks, offer, hours);
- PAST visits over the last two years at all of them (completed, some cancelled or no-show);
  those older than a year anonymised as the purge would have left them, the last year's not;
- FUTURE confirmed visits over the next weeks at the points the requests above do not ask
  about, each of another person, all in ONE transaction with the per-person trigger on (it
  failed with "out of shared memory" before migration 0050);

and measures the same requests again. Then bookings run for a while alone and while the
retention purge anonymises the last year's visits in its batches (p99 of both, what the purge
did meanwhile, the WAL it wrote), and EXPLAIN shows the hot queries' plans on the large data.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import asyncpg

from tests.benchmarks import bookings, loadgen, throughput
from tests.benchmarks.stack import GROWTH_POINT, REPLICA_RUSH_POINTS, SOAK_POINT, Meter, Server

PAST = 1_000_000
FUTURE = 50_000
POINTS = 50
COPIED = "krakow-basztowa-22"
#: The points the measured requests ask about: no generated future visits there, so that
#: their answers do the same work on both databases and only the data elsewhere grows.
#: points whose own visits the generated future must not overlap (the sections booked them)
MEASURED = (
    throughput.POINT,
    GROWTH_POINT,
    "bench-bookings",
    "bench-rush",
    *REPLICA_RUSH_POINTS.values(),
    SOAK_POINT,
)
RETENTION_DAYS = 30


@dataclass
class Costs:
    """CPU per request, in ms: the server's (or this process's) and PostgreSQL's."""

    availability: tuple[float, float] = (0.0, 0.0)
    availability_p99: float = 0.0
    booking: tuple[float, float] = (0.0, 0.0)
    booking_p99: float = 0.0
    booking_count: int = 0
    sheet: tuple[float, float] = (0.0, 0.0)
    sheet_visits: int = 0


@dataclass
class Figures:
    small: Costs = field(default_factory=Costs)
    large: Costs = field(default_factory=Costs)
    generated: dict[str, float] = field(default_factory=dict)
    purge: dict[str, float] = field(default_factory=dict)
    plans: list[str] = field(default_factory=list)


def rss_mb(pid: int | None) -> float:
    """Resident memory of a process (VmRSS, /proc), in MB."""
    if pid is None:
        return float("nan")
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class BackendMeter(Meter):
    """The server's CPU and that of PostgreSQL's backends serving `database` only.

    After a million rows are written, autovacuum, the checkpointer and the background writer
    work for minutes; the suite's Meter counts every PostgreSQL process, which then charges
    that work to the few hundred requests of a run. Here it is left out of the per-request
    figures (and reported on its own: `background`)."""

    def __init__(self, server_pid: int | None, postmaster_pid: int | None, database: str):
        super().__init__(server_pid, postmaster_pid)
        self.database = database
        self.background = 0.0

    def _snapshot(self) -> dict[int, tuple[bool, float]]:
        """Each PostgreSQL process: whether it serves `database`, its CPU seconds so far."""
        from tests.benchmarks.stack import _live_cpu

        found: dict[int, tuple[bool, float]] = {}
        if self.postmaster_pid is None:
            return found
        with contextlib.suppress(OSError):
            root = Path(f"/proc/{self.postmaster_pid}/task/{self.postmaster_pid}/children")
            for child in root.read_text().split():
                with contextlib.suppress(OSError):
                    name = Path(f"/proc/{child}/cmdline").read_text()
                    mine = name.startswith(f"postgres: postgres {self.database} ")
                    found[int(child)] = (mine, _live_cpu(int(child)))
        return found

    def read(self) -> tuple[float, float]:
        from tests.benchmarks.stack import cpu_seconds

        if self.postmaster_pid is None:
            return cpu_seconds(self.server_pid), float("nan")
        mine = sum(cpu for is_mine, cpu in self._snapshot().values() if is_mine)
        return cpu_seconds(self.server_pid), mine

    def run(self, work):
        from tests.benchmarks.stack import cpu_seconds

        server_before, before = cpu_seconds(self.server_pid), self._snapshot()
        result = work()
        server_after, after = cpu_seconds(self.server_pid), self._snapshot()
        spent = {True: 0.0, False: 0.0}
        for pid, (mine, cpu) in after.items():  # a process that ended meanwhile is not counted
            spent[mine] += cpu - before.get(pid, (mine, 0.0))[1]
        self.background += spent[False]
        if self.postmaster_pid is None:
            spent[True] = float("nan")
        return result, server_after - server_before, spent[True]


# ------------------------------------------------------------------------------ generation

_POINTS = """
create temp table grown_points as
  select n, p.* from points p, generate_series(1, $1::int) n where p.id = $2;
update grown_points set id = 'growth-' || n;
alter table grown_points drop column n;
insert into points select * from grown_points;

create temp table grown_desks as
  select n, d.* from desks d, generate_series(1, $1::int) n where d.point_id = $2;
update grown_desks set id = id || '-g' || n, point_id = 'growth-' || n;
alter table grown_desks drop column n;
insert into desks select * from grown_desks;

create temp table grown_offers as
  select n, s.* from point_services s, generate_series(1, $1::int) n where s.point_id = $2;
update grown_offers set point_id = 'growth-' || n;
alter table grown_offers drop column n;
insert into point_services select * from grown_offers;

create temp table grown_rules as
  select n, r.* from calendar_rules r, generate_series(1, $1::int) n where r.point_id = $2;
update grown_rules set id = id || '-g' || n, point_id = 'growth-' || n,
       desk_id = desk_id || '-g' || n;
alter table grown_rules drop column n;
insert into calendar_rules select * from grown_rules;
"""

#: Every desk of a point with an offer, numbered, with the point's first service.
_DESKS = """
create temp table grown_desk_list as
  select row_number() over (order by d.point_id, d.id) - 1 as k, d.point_id, d.id as desk_id,
         (select min(service_id) from point_services s where s.point_id = d.point_id)
           as service_id
    from desks d
   where exists (select 1 from point_services s where s.point_id = d.point_id)
     and ($1::text[] is null or d.point_id <> all($1::text[]))
"""

# Visits that ended long ago: none is active, so the exclusion constraint has nothing to say
# about their times. Those older than a year are as the purge left them.
_PAST = """
insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at, language,
                      visitor_name, visitor_email, visitor_email_key, visitor_phone, status,
                      manage_token_hash, created_at, updated_at, confirmed_at, cancelled_at,
                      cancelled_by, purged_at)
select 'PST-' || substr(h, 1, 4) || '-' || substr(h, 5, 2), d.point_id, d.service_id,
       d.desk_id, t, t + interval '30 minutes', 'pl',
       case when old then null else 'Visitor ' || n end,
       case when old then null else 'p' || n || '@example.org' end,
       case when old then null else 'p' || n || '@example.org' end,
       case when old then null else '+48 600 000 000' end,
       case n % 20 when 0 then 'cancelled' when 1 then 'no_show' else 'completed' end,
       '\\x00', t - interval '7 days', t, t - interval '6 days',
       case when n % 20 = 0 then t - interval '1 day' end,
       case when n % 20 = 0 then 'visitor' end,
       case when old then t + interval '31 days' end
  from (select n, lpad(upper(to_hex(n)), 6, '0') as h,
               now() - interval '730 days' + (n::float8 / $1) * interval '729 days' as t,
               n::float8 / $1 < 0.5 as old
          from generate_series(0, $1::int - 1) n) g
  join grown_desk_list d on d.k = g.n % (select count(*) from grown_desk_list)
"""

# Confirmed visits ahead, eight a day per desk, 45 minutes apart from 08:00 UTC: no two on one
# desk overlap. Each of another person, so the per-person trigger locks for each one.
_FUTURE = """
insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at, language,
                      visitor_name, visitor_email, visitor_email_key, status,
                      manage_token_hash, confirmed_at)
select 'FUT-' || substr(h, 1, 4) || '-' || substr(h, 5, 2), d.point_id, d.service_id,
       d.desk_id, t, t + interval '30 minutes', 'pl', 'Visitor ' || n,
       'f' || n || '@example.org', 'f' || n || '@example.org', 'confirmed', '\\x00', now()
  from (select n, lpad(upper(to_hex(n)), 6, '0') as h,
               date_trunc('day', now()) + interval '8 hours'
               + ((n / c) / 8 + 1) * interval '1 day' + ((n / c) % 8) * interval '45 minutes'
                 as t
          from generate_series(0, $1::int - 1) n,
               (select count(*) as c from grown_desk_list) c) g
  join grown_desk_list d on d.k = g.n % (select count(*) from grown_desk_list)
"""


async def grow(database_url: str, figures: Figures, past: int, future: int) -> None:
    conn = await asyncpg.connect(database_url, command_timeout=1800)
    try:
        began = time.monotonic()
        existing = await conn.fetchval("select count(*) from points")
        async with conn.transaction():
            await conn.execute(
                _POINTS.replace("$1::int", str(POINTS - existing)).replace("$2", f"'{COPIED}'")
            )
        points = await conn.fetchval("select count(*) from points")
        await conn.execute(_DESKS.replace("$1::text[]", "null"))
        async with conn.transaction():
            # Generated history, not bookings: without triggers and foreign-key checks.
            await conn.execute("set local session_replication_role = replica")
            await conn.execute(_PAST, past)
        figures.generated["past_s"] = time.monotonic() - began
        await conn.execute("analyze bookings")
        await conn.execute("drop table grown_desk_list")
        await conn.execute(
            _DESKS.replace("$1::text[]", "array[" + ",".join(f"'{p}'" for p in MEASURED) + "]")
        )
        began = time.monotonic()
        async with conn.transaction():  # one transaction, the per-person trigger on
            await conn.execute(_FUTURE, future)
        figures.generated["future_s"] = time.monotonic() - began
        await conn.execute("vacuum analyze bookings")
        figures.generated["points"] = points
        figures.generated["past"], figures.generated["future"] = past, future
        figures.generated["visits"] = await conn.fetchval("select count(*) from bookings")
        figures.generated["size_mb"] = (
            await conn.fetchval("select pg_total_relation_size('bookings')") / 2**20
        )
        # Let the background work the new rows cause end before anything is measured: the
        # CPU meter counts every PostgreSQL process.
        await conn.execute("checkpoint")
        began = time.monotonic()
        for _ in range(120):
            if not await conn.fetchval(
                "select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'"
            ):
                break
            await asyncio.sleep(1)
        figures.generated["settled_s"] = time.monotonic() - began
    finally:
        await conn.close()


# ---------------------------------------------------------------------------- measurement


def _availability(
    server: Server, meter: Meter, seconds: float
) -> tuple[tuple[float, float], float]:
    spec = loadgen.LoopSpec(
        host=server.host,
        port=server.port,
        connections=8,
        duration=seconds,
        path=throughput.AVAILABILITY,
    )
    result, server_s, db_s = meter.run(lambda: loadgen.loop(spec))
    n = max(1, result.count(200))
    return (1000 * server_s / n, 1000 * db_s / n), result.p99_ms


def _bookings(
    server: Server, meter: Meter, starts: list[str], folder: Path, tag: str, seconds: float
) -> loadgen.LoopResult:
    path = folder / f"growth-starts-{tag}.txt"
    path.write_text("\n".join(starts) + "\n")
    spec = loadgen.LoopSpec(
        host=server.host,
        port=server.port,
        connections=bookings.CLIENTS,
        duration=seconds,
        path="/api/v1/bookings",
        booking=loadgen.Booking(
            point_id=GROWTH_POINT,
            service_id=bookings.BENCH_SERVICE,
            language="en",
            starts_file=str(path),
            key_prefix=f"growth-{tag}",
        ),
    )
    result, result.server_cpu, result.db_cpu = meter.run(lambda: loadgen.loop(spec))
    return result


async def _sheet(database_url: str, meter: Meter, repeats: int) -> tuple[tuple[float, float], int]:
    from booking.office import day_sheet

    zone = zoneinfo.ZoneInfo("Europe/Warsaw")
    conn = await asyncpg.connect(database_url)
    try:
        day = await conn.fetchval(
            """
            select (starts_at at time zone 'Europe/Warsaw')::date from bookings
             where point_id = $1 and starts_at > now()
             group by 1 order by count(*) desc limit 1
            """,
            throughput.POINT,
        )
        point = SimpleNamespace(id=throughput.POINT, timezone=str(zone))
        visits = len(await day_sheet(conn, point, day))  # warm: the statement prepared
        own, (_, db_before) = time.process_time(), meter.read()
        for _ in range(repeats):
            await day_sheet(conn, point, day)
        own, db = time.process_time() - own, meter.read()[1] - db_before
        return (1000 * own / repeats, 1000 * db / repeats), visits
    finally:
        await conn.close()


def measure(
    database_url: str,
    server: Server,
    meter: Meter,
    starts: list[str],
    folder: Path,
    tag: str,
    seconds: float,
) -> Costs:
    costs = Costs()
    costs.availability, costs.availability_p99 = _availability(server, meter, seconds)
    booked = _bookings(server, meter, starts, folder, tag, seconds)
    made = max(1, booked.count(201))
    costs.booking = (1000 * booked.server_cpu / made, 1000 * booked.db_cpu / made)
    costs.booking_p99, costs.booking_count = booked.p99_ms, booked.count(201)
    costs.sheet, costs.sheet_visits = asyncio.run(_sheet(database_url, meter, 300))
    return costs


# ---------------------------------------------------------------------------------- purge


class _Purge(threading.Thread):
    """booking/retention.py forget() on a connection of its own, until stopped."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.started = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._purge())
        except asyncio.CancelledError:
            pass
        except BaseException as e:  # reported with the figures
            self.error = e
        finally:
            self.loop.close()

    async def _purge(self) -> None:
        from booking.retention import forget

        conn = await asyncpg.connect(self.database_url, command_timeout=60)
        try:
            self.task = asyncio.current_task()
            self.started.set()
            await forget(conn, RETENTION_DAYS)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close())

    def stop(self) -> None:
        if self.is_alive():
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.join(30)


async def _wal_lsn(database_url: str) -> tuple[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        lsn = await conn.fetchval("select pg_current_wal_lsn()::text")
        purged = await conn.fetchval(
            "select count(*) from bookings where purged_at > now() - interval '1 hour'"
        )
        return lsn, purged
    finally:
        await conn.close()


async def _wal_bytes(database_url: str, since: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("select pg_current_wal_lsn() - $1::text::pg_lsn", since))
    finally:
        await conn.close()


def purge_during_bookings(
    database_url: str, server: Server, meter: Meter, starts: list[str], folder: Path, seconds: float
) -> dict[str, float]:
    async def to_purge() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval(
                "select count(*) from bookings where purged_at is null "
                "and ends_at < now() - make_interval(days => $1)",
                RETENTION_DAYS,
            )
        finally:
            await conn.close()

    waiting = asyncio.run(to_purge())
    lsn, purged_before = asyncio.run(_wal_lsn(database_url))
    purge = _Purge(database_url)
    purge.start()
    purge.started.wait(30)
    began = time.monotonic()
    booked = _bookings(server, meter, starts, folder, "purge", seconds)
    took = time.monotonic() - began
    purge.stop()
    _, purged_after = asyncio.run(_wal_lsn(database_url))
    done = purged_after - purged_before
    return {
        "waiting": waiting,
        "anonymised": done,
        "per_second": done / took if took else 0.0,
        "wal_mb": asyncio.run(_wal_bytes(database_url, lsn)) / 2**20,
        "p50": booked.p50_ms,
        "p99": booked.p99_ms,
        "booked": booked.count(201),
        "errors": booked.count_5xx() + booked.errors,
        "error": str(purge.error) if purge.error else "",
    }


# ---------------------------------------------------------------------------------- plans


def _busy_sql() -> str:
    """scheduling/availability.py busy_periods' query, as it is sent."""
    import inspect

    from scheduling import availability

    source = inspect.getsource(availability.busy_periods)
    return source.split('"""', 3)[3].split('"""', 1)[0]


async def plans(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    out: list[str] = []

    async def explain(title: str, sql: str, *args: object) -> None:
        rows = await conn.fetch(
            f"explain (analyze, costs off, timing off, summary on) {sql}", *args
        )
        out.append(f"-- {title}")
        out.extend(
            "   " + r[0]
            for r in rows
            if not r[0].strip().startswith(("Planning", "Buffers", "Index Searches"))
        )

    try:
        zone = zoneinfo.ZoneInfo("Europe/Warsaw")
        today = dt.datetime.now(zone).date()
        start = dt.datetime.combine(today, dt.time(0), zone)
        end = start + dt.timedelta(days=14)
        busy = (
            f"execute busy('{throughput.POINT}', '{start.isoformat()}', '{end.isoformat()}', "
            "'{held,confirmed,checked_in}', null, now())"  # the public's view (held back places)
        )
        await conn.execute(
            "prepare busy(text, timestamptz, timestamptz, text[], uuid, timestamptz) as "
            + _busy_sql()
        )
        for mode in ("force_custom_plan", "force_generic_plan"):
            await conn.execute(f"set plan_cache_mode = {mode}")
            await explain(
                f"/availability's busy visits, {mode.split('_')[1]} plan",
                busy,
            )
        await conn.execute("reset plan_cache_mode")
        with contextlib.suppress(_Rollback):
            async with conn.transaction():  # as before migration 0050: without its index
                await conn.execute("drop index bookings_active_point_time")
                await conn.execute("set local plan_cache_mode = force_custom_plan")
                await explain(
                    "the same custom plan without bookings_active_point_time (before 0050)",
                    busy,
                )
                raise _Rollback
        await explain(
            "the day sheet (booking/office.py)",
            "select b.id from bookings b where b.point_id = $1 and b.starts_at >= $2 "
            "and b.starts_at < $3 order by b.starts_at, b.desk_id, b.reference",
            throughput.POINT,
            start + dt.timedelta(days=7),
            start + dt.timedelta(days=8),
        )
        await explain(
            "the purge's next batch (booking/retention.py)",
            "select id from bookings where purged_at is null "
            "and ends_at < now() - make_interval(days => $1) order by ends_at limit $2",
            RETENTION_DAYS,
            1000,
        )
        await explain(
            "a new reference checked (migration 0050's trigger)",
            "select exists (select 1 from bookings where reference = $1)",
            "KRK-0000-00",
        )
        await explain(
            "the per-person count (the same trigger)",
            "select count(*) from bookings where point_id = $1 and visitor_email_key = $2 "
            "and ends_at > now() and (status = 'confirmed' or "
            "(status = 'held' and hold_expires_at > now()))",
            "growth-1",
            "f1@example.org",
        )
    finally:
        await conn.close()
    return out


class _Rollback(Exception):
    pass


# ------------------------------------------------------------------------------------ run


def run(
    database_url: str,
    server: Server,
    meter: Meter,
    folder: Path,
    seconds: float,
    *,
    past: int = PAST,
    future: int = FUTURE,
) -> Figures:
    figures = Figures()
    lists = bookings.starts(3)
    bookings.warm_up(server, lists[2][-20:], prefix="growth-warm")
    _availability(server, meter, min(seconds, 2.0))  # warm: the pool's connections, plans
    figures.small = measure(database_url, server, meter, lists[0], folder, "small", seconds)
    asyncio.run(grow(database_url, figures, past, future))
    figures.large = measure(database_url, server, meter, lists[1], folder, "large", seconds)
    figures.purge = purge_during_bookings(
        database_url, server, meter, lists[2][:-20], folder, seconds
    )
    figures.plans = asyncio.run(plans(database_url))
    figures.generated["background_s"] = getattr(meter, "background", float("nan"))
    return figures


# --------------------------------------------------------------------------------- memory


def worker_rss(
    database_url: str, redis_url: str, folder: Path, mails: int, within: float
) -> dict[str, float]:
    """`wizyta worker` sending the outbox the bench's bookings left (to an SMTP sink): its RSS
    once started and after `mails` messages (or `within` seconds)."""
    import os
    import subprocess
    import sys

    from tests.benchmarks.stack import ROOT
    from tests.factories import SmtpServerProcess

    async def sent() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval("select count(*) from outbox where sent_at is not null")
        finally:
            await conn.close()

    before = asyncio.run(sent())
    with SmtpServerProcess(folder / "maildir") as smtp:
        env = os.environ | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SMTP_URL": smtp.url,
            "PUBLIC_URL": "http://wizyta.test",
            "WIZYTA_DATA_DIR": str(folder),
        }
        with (folder / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-c", "import app; app.main()", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            time.sleep(3)
            started = rss_mb(worker.pid)
            began = time.monotonic()
            done = 0
            while time.monotonic() - began < within and worker.poll() is None:
                done = asyncio.run(sent()) - before
                if done >= mails:
                    break
                time.sleep(1)
            took = time.monotonic() - began
            after = rss_mb(worker.pid)
        finally:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
    return {"started": started, "after": after, "mails": done, "seconds": took}
