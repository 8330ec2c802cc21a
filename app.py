"""Composition root: `create_app(settings)` and the `wizyta` command line.

Nothing here runs at import time: the pool and Redis open in the app's lifespan, and the
embedded servers start only inside `wizyta run` (or the tests) when no URL is configured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from core import db
from core.health import HealthController
from core.problems import exception_handlers
from core.ratelimit import RateLimits
from core.redis import create_redis
from core.settings import Settings
from core.uow import UnitOfWork, Uow

logger = logging.getLogger("wizyta")


class CommandFailed(Exception):
    """A command could not do what was asked; main() prints the message as one line."""


class StoreUnreachable(CommandFailed):
    """PostgreSQL or Redis did not answer at start; the message names which and where."""


def _where(url: str) -> str:
    """A URL without its credentials, for messages a person reads."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host and "host=" in (parts.query or ""):
        host = parts.query.split("host=", 1)[1].split("&", 1)[0]
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def check_stores(settings: Settings, within: float = 5.0) -> None:
    """Fail fast, with one clear line, when a store is unreachable."""
    assert settings.database_url and settings.redis_url
    try:
        conn = await asyncio.wait_for(db.connect(settings.database_url), within)
        await conn.close()
    except Exception as e:
        reason = str(e) or type(e).__name__
        raise StoreUnreachable(
            f"cannot reach PostgreSQL at {_where(settings.database_url)}: {reason}"
        ) from e
    try:
        redis = await create_redis(settings.redis_url)
        try:
            await asyncio.wait_for(redis.ping(), within)
        finally:
            await redis.aclose()
    except Exception as e:
        reason = str(e) or type(e).__name__
        raise StoreUnreachable(
            f"cannot reach Redis at {_where(settings.redis_url)}: {reason}"
        ) from e


#: The bearer tokens of the API (RFC 6750), for the OpenAPI document's operations to name.
SECURITY_SCHEMES = {
    "manage_token": SecurityScheme(
        type="http",
        scheme="bearer",
        description="The visit's manage token, returned once by POST /api/v1/bookings "
        "(and in the visitor's e-mail): `Authorization: Bearer <manage_token>`.",
    ),
    "staff_session": SecurityScheme(
        type="http",
        scheme="bearer",
        description="A staff session token from POST /api/v1/staff/sessions.",
    ),
}


