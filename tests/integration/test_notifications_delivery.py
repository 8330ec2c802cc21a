"""Delivery when things go wrong: a mail server that says "later" or "never", a lost Redis, and a
worker killed in the middle of a batch. Real PostgreSQL, Redis, SMTP server and arq worker."""

from __future__ import annotations

import asyncio
import threading
import time

import msgspec
import pytest

from core.jobs import enqueue_outbox, outbox_job_id
from notifications import outbox
from notifications.config import MailConfig
from notifications.jobs import sweep_outbox
from tests.factories import (
    MailCatcher,
    SmtpServerProcess,
    fast_mail_config,
    insert_booking,
    insert_outbox,
    run_worker,
)
from tests.worker_process import WorkerProcess, until_all_sent


async def confirmed_visits(pool, count: int) -> list[int]:
    """`count` confirmed visits, each with its 'confirmed' outbox row; the rows' ids."""
    async with pool.acquire() as conn, conn.transaction():
        ids = []
        for n in range(count):
            visit = await insert_booking(conn, visitor_email=f"visitor{n}@example.test")
            ids.append(await insert_outbox(conn, visit["id"], "confirmed"))
    return ids


def outbox_id_of(message_id: str) -> int:
    """Message-IDs are <outbox-{id}.{booking}@domain>: one per row, however often it is sent."""
    return int(message_id.split(".", 1)[0].removeprefix("<outbox-"))


async def test_a_server_answering_421_then_250_gets_the_mail_on_the_second_try(
    seeded, redis, smtp_settings, catcher
):
    catcher.replies.append("421 4.3.0 Try again later")
    [row_id] = await confirmed_visits(seeded, 1)
    await enqueue_outbox(redis, [row_id])

    await run_worker(smtp_settings)

    row = await seeded.fetchrow("select * from outbox where id = $1", row_id)
    assert row["sent_at"] is not None and row["failed_at"] is None
    assert row["attempts"] == 2
    assert row["last_error"].startswith("421 ")
    assert catcher.refused == ["421 4.3.0 Try again later"]
    assert catcher.count() == 1


async def test_a_server_answering_550_is_recorded_as_failed_and_not_retried(
    seeded, redis, smtp_settings, catcher
):
    catcher.replies.append("550 5.1.1 No such mailbox")
    async with seeded.acquire() as conn:
        visit = await insert_booking(conn, status="held")
        row_id = await insert_outbox(
            conn, visit["id"], "confirmation_request", payload={"token": "never-kept"}
        )
    await enqueue_outbox(redis, [row_id])

    await run_worker(smtp_settings)
    await run_worker(smtp_settings)  # its startup sweep leaves a failed row alone

    row = await seeded.fetchrow("select * from outbox where id = $1", row_id)
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert row["attempts"] == 1
    assert row["last_error"] == "550 5.1.1 No such mailbox"
    assert "token" not in row["payload"]
    assert catcher.refused == ["550 5.1.1 No such mailbox"]
    assert catcher.count() == 0


async def test_temporary_failures_stop_after_the_last_attempt(
    seeded, redis, smtp_settings, catcher
):
    catcher.replies.extend(["451 4.3.0 Busy"] * 3)
    [row_id] = await confirmed_visits(seeded, 1)
    await enqueue_outbox(redis, [row_id])

    await run_worker(smtp_settings, msgspec.structs.replace(fast_mail_config(), max_attempts=3))

    row = await seeded.fetchrow("select * from outbox where id = $1", row_id)
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert row["attempts"] == 3
    assert catcher.count() == 0


async def test_an_unreachable_server_is_a_temporary_failure(seeded, redis, settings, catcher):
    catcher.stop()  # nothing listens on its port any more: connection refused
    unreachable = msgspec.structs.replace(settings, smtp_url=catcher.url)
    [row_id] = await confirmed_visits(seeded, 1)
    await enqueue_outbox(redis, [row_id])

    await run_worker(unreachable, msgspec.structs.replace(fast_mail_config(), max_attempts=2))

    row = await seeded.fetchrow("select * from outbox where id = $1", row_id)
    assert row["attempts"] == 2 and row["failed_at"] is not None
    assert "Connect" in row["last_error"]


