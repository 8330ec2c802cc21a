"""Benchmark of mail delivery: 500 outbox rows through the real worker to a local SMTP server.

Not a test: it asserts nothing about time. `python -m tests.benchmarks.mail_throughput` prints
the figures; `run()` returns them. Uses DATABASE_URL / REDIS_URL when set (a server it may
create a database on), else embedded servers in a temporary directory. Each message is a
'confirmed' mail with its iCalendar invitation, each on its own SMTP connection; the worker's
cron jobs are off so only sending is timed.

The SMTP server (aiosmtpd storing into a Maildir) runs in a process of its own: in a thread of
this one, it and the worker would take turns at the GIL and measure that instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from core import db
from core.jobs import enqueue_outbox
from core.migrate import apply_migrations
from core.redis import create_redis
from core.settings import Settings
from notifications.config import MailConfig
from notifications.worker import create_worker
from scheduling.seed import seed_database
from tests.factories import SmtpServerProcess, insert_booking, insert_outbox

MESSAGES = 500
MAX_JOBS = 20


async def _measure(
    server_url: str, redis_url: str, smtp_url: str, messages: int, max_jobs: int
) -> dict:
    name = f"wizyta_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'create database "{name}"')
    database_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        conn = await db.connect(database_url)
        try:
            await apply_migrations(conn)
            await seed_database(conn)
            async with conn.transaction():
                ids = []
                for n in range(messages):
                    visit = await insert_booking(conn, visitor_email=f"v{n}@example.test")
                    ids.append(await insert_outbox(conn, visit["id"], "confirmed"))
        finally:
            await conn.close()

        redis = await create_redis(redis_url)
        try:
            await redis.flushdb()
            await enqueue_outbox(redis, ids)
            settings = Settings(database_url=database_url, redis_url=redis_url, smtp_url=smtp_url)
            worker = create_worker(
                settings,
                config=MailConfig(max_jobs=max_jobs),
                burst=True,
                poll_delay=0.01,
                cron_jobs=[],
            )
            started = time.perf_counter()
            try:
                await worker.main()
            finally:
                await worker.close()
            elapsed = time.perf_counter() - started
        finally:
            await redis.flushdb()
            await redis.aclose()
        return {
            "messages": messages,
            "max_jobs": max_jobs,
            "seconds": round(elapsed, 3),
            "mails_per_second": round(messages / elapsed, 1),
        }
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


def run(messages: int = MESSAGES, max_jobs: int = MAX_JOBS) -> dict:
    from core.embedded import EmbeddedRedis, embedded_postgres

    env = Settings.from_env()
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server_url = env.database_url or stack.enter_context(
            embedded_postgres(data_dir, keep=False)
        )
        redis_url = env.redis_url or stack.enter_context(EmbeddedRedis(data_dir, persist=False))
        smtp = stack.enter_context(SmtpServerProcess(data_dir / "received"))
        result = asyncio.run(_measure(server_url, redis_url, smtp.url, messages, max_jobs))
        received = smtp.message_ids()
        result["received"] = len(received)
        result["duplicates"] = len(received) - len(set(received))
    print(
        f"mail throughput: {result['messages']} messages with max_jobs={result['max_jobs']} "
        f"in {result['seconds']} s = {result['mails_per_second']} mails/s "
        f"({result['duplicates']} duplicates)"
    )
    return result


if __name__ == "__main__":
    run()
