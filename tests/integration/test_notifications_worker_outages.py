"""A worker process rides out its stores going away: Redis cut, blackholed and restarted empty,
PostgreSQL cut. It stays alive, says so once per outage, and afterwards every outbox row is
delivered. Real processes: `wizyta worker`, an SMTP server, Redis and PostgreSQL behind a proxy
the test controls."""

from __future__ import annotations

import asyncio

import pytest

from core.embedded import EmbeddedRedis
from core.jobs import enqueue_outbox
from core.redis import create_redis
from tests.factories import SmtpServerProcess, insert_booking, insert_outbox
from tests.proxy import CuttableProxy
from tests.worker_process import WorkerProcess, until_all_sent

pytestmark = pytest.mark.slow


async def new_rows(pool, count: int) -> list[int]:
    async with pool.acquire() as conn, conn.transaction():
        return [
            await insert_outbox(
                conn,
                (await insert_booking(conn, visitor_email=f"v{n}@example.test"))["id"],
                "confirmed",
            )
            for n in range(count)
        ]


async def test_a_worker_rides_out_redis_cut_blackholed_and_restarted_and_sends_every_row(
    seeded, settings, tmp_path
):
    own_redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    own_redis.start()
    proxy = CuttableProxy(own_redis.url)
    await proxy.start()
    redis = await create_redis(own_redis.url)
    try:
        with SmtpServerProcess(tmp_path / "received") as smtp:
            async with WorkerProcess(
                tmp_path / "worker.log",
                DATABASE_URL=settings.database_url,
                REDIS_URL=proxy.url,
                SMTP_URL=smtp.url,
                SMTP_TIMEOUT="5",
                WIZYTA_DATA_DIR=str(tmp_path),
            ) as worker:
                first = await new_rows(seeded, 5)
                await enqueue_outbox(redis, first)
                await until_all_sent(seeded, worker, 30)

                # A cut: connections refused and broken; rows written meanwhile were not queued.
                await proxy.cut()
                await new_rows(seeded, 5)
                await asyncio.sleep(4)
                await proxy.restore()
                await until_all_sent(seeded, worker, 30)

                # A blackhole: connections open, no reply; commands time out.
                await proxy.blackhole()
                await new_rows(seeded, 5)
                await asyncio.sleep(4)
                await proxy.restore()
                await until_all_sent(seeded, worker, 30)

                # Redis restarted without its data: the queue is gone.
                await redis.aclose()
                own_redis.stop()
                await new_rows(seeded, 5)
                await asyncio.sleep(2)
                own_redis.start()
                redis = await create_redis(own_redis.url)
                after_restart = await new_rows(seeded, 5)
                await enqueue_outbox(redis, after_restart)
                await until_all_sent(seeded, worker, 30)

                assert worker.alive()
                assert await worker.stop() == 0, worker.tail()
                log = worker.text()
            received = smtp.count()
    finally:
        await redis.aclose()
        await proxy.stop()
        own_redis.stop()

    assert received >= 25
    outages = log.count("Redis unavailable")
    assert outages == 3, f"one line per outage, got {outages}:\n{log[-3000:]}"
    assert log.count("Redis is back after") == 3
    assert "Traceback" not in log, log[-3000:]


async def test_a_worker_rides_out_a_postgres_outage_and_sends_every_row(
    seeded, settings, stores, tmp_path
):
    proxy = CuttableProxy(settings.database_url)
    await proxy.start()
    redis = await create_redis(stores.redis_url)
    await redis.flushdb()
    try:
        with SmtpServerProcess(tmp_path / "received") as smtp:
            async with WorkerProcess(
                tmp_path / "worker.log",
                DATABASE_URL=proxy.url,
                REDIS_URL=stores.redis_url,
                SMTP_URL=smtp.url,
                SMTP_TIMEOUT="5",
                WIZYTA_DATA_DIR=str(tmp_path),
            ) as worker:
                await enqueue_outbox(redis, await new_rows(seeded, 5))
                await until_all_sent(seeded, worker, 30)

                await proxy.cut()
                during = await new_rows(seeded, 10)  # written by a web app that still has PG
                await enqueue_outbox(redis, during)  # the worker's jobs fail and are retried
                await asyncio.sleep(5)
                await proxy.restore()
                took = await until_all_sent(seeded, worker, 60)

                assert worker.alive()
                assert await worker.stop() == 0, worker.tail()
            assert smtp.count() >= 15
    finally:
        await redis.aclose()
        await proxy.stop()
    print(f"\nPostgreSQL cut for 5 s: every row sent {took:.1f} s after it came back")