def create_app(settings: Settings) -> Litestar:
    """Build the web application; stores are opened by the lifespan, not here.

    Only `read_cache_seconds` and `max_body_bytes` are fixed here; everything else is read
    from `app.state.settings` when the lifespan starts or a request is answered, so an app
    built once may run again with other settings put there (the tests do: building takes
    about 0.3 s of CPU, registering every handler).
    """
    from booking.api import booking_handlers
    from booking.draw_batch import DrawEntries
    from core import logs
    from core.cache import ForgetOnWriteMiddleware, response_cache_config
    from core.head import AnswerHeadAsGet
    from core.hostile import RefuseHostileInput
    from core.openapi import answer_options
    from scheduling.api import scheduling_handlers
    from staff.api import StaffSessionController
    from staff.routes import staff_management_handlers
    from staff.rules_api import StaffRuleController
    from web import middleware, page_exception_handlers, template_config, web_handlers
    from web.api_reference import VendoredSwaggerUI

    logs.install()  # tokens in URLs are masked in every log line

    @contextlib.asynccontextmanager
    async def stores(app: Litestar) -> AsyncIterator[None]:
        # The settings of this run of the lifespan: the ones given here, unless the tests put
        # others in app.state (they build the app once and run it for each test with that
        # test's settings: tests/conftest.py).
        settings = app.state.settings
        assert settings.database_url and settings.redis_url, "URLs are resolved before the app"
        pool = await db.create_pool(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            acquire_timeout=settings.db_acquire_timeout,
            command_timeout=settings.db_command_timeout,
        )
        try:
            redis = await create_redis(settings.redis_url)
            try:
                app.state.pool = pool
                app.state.redis = redis
                app.state.rate_limits = RateLimits(settings.redis_url, enabled=settings.rate_limit)
                app.state.draw_entries = DrawEntries(
                    pool, redis, gather=settings.draw_gather_ms / 1000
                )
                try:
                    yield
                finally:
                    await app.state.draw_entries.close()
            finally:
                await redis.aclose()
        finally:
            await pool.close()

    async def provide_uow(state: State) -> AsyncIterator[UnitOfWork]:
        """One unit of work per request: at most one pooled connection, given back at the end."""
        async with UnitOfWork(state.pool, state.redis) as uow:
            yield uow

    async def provide_conn(uow: Uow) -> object:
        """A handler's connection for reads: the request's own (core/uow.py)."""
        return await uow.connection()

    app = Litestar(
        route_handlers=[
            HealthController,
            *scheduling_handlers(),
            *booking_handlers(),
            StaffSessionController,
            StaffRuleController,
            *staff_management_handlers(),
            *web_handlers(),
        ],
        lifespan=[stores],
        before_request=answer_options,  # OPTIONS lists every method of a path (core/openapi.py)
        state=State({"settings": settings}),
        dependencies={"uow": Provide(provide_uow), "conn": Provide(provide_conn)},
        exception_handlers=page_exception_handlers(exception_handlers),  # type: ignore[arg-type]
        middleware=[RefuseHostileInput, *middleware(), ForgetOnWriteMiddleware],
        response_cache_config=response_cache_config(settings.read_cache_seconds),
        template_config=template_config(),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="wizyta",
            version="1",
            description="Visits and opening hours of the information points for foreigners.",
            path="/schema",
            render_plugins=[VendoredSwaggerUI(path=["/", "/swagger"])],
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
    )
    app.asgi_handler = AnswerHeadAsGet(app.asgi_handler)  # HEAD wherever GET (RFC 9110 §9.3.2)
    return app


# ---------------------------------------------------------------------------- command line


def _serve_config(settings: Settings):
    import uvicorn

    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=True,
        lifespan="on",
    )


def _web_server(settings: Settings):
    """uvicorn without its own signal capture, so one handler stops web and worker together."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[override]
            yield

    return Server(_serve_config(settings))


async def _prepare(settings: Settings, *, seed: bool, overwrite: bool = False) -> None:
    from core.migrate import apply_migrations
    from scheduling.seed import seed_database

    conn = await db.connect(settings.database_url)  # type: ignore[arg-type]
    try:
        applied = await apply_migrations(conn)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
        if seed:
            counts = await seed_database(conn, overwrite=overwrite)
            logger.info("seed data loaded: %s", counts)
    finally:
        await conn.close()


async def _serve_until_signalled(
    settings: Settings, *, with_worker: bool, web: bool = True, inbound: bool = False
) -> None:
    from notifications import inbound as calendar_replies
    from notifications.worker import create_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    tasks: list[asyncio.Task[object]] = []
    server = None
    worker = None
    if web:
        server = _web_server(settings)
        tasks.append(asyncio.create_task(server.serve(), name="web"))
    if with_worker:
        worker = create_worker(settings)
        tasks.append(asyncio.create_task(worker.async_run(), name="worker"))
    if inbound:  # calendar apps' answers to invitations (notifications/inbound.py)
        lmtp = os.environ.get("INBOUND_LMTP", "").lower() in ("1", "true", "yes", "on")
        receiver = calendar_replies.serve(settings, stop, lmtp=lmtp, required=not web)
        tasks.append(asyncio.create_task(receiver, name="inbound"))

    async def announce() -> None:
        while server is not None and not server.started:  # noqa: ASYNC110 (uvicorn has no event)
            await asyncio.sleep(0.05)
        if server is not None:
            print(f"wizyta is ready at {settings.public_url}  (Ctrl-C stops it)", flush=True)

    announcer = asyncio.create_task(announce())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    announcer.cancel()
    stopper.cancel()
    stop.set()  # the inbound receiver stops on it
    if server is not None:
        server.should_exit = True  # uvicorn finishes in-flight requests, then its lifespan
        from web.display import close_streams

        close_streams()  # the screens' event streams never finish by themselves
    if worker is not None:
        await _stop_worker(worker)
    _, pending = await asyncio.wait(tasks, timeout=30)
    for task in pending:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


async def _stop_worker(worker) -> None:
    """Stop an arq worker as its own signal handler would, without its close() re-raising
    the cancellation of a job that was running (which made `wizyta run` exit 1 at times).
    A cancelled job's outbox row stays unsent and the next sweep sends it."""
    worker.handle_sig(signal.SIGTERM)  # cancels running jobs and the polling loop
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    worker.tasks.clear()
    await worker.close()  # deletes the health key, runs on_shutdown, closes its Redis pool


