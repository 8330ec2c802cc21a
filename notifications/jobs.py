"""The worker's jobs: send one outbox row, and the cron jobs that keep the outbox moving.

`send_outbox` takes a row id, reloads the row, and is idempotent: a row already sent (or being
sent by another worker) is left alone, so the web app's enqueue, the sweep and arq's own
retries may all ask for the same row. Temporary failures retry with an explicit backoff counted
on the row; permanent ones are recorded and logged once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from arq import Retry

from core.jobs import enqueue_outbox
from core.settings import Settings
from notifications import outbox
from notifications.config import MailConfig
from notifications.mailer import build_email, reason_to_skip
from notifications.transport import PermanentFailure, TemporaryFailure, Transport

logger = logging.getLogger("wizyta.notifications")


async def send_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    """Send outbox row `outbox_id` if it is due and unsent; return what happened."""
    pool: asyncpg.Pool = ctx["pool"]
    config: MailConfig = ctx["mail_config"]
    retry_in: float | None = None
    async with pool.acquire() as conn, conn.transaction():
        row = await outbox.claim(conn, outbox_id)
        if row is None:
            return await outbox.why_not_claimed(conn, outbox_id)
        if row["sent_at"] is not None:
            return "already sent"
        if row["failed_at"] is not None:
            return "already failed"
        now = datetime.now(UTC)
        if row["due_at"] > now:
            return "not due"  # the sweep enqueues it again once it is
        if reason := reason_to_skip(row, now):
            await outbox.mark_skipped(conn, outbox_id, reason)
            logger.info("outbox %s (%s) skipped: %s", outbox_id, row["kind"], reason)
            return f"skipped: {reason}"
        try:
            message = build_email(row, ctx["settings"], now=now)
        except Exception as e:  # no retry makes a message out of this row
            logger.exception("outbox %s (%s): cannot build the message", outbox_id, row["kind"])
            await outbox.mark_failed(conn, outbox_id, f"cannot build the message: {e}")
            return "failed"

        transport: Transport = ctx["transport"]
        try:
            where = await transport.deliver(message, outbox_id=outbox_id)
        except PermanentFailure as e:
            await outbox.mark_failed(conn, outbox_id, str(e))
            logger.error("outbox %s (%s) refused, not retried: %s", outbox_id, row["kind"], e)
            return "failed"
        except TemporaryFailure as e:
            attempts, gave_up = await outbox.record_temporary_failure(
                conn, outbox_id, str(e), max_attempts=config.max_attempts
            )
            if gave_up:
                logger.error("outbox %s failed after %s tries: %s", outbox_id, attempts, e)
                return "failed"
            retry_in = config.backoff(attempts)
            logger.warning(
                "outbox %s: try %s failed (%s); next in %.0f s", outbox_id, attempts, e, retry_in
            )
        else:
            await outbox.mark_sent(conn, outbox_id)
            recipient = message["To"].addresses[0].addr_spec
            logger.info("mail to %s: %s (%s)", recipient, message["Subject"], where)
            return "sent"
    # The failed try is committed; arq runs this job again after the backoff.
    raise Retry(defer=retry_in)


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Enqueue every due, unsent row: what a crash, a lost Redis or a stopped worker left.

    Enqueueing is by row id, so a row whose job is still queued or running is not doubled.
    """
    config: MailConfig = ctx["mail_config"]
    async with ctx["pool"].acquire() as conn:
        ids = await outbox.due_ids(conn, max_attempts=config.max_attempts, limit=config.sweep_batch)
    await enqueue_outbox(ctx["redis"], ids)
    return len(ids)


async def expire_holds(ctx: dict[str, Any]) -> int:
    """Give back the desks of holds nobody confirmed, and tell their visitors."""
    from booking.holds import expire_overdue  # booking's rule; imported when it runs

    hold = timedelta(minutes=ctx["settings"].hold_minutes)
    async with ctx["pool"].acquire() as conn, conn.transaction():
        outbox_ids = await expire_overdue(conn, hold)
    await enqueue_outbox(ctx["redis"], outbox_ids)
    return len(outbox_ids)


async def decide_draws(ctx: dict[str, Any]) -> int:
    """Decide the draws whose entry window has closed, so entrants hear without asking."""
    from booking.draw import run_due_draws

    settings: Settings = ctx["settings"]
    outbox_ids = await run_due_draws(ctx["pool"], timedelta(minutes=settings.hold_minutes))
    await enqueue_outbox(ctx["redis"], outbox_ids)
    return len(outbox_ids)


async def purge_personal_data(ctx: dict[str, Any]) -> int:
    """Remove personal data of visits past the retention window (RETENTION_DAYS)."""
    from booking.retention import purge_personal_data as purge

    settings: Settings = ctx["settings"]
    # No transaction around it: the purge runs in short batches, each its own transaction.
    async with ctx["pool"].acquire() as conn:
        return await purge(conn, settings.retention_days)