async def test_an_error_the_worker_did_not_foresee_is_logged_and_the_worker_goes_on(
    seeded, redis, settings, caplog
):
    """arq re-raises, from its poll loop, whatever a finished job's own bookkeeping raised. A
    worker process once ended that way in the middle of a Redis outage (its loop returned with
    the error, and `wizyta worker` with it), so mail stopped until someone restarted it. Now
    the error is logged with its traceback and the worker goes on sending."""
    from notifications.worker import create_worker
    from tests.factories import fast_mail_config

    worker = create_worker(settings, config=fast_mail_config(), poll_delay=0.02)

    async def bookkeeping_failed() -> None:
        raise RuntimeError("an unforeseen reply while recording a job's result")

    running = asyncio.create_task(worker.main())
    try:
        failed = asyncio.create_task(bookkeeping_failed())
        await asyncio.gather(failed, return_exceptions=True)
        worker.tasks["a-finished-job"] = failed  # what arq's run_job task left behind
        rows = await new_rows(seeded, 2)
        await enqueue_outbox(redis, rows)

        async def sent() -> bool:
            async with seeded.acquire() as conn:
                return not await conn.fetchval(
                    "select count(*) from outbox where id = any($1) and sent_at is null", rows
                )

        for _ in range(200):
            if await sent():
                break
            assert not running.done(), running.exception() if running.done() else None
            await asyncio.sleep(0.05)
        assert await sent(), "the worker went on sending after the error"
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert "the worker's poll failed; it goes on" in caplog.text
    assert "an unforeseen reply while recording a job's result" in caplog.text


async def test_a_worker_told_to_stop_ends_its_poll_even_if_the_cancellation_is_lost(
    seeded, redis, settings, caplog
):
    """A shutdown cancels arq's poll task; a cancellation can be lost (it landed as a job
    finished), and the poll then went on against the closed pool, logging a failure at each
    try until the process's 30 s stop bound cancelled it. Here the poll runs outside arq's own
    task, so the shutdown's cancellation misses it, as a lost one does: it ends by itself."""
    import signal

    from notifications.worker import create_worker
    from tests.factories import fast_mail_config

    worker = create_worker(settings, config=fast_mail_config(), poll_delay=0.02)
    running = asyncio.create_task(worker.main())
    await asyncio.sleep(0.3)
    worker.handle_sig(signal.SIGTERM)
    await worker.close()
    await asyncio.wait_for(running, 5)
    assert "poll failed" not in caplog.text


async def test_a_cancelled_job_task_does_not_end_the_worker(seeded, redis, settings, caplog):
    """arq re-raises a finished job task's outcome from its poll; for a task that was
    cancelled, that is a CancelledError, which ended the poll as if the worker were being
    stopped, and `wizyta worker` exited (cleanly, so nothing said why)."""
    from notifications.worker import create_worker
    from tests.factories import fast_mail_config

    worker = create_worker(settings, config=fast_mail_config(), poll_delay=0.02)
    running = asyncio.create_task(worker.main())
    try:
        cancelled = asyncio.create_task(asyncio.sleep(60))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        worker.tasks["a-cancelled-job"] = cancelled
        rows = await new_rows(seeded, 1)
        await enqueue_outbox(redis, rows)
        for _ in range(200):
            if not await seeded.fetchval(
                "select count(*) from outbox where id = any($1) and sent_at is null", rows
            ):
                break
            await asyncio.sleep(0.05)
        assert not running.done(), "the worker goes on"
        assert not await seeded.fetchval(
            "select count(*) from outbox where id = any($1) and sent_at is null", rows
        )
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert "a job's task was cancelled; the worker goes on" in caplog.text