def _run(main) -> None:
    """Run a long-lived process on uvloop where it is installed: measured, it spends about
    12% less CPU per availability request and 22% less per booking than asyncio's own loop
    (docs/benchmarks.md)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard] on Linux
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


@contextlib.contextmanager
def _stores_for(settings: Settings, *, redis: bool = True):
    """Resolve DATABASE_URL and REDIS_URL, starting embedded servers for the missing ones."""
    from core.embedded import EmbeddedRedis, embedded_postgres

    with contextlib.ExitStack() as stack:
        database_url = settings.database_url
        redis_url = settings.redis_url
        if not database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            database_url = stack.enter_context(embedded_postgres(settings.data_dir))
            print(f"embedded PostgreSQL: data in {settings.data_dir / 'postgres'}", flush=True)
        if not redis_url and redis:
            redis_url = stack.enter_context(EmbeddedRedis(settings.data_dir))
            print(f"embedded Redis: {redis_url}", flush=True)
        yield settings.with_urls(database_url=database_url, redis_url=redis_url or "")


def _need_urls(settings: Settings) -> Settings:
    missing = [
        n
        for n, v in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url))
        if not v
    ]
    if missing:
        raise StoreUnreachable(f"{' and '.join(missing)} must be set (or use `wizyta run`)")
    return settings


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    with _stores_for(settings) as resolved:

        async def main() -> None:
            await check_stores(resolved)
            await _prepare(resolved, seed=not args.no_seed)
            await _serve_until_signalled(resolved, with_worker=True, inbound=True)

        _run(main())
    print("wizyta stopped; data kept for the next start.", flush=True)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    settings = _need_urls(settings)

    async def main() -> None:
        await check_stores(settings)
        await _serve_until_signalled(settings, with_worker=args.with_worker)

    _run(main())


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    settings = _need_urls(settings)

    async def main() -> None:
        await check_stores(settings)
        await _serve_until_signalled(settings, with_worker=True, web=False)

    _run(main())


def cmd_inbound(settings: Settings, args: argparse.Namespace) -> None:
    settings = _need_urls(settings)

    async def main() -> None:
        await check_stores(settings)
        await _serve_until_signalled(settings, with_worker=False, web=False, inbound=True)

    _run(main())


def cmd_reminders(settings: Settings, args: argparse.Namespace) -> None:
    from booking.reminders import set_point_offsets
    from core.migrate import apply_migrations

    with _stores_for(settings, redis=False) as resolved:

        async def main() -> str:
            conn = await db.connect(resolved.database_url)  # type: ignore[arg-type]
            try:
                await apply_migrations(conn)
                return await set_point_offsets(conn, args.point, args.offsets)
            except (LookupError, ValueError) as e:
                raise CommandFailed(str(e)) from e
            finally:
                await conn.close()

        print(asyncio.run(main()))


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from core.migrate import apply_migrations

    with _stores_for(settings, redis=False) as resolved:

        async def main() -> None:
            conn = await db.connect(resolved.database_url)  # type: ignore[arg-type]
            try:
                applied = await apply_migrations(conn)
            finally:
                await conn.close()
            print("applied: " + (", ".join(applied) if applied else "nothing, up to date"))

        asyncio.run(main())


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    with _stores_for(settings, redis=False) as resolved:
        asyncio.run(_prepare(resolved, seed=True, overwrite=args.overwrite))
        print("seed data loaded")


def cmd_purge(settings: Settings, args: argparse.Namespace) -> None:
    from booking.retention import purge_personal_data
    from core.migrate import apply_migrations

    with _stores_for(settings, redis=False) as resolved:

        async def main() -> int:
            conn = await db.connect(resolved.database_url)  # type: ignore[arg-type]
            try:
                await apply_migrations(conn)
                return await purge_personal_data(conn, settings.retention_days)
            finally:
                await conn.close()

        count = asyncio.run(main())
        print(
            f"personal data removed from {count} visit(s) older than {settings.retention_days} days"
        )


def cmd_staff(settings: Settings, args: argparse.Namespace) -> None:
    from core.migrate import apply_migrations
    from staff.accounts import add_staff, disable_staff, new_password

    with _stores_for(settings, redis=False) as resolved:

        async def main() -> str:
            conn = await db.connect(resolved.database_url)  # type: ignore[arg-type]
            try:
                await apply_migrations(conn)
                if args.action == "disable":
                    staff_id = await conn.fetchval(
                        "select id from staff_accounts where lower(email) = lower($1)", args.email
                    )
                    if staff_id is None:
                        raise CommandFailed(f"no staff account {args.email}")
                    await disable_staff(conn, staff_id)
                    return f"{args.email} disabled; their sessions have ended"
                if args.role == "staff" and not args.point:
                    raise CommandFailed("a staff account needs at least one --point")
                password = new_password()
                try:
                    await add_staff(
                        conn, args.email, args.role, args.point or [], password, one_time=True
                    )
                except ValueError as e:
                    raise CommandFailed(str(e)) from e
                return (
                    f"{args.email} ({args.role}) one-time password: {password}"
                    " (to be changed at the first login)"
                )
            finally:
                await conn.close()

        print(asyncio.run(main()))


COMMANDS = {
    "run": (cmd_run, "set everything up and run web + worker (embedded stores if no URLs)"),
    "serve": (cmd_serve, "serve the web app (needs DATABASE_URL and REDIS_URL)"),
    "worker": (cmd_worker, "run the notification worker (needs DATABASE_URL and REDIS_URL)"),
    "migrate": (cmd_migrate, "apply pending database migrations"),
    "seed": (cmd_seed, "load the points, services, desks and hours from the seed data"),
    "purge": (cmd_purge, "remove personal data of visits older than RETENTION_DAYS"),
    "staff": (cmd_staff, "add a staff account (prints its password once) or disable one"),
    "inbound": (cmd_inbound, "receive calendar apps' replies to invitations (SMTP/LMTP)"),
    "reminders": (cmd_reminders, "set a point's reminder offsets, e.g. 48h,3h ('default')"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wizyta", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == "run":
            p.add_argument("--no-seed", action="store_true", help="do not load the seed data")
        if name == "seed":
            p.add_argument(
                "--overwrite", action="store_true", help="put seeded rows back as the file says"
            )
        if name == "staff":
            p.add_argument("action", choices=["add", "disable"])
            p.add_argument("email")
            p.add_argument("--role", choices=["admin", "staff"], default="staff")
            p.add_argument("--point", action="append", help="a point the account manages")
        if name == "reminders":
            p.add_argument("point", help="the point's id")
            p.add_argument("offsets", help="e.g. 24h,2h; 'default' for REMINDER_OFFSETS")
        if name == "serve":
            p.add_argument("--with-worker", action="store_true", help="also run the worker")
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    handler, _ = COMMANDS[args.command]
    try:
        handler(settings, args)
    except CommandFailed as e:
        print(f"wizyta: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
    except Exception as e:
        from core.embedded import EmbeddedUnavailable
        from core.migrate import MigrationError

        if isinstance(e, MigrationError | EmbeddedUnavailable):
            print(f"wizyta: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        raise


if __name__ == "__main__":
    main()
