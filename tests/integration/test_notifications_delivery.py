"""Delivery when things go wrong: a mail server that says "later" or "never", a lost Redis, and a
worker killed in the middle of a batch. Real PostgreSQL, Redis, SMTP server and arq worker."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import pytest

from core.jobs import enqueue_outbox
from tests.factories import (
    SmtpServerProcess,
    fast_mail_config,
    insert_booking,
    insert_outbox,
    run_worker,
    subprocess_env,
)

# Quick retries; few sends at once, since the SMTP server shares this process (and its GIL).
ROOT = Path(__file__).resolve().parents[2]


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


CHILD_WORKER = """
import asyncio
from core.settings import Settings
from notifications.worker import create_worker

async def main():
    worker = create_worker(Settings.from_env(), burst=True, poll_delay=0.02, job_timeout=10)
    await worker.main()

asyncio.run(main())
"""


async def start_worker_process(env: dict[str, str], log) -> asyncio.subprocess.Process:
    """The worker in burst mode, as a process of its own (so it can be killed)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD_WORKER, cwd=ROOT, env=env, stdout=log, stderr=log
    )


def tail(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_and_restarted_delivers_every_mail_at_least_once(
    seeded, redis, settings, tmp_path
):
    rows, kill_after, max_jobs = 200, 60, 20
    row_ids = await confirmed_visits(seeded, rows)
    await enqueue_outbox(redis, row_ids)

    with SmtpServerProcess(tmp_path / "received") as smtp, tempfile.TemporaryFile() as log:
        env = subprocess_env(
            DATABASE_URL=settings.database_url,
            REDIS_URL=settings.redis_url,
            SMTP_URL=smtp.url,
            SMTP_TIMEOUT="8",
            WORKER_MAX_JOBS=str(max_jobs),
        )
        worker = await start_worker_process(env, log)
        deadline = time.monotonic() + 120
        while smtp.count() < kill_after:
            if worker.returncode is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not get going:\n{tail(log)}")
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        at_kill = smtp.count()
        marked = await seeded.fetchval("select count(*) from outbox where sent_at is not null")

        # Started again. The killed worker's unfinished jobs wait out arq's in-progress lease
        # (job_timeout + 10 s) and then run again.
        worker = await start_worker_process(env, log)
        try:
            await asyncio.wait_for(worker.wait(), 300)
        except TimeoutError:
            worker.kill()
            pytest.fail(f"the restarted worker did not finish:\n{tail(log)}")
        assert worker.returncode == 0, tail(log)
        received = [outbox_id_of(message_id) for message_id in smtp.message_ids()]

    duplicates = len(received) - len(set(received))
    print(
        f"\ncrash test: {rows} rows; {at_kill} mails received and {marked} rows marked sent "
        f"when the worker was killed; {len(received)} mails in all, {duplicates} duplicate(s)"
    )
    assert await seeded.fetchval("select count(*) from outbox where sent_at is null") == 0
    assert set(received) == set(row_ids), "every visit got its mail"
    assert duplicates <= max_jobs, "only sends in flight at the kill can be repeated"
