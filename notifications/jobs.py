"""The worker's jobs: send one outbox row, and the cron jobs that keep the outbox moving.

`send_outbox` takes a row id, reloads the row, and is idempotent: a row already sent (or being
sent by another worker) is left alone, so the web app's enqueue, the sweep and arq's own
retries may all ask for the same row. It claims, commits, sends, records
(`notifications.outbox`): no transaction is open and no connection is held while SMTP talks.
Temporary failures retry with an explicit backoff kept on the row; permanent ones are recorded
and logged once. A PostgreSQL that cannot be reached is waited out: the job is retried with a
backoff, and the sweep takes over whatever arq gives up on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from arq import Retry

from booking import links
from core.db import STORE_FAILURES
from core.jobs import enqueue_outbox, enqueue_outbox_jobs
from core.settings import Settings
from notifications import outbox
from notifications.config import MailConfig
from notifications.mailer import build_email, channels, invitation_method, reason_to_skip
from notifications.messages import MessageKind
from notifications.sms import SmsSender, build_sms, sends_by_sms
from notifications.transport import PermanentFailure, TemporaryFailure, Transport

logger = logging.getLogger("wizyta.notifications")

T = TypeVar("T")

ACQUIRE_WITHIN = 10.0
"""Seconds a job waits for one of the worker's few pooled connections."""
SWEEP_ENQUEUE_WITHIN = 10.0
"""Seconds the sweep gives Redis to take a batch of jobs."""
BEHIND_RETRY = 2.0
"""Seconds before trying again a row held back by an earlier message of its visit in flight."""
CLAIMABLE_RETRY = 0.2
"""Seconds before trying again a row whose claim lost a race it would now win."""

STORE_UNAVAILABLE = STORE_FAILURES  # core/db.py: what a PostgreSQL that is away raises


def store_backoff(job_try: int) -> float:
    """Seconds before a job that could not reach PostgreSQL runs again: 2, 4, 8... up to 60."""
    return float(min(2**job_try, 60))