async def test_after_redis_lost_its_queue_the_sweep_sends_every_unsent_row(
    seeded, redis, smtp_settings, catcher
):
    row_ids = await confirmed_visits(seeded, 30)
    await enqueue_outbox(redis, row_ids)
    await redis.flushdb()  # Redis restarted without its data: the jobs are gone

    await run_worker(smtp_settings)  # the sweep runs at startup

    unsent = await seeded.fetchval("select count(*) from outbox where sent_at is null")
    assert unsent == 0
    assert sorted(outbox_id_of(mail["Message-ID"]) for mail in catcher.messages) == sorted(row_ids)


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_leaves_every_row_to_be_resent_well_before_arq_would(
    seeded, redis, settings, tmp_path
):
    """SIGKILL mid-batch: rows it had claimed wait only for their lease (SMTP_TIMEOUT + 10 s),
    then the sweep queues them under a new job id; arq alone would hold them for its
    in-progress timeout (job_timeout + 10 s). At least once: duplicates are counted."""
    rows, kill_after, max_jobs, smtp_timeout = 200, 60, 20, 3
    config = MailConfig(smtp_timeout=smtp_timeout, max_jobs=max_jobs)
    arq_in_progress = config.job_timeout + 10
    row_ids = await confirmed_visits(seeded, rows)
    await enqueue_outbox(redis, row_ids)
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_TIMEOUT": str(smtp_timeout),
        "WORKER_MAX_JOBS": str(max_jobs),
        "WIZYTA_DATA_DIR": str(tmp_path),
    }
    log = tmp_path / "worker.log"

    with SmtpServerProcess(tmp_path / "received") as smtp:
        env["SMTP_URL"] = smtp.url
        async with WorkerProcess(log, **env) as worker:
            deadline = time.monotonic() + 120
            while smtp.count() < kill_after:
                if not worker.alive() or time.monotonic() > deadline:
                    pytest.fail(f"the worker did not get going:\n{worker.tail()}")
                await asyncio.sleep(0.01)
            await worker.kill()
        killed_at = time.monotonic()
        at_kill = smtp.count()
        leased = await seeded.fetchval(
            "select count(*) from outbox where sent_at is null and claimed_until > now()"
        )

        async with WorkerProcess(log, **env) as worker:
            await until_all_sent(seeded, worker, 120)
            resent_in = time.monotonic() - killed_at
            assert await worker.stop() == 0, worker.tail()
        received = [outbox_id_of(message_id) for message_id in smtp.message_ids()]

    duplicates = len(received) - len(set(received))
    print(
        f"\ncrash test: {rows} rows, SMTP_TIMEOUT={smtp_timeout} s (lease {config.lease:g} s, "
        f"arq in-progress {arq_in_progress:g} s); {at_kill} mails received and {leased} rows "
        f"leased when the worker was killed; every row sent {resent_in:.1f} s after the kill; "
        f"{len(received)} mails in all, {duplicates} duplicate(s)"
    )
    assert set(received) == set(row_ids), "every visit got its mail"
    assert duplicates <= max_jobs, "only sends in flight at the kill can be repeated"
    assert resent_in < arq_in_progress - 5, "the lease, not arq's in-progress key, decides"


async def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_next_claims_result(seeded):
    [row_id] = await confirmed_visits(seeded, 1)
    async with seeded.acquire() as conn:
        first, _ = await outbox.claim(conn, row_id, lease=0.2)
        assert await outbox.claim(conn, row_id, lease=30) is None, "leased: nobody else"
        await asyncio.sleep(0.3)
        second, row = await outbox.claim(conn, row_id, lease=30)  # the first one looks dead
        assert row["claims"] == 2

        assert await outbox.record_sent(conn, second, itip_method="REQUEST")
        assert not await outbox.record_failed(conn, first, "550 too late")
        assert (
            await outbox.record_temporary_failure(
                conn, first, "421 too late", max_attempts=8, retry_in=60
            )
            is None
        )

    row = await seeded.fetchrow("select * from outbox where id = $1", row_id)
    assert row["sent_at"] is not None and row["failed_at"] is None
    assert row["last_error"] is None and row["attempts"] == 1
    assert row["claim_token"] is None and row["claimed_until"] is None


async def test_the_sweep_queues_a_row_whose_lease_ran_out_under_a_new_job_id(
    seeded, redis, settings
):
    [row_id] = await confirmed_visits(seeded, 1)
    await enqueue_outbox(redis, [row_id])  # outbox:{id}; its worker dies after the claim
    async with seeded.acquire() as conn:
        await outbox.claim(conn, row_id, lease=0.1)
    ctx = {"pool": seeded, "redis": redis, "mail_config": fast_mail_config()}
    assert await sweep_outbox(ctx) == 0, "leased: someone is sending it"
    await asyncio.sleep(0.2)

    assert await sweep_outbox(ctx) == 1
    queued = {job_id.decode() for job_id in await redis.zrange("arq:queue", 0, -1)}
    assert queued == {outbox_job_id(row_id), outbox_job_id(row_id, 1)}


class StallingSmtp(MailCatcher):
    """An SMTP server that takes its time over DATA and says when it is there."""

    def __init__(self, stall: float) -> None:
        super().__init__(delay=stall)
        self.talking = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.talking.set()
        return await super().handle_DATA(server, session, envelope)


async def test_no_transaction_or_lock_is_held_while_smtp_talks(seeded, redis, settings):
    with StallingSmtp(stall=3) as smtp:
        smtp_settings = msgspec.structs.replace(settings, smtp_url=smtp.url)
        row_ids = await confirmed_visits(seeded, 3)
        await enqueue_outbox(redis, row_ids)
        worker = asyncio.create_task(run_worker(smtp_settings))
        try:
            while not smtp.talking.is_set():
                assert not worker.done()
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)  # well into the stalled DATA

            async with seeded.acquire() as conn:
                sessions = await conn.fetch(
                    """
                    select pid, state, application_name, query from pg_stat_activity
                     where datname = current_database() and pid <> pg_backend_pid()
                       and backend_type = 'client backend'
                    """
                )
                outbox_locks = await conn.fetchval(
                    """
                    select count(*) from pg_locks l join pg_class c on c.oid = l.relation
                     where c.relname = 'outbox' and l.pid <> pg_backend_pid()
                    """
                )
                leased = await conn.fetchval(
                    "select count(*) from outbox where claimed_until > now() and sent_at is null"
                )
        finally:
            await worker
    in_transaction = [s for s in sessions if s["state"].startswith("idle in transaction")]
    busy = [s for s in sessions if s["state"] == "active"]
    assert leased >= 1, "a row is being sent right now"
    assert in_transaction == [], in_transaction
    assert busy == [], busy
    assert outbox_locks == 0
    assert smtp.count() == 3
    assert await seeded.fetchval("select count(*) from outbox where sent_at is null") == 0