async def _with_conn(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """One short use of a pooled connection (each statement is its own transaction)."""
    async with pool.acquire(timeout=ACQUIRE_WITHIN) as conn:
        return await work(conn)


async def send_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    """Send outbox row `outbox_id` if it is due and unsent; return what happened."""
    pool: asyncpg.Pool = ctx["pool"]
    config: MailConfig = ctx["mail_config"]
    try:
        if "link_key" not in ctx:  # the key of the mails' manage links (booking/links.py)
            ctx["link_key"] = await _with_conn(pool, links.link_key)
        claimed = await _with_conn(pool, lambda c: outbox.claim(c, outbox_id, lease=config.lease))
        if claimed is None:
            why = await _with_conn(pool, lambda c: outbox.why_not_claimed(c, outbox_id))
    except STORE_UNAVAILABLE as e:
        retry_in = store_backoff(ctx.get("job_try", 1))
        logger.warning(
            "outbox %s: PostgreSQL unavailable (%r); next try in %.0f s", outbox_id, e, retry_in
        )
        raise Retry(defer=retry_in) from e
    if claimed is None:
        if why == "behind":  # an earlier message of this visit first (a REQUEST before a CANCEL)
            raise Retry(defer=BEHIND_RETRY)
        if why == "claimable":
            # The claim lost to an earlier message of this visit whose lease ended right after
            # (it was skipped or sent): claimable now, so try again soon rather than leave it
            # to the sweep (a cancellation would wait up to its interval).
            raise Retry(defer=CLAIMABLE_RETRY)
        return why
    # Claimed and committed: from here to the record, this worker holds no connection.
    claim, row = claimed
    kind, now = MessageKind(row["kind"]), datetime.now(UTC)
    if reason := reason_to_skip(row, now):
        await _record(pool, claim, lambda c: outbox.record_skipped(c, claim, reason))
        logger.info("outbox %s (%s) skipped: %s", outbox_id, kind, reason)
        return f"skipped: {reason}"
    if row["channel"] == "sms":
        return await _send_sms(ctx, claim, row, now)
    if row["parent_id"] is None:  # a change's row, as booking wrote it: which channels?
        wanted = channels(row)
        if not sends_by_sms(kind):  # the manage link again: to the address that asked
            wanted = frozenset({"email"} if row["visitor_email"] else ())
        if "sms" in wanted:
            await _add_sms(ctx, row)
        if "email" not in wanted:
            why = "no e-mail address" if not row["visitor_email"] else "the visitor chose SMS"
            await _record(pool, claim, lambda c: outbox.record_skipped(c, claim, why))
            return f"skipped: {why}"
    try:
        message = build_email(row, ctx["settings"], now=now, link_key=ctx["link_key"])
    except Exception as e:  # no retry makes a message out of this row
        return await _unbuildable(ctx, claim, row, e)

    transport: Transport = ctx["transport"]
    outcome, where = await _deliver(
        ctx, claim, row, lambda: transport.deliver(message, outbox_id=outbox_id)
    )
    if outcome is not None:
        return outcome
    method = invitation_method(kind, row)
    recorded = await _record(
        pool, claim, lambda c: outbox.record_sent(c, claim, itip_method=method)
    )
    recipient = message["To"].addresses[0].addr_spec
    logger.info("mail to %s: %s (%s)", recipient, message["Subject"], where)
    if not recorded:
        logger.warning(
            "outbox %s was sent, but the lease was lost: it may be sent again", outbox_id
        )
    return "sent"


async def _add_sms(ctx: dict[str, Any], row: Any) -> None:
    """Write this change's SMS as a row of its own and queue it (once, however often the
    change's row is claimed: a worker that dies after this leaves it to the sweep)."""
    # Not recorded otherwise: a PostgreSQL that fails here fails the job, and the change's row
    # is claimed again once its lease runs out, so its SMS is never lost.
    sms_id = await _with_conn(ctx["pool"], lambda c: outbox.add_sms(c, row["id"]))
    await enqueue_outbox_jobs(ctx["redis"], [(sms_id, None)])


async def _send_sms(ctx: dict[str, Any], claim: outbox.Claim, row: Any, now: datetime) -> str:
    """The SMS of one row, by the same rules as mail: bounded, retried, recorded."""
    try:
        sms = build_sms(row, ctx["settings"], link_key=ctx["link_key"])
    except Exception as e:
        return await _unbuildable(ctx, claim, row, e)
    sender: SmsSender = ctx["sms_sender"]
    outcome, where = await _deliver(
        ctx, claim, row, lambda: sender.send(sms, outbox_id=claim.outbox_id)
    )
    if outcome is not None:
        return outcome
    recorded = await _record(ctx["pool"], claim, lambda c: outbox.record_sent(c, claim))
    logger.info(
        "SMS to %s (%s, %s %s part(s)): %s",
        sms.to[:-4] + "****",
        row["kind"],
        sms.encoding,
        sms.parts,
        where,
    )
    if not recorded:
        logger.warning(
            "outbox %s was sent, but the lease was lost: it may be sent again", claim.outbox_id
        )
    return "sent"


async def _unbuildable(ctx: dict[str, Any], claim: outbox.Claim, row: Any, error: Exception) -> str:
    logger.error(
        "outbox %s (%s, %s): cannot build the message: %s",
        claim.outbox_id,
        row["kind"],
        row["channel"],
        error,
    )
    text = f"cannot build the message: {error}"
    await _record(ctx["pool"], claim, lambda c: outbox.record_failed(c, claim, text))
    return "failed"


async def _deliver(
    ctx: dict[str, Any],
    claim: outbox.Claim,
    row: Any,
    send: Callable[[], Awaitable[str]],
) -> tuple[str | None, str]:
    """Send within the bound, whatever the transport does, so it ends inside the lease:
    (None, where it went), or (the outcome, recorded, "")."""
    config: MailConfig = ctx["mail_config"]
    try:
        async with asyncio.timeout(config.smtp_timeout):
            where = await send()
    except PermanentFailure as e:
        refusal = str(e)
        await _record(ctx["pool"], claim, lambda c: outbox.record_failed(c, claim, refusal))
        logger.error(
            "outbox %s (%s, %s) refused, not retried: %s",
            claim.outbox_id,
            row["kind"],
            row["channel"],
            refusal,
        )
        return "failed", ""
    except TemporaryFailure as e:
        return await _retry_later(ctx, claim, row, str(e)), ""
    except TimeoutError:
        late = f"not sent within {config.smtp_timeout:g} s"
        return await _retry_later(ctx, claim, row, late), ""
    return None, where


async def _retry_later(ctx: dict[str, Any], claim: outbox.Claim, row: Any, error: str) -> str:
    """Record a temporary failure with its backoff on the row, and queue the next try (the
    sweep queues it too, under the same job id, should this enqueue be lost)."""
    config: MailConfig = ctx["mail_config"]
    retry_in = config.backoff(row["attempts"] + 1)
    result = await _record(
        ctx["pool"],
        claim,
        lambda c: outbox.record_temporary_failure(
            c, claim, error, max_attempts=config.max_attempts, retry_in=retry_in
        ),
    )
    if result is None:  # not recorded (lost lease or PostgreSQL away): the sweep decides
        return "try failed, not recorded"
    attempts, gave_up = result
    if gave_up:
        logger.error("outbox %s failed after %s tries: %s", claim.outbox_id, attempts, error)
        return "failed"
    logger.warning(
        "outbox %s: try %s failed (%s); next in %.0f s", claim.outbox_id, attempts, error, retry_in
    )
    await enqueue_outbox_jobs(ctx["redis"], [(claim.outbox_id, row["claims"])], defer_by=retry_in)
    return f"retry in {retry_in:g} s"


async def _record(
    pool: asyncpg.Pool,
    claim: outbox.Claim,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
) -> T | None:
    """Record an outcome in its own short transaction; if PostgreSQL is away, keep trying
    while the lease lasts (after that the row is another worker's to send again). None when it
    could not be recorded."""
    loop = asyncio.get_running_loop()
    give_up_at = claim.until
    delay = 0.5
    while True:
        try:
            return await _with_conn(pool, work)
        except STORE_UNAVAILABLE as e:
            if loop.time() + delay >= give_up_at:
                logger.error(
                    "outbox %s: outcome not recorded, PostgreSQL unavailable (%r); the sweep "
                    "will try the row again",
                    claim.outbox_id,
                    e,
                )
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Enqueue every due row nobody is sending: what a crash, a lost Redis, a stopped worker or
    a worker killed mid-send (its lease ran out) left behind.

    Jobs are named by row id and claims, so a row whose job is still queued is not doubled,
    while a row whose sender died gets a job arq's stale in-progress key does not hold back.
    """
    config: MailConfig = ctx["mail_config"]
    rows = await _with_conn(
        ctx["pool"],
        lambda c: outbox.due(c, max_attempts=config.max_attempts, limit=config.sweep_batch),
    )
    await enqueue_outbox_jobs(ctx["redis"], rows, within=SWEEP_ENQUEUE_WITHIN)
    return len(rows)


async def expire_holds(ctx: dict[str, Any]) -> int:
    """Give back the desks of holds nobody confirmed, and tell their visitors."""
    from booking.holds import expire_overdue  # booking's rule; imported when it runs

    hold = timedelta(minutes=ctx["settings"].hold_minutes)
    async with ctx["pool"].acquire(timeout=ACQUIRE_WITHIN) as conn, conn.transaction():
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
