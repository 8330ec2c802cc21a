"""The arq worker: one process type, any number of replicas, all state in PostgreSQL.

Jobs take ids, reload state, and are idempotent; cron jobs sweep up what a crash or a lost
Redis left behind. `create_worker(settings)` is used by `wizyta worker` and `wizyta run`.
Cron jobs are `unique`: with many replicas, each run happens in one of them.

A worker rides out a store outage. arq's own loop ends the process on the first lost Redis
connection (its poll loop and its shutdown both raise), so `SteadyWorker` waits Redis out
instead: it backs off, logs the outage once when it starts and once when it ends, and goes
on. A PostgreSQL outage fails jobs, which are retried with a backoff; the cron keeps ticking.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import signal
import time
from typing import Any

from arq import cron, func
from arq.utils import poll
from arq.worker import Worker

from core import db
from core.jobs import SEND_OUTBOX
from core.redis import COMMAND_TIMEOUT, UNAVAILABLE, redis_client
from core.settings import Settings
from notifications.config import MailConfig
from notifications.jobs import (
    STORE_UNAVAILABLE,
    decide_draws,
    expire_holds,
    purge_personal_data,
    send_outbox,
    sweep_outbox,
)
from notifications.sms import SmsSender
from notifications.sms_gateways import FileSmsSender, SmsapiSender
from notifications.transport import FileTransport, SmtpTransport, Transport

logger = logging.getLogger("wizyta.notifications")

HEARTBEAT_KEY = "wizyta:worker:heartbeat"


async def heartbeat(ctx: dict[str, Any]) -> float:
    """Record that a worker is alive, so operators (and /readyz) can see the queue is served."""
    now = time.time()
    await ctx["redis"].set(HEARTBEAT_KEY, str(now), ex=300)
    return now


def transport_for(settings: Settings, config: MailConfig) -> Transport:
    """SMTP when SMTP_URL is set; otherwise files under WIZYTA_DATA_DIR/mail to read by hand."""
    if not settings.smtp_url:
        return FileTransport(settings.data_dir / "mail")
    try:
        return SmtpTransport.from_url(settings.smtp_url, timeout=config.smtp_timeout)
    except ValueError as e:
        raise SystemExit(f"wizyta: {e}") from e


def sms_sender_for(settings: Settings, config: MailConfig) -> SmsSender:
    """SMSAPI.pl when SMS_URL is set; otherwise files under WIZYTA_DATA_DIR/sms to read by hand."""
    if not settings.sms_url:
        return FileSmsSender(settings.data_dir / "sms")
    try:
        return SmsapiSender.from_url(
            settings.sms_url, timeout=min(config.sms_timeout, config.smtp_timeout)
        )
    except ValueError as e:
        raise SystemExit(f"wizyta: {e}") from e


def skipped_while_store_is_down(job: Any) -> Any:
    """A cron job's tick with PostgreSQL away is skipped with one log line (no traceback);
    the next tick does the work."""

    @functools.wraps(job)
    async def tick(ctx: dict[str, Any]) -> Any:
        try:
            return await job(ctx)
        except STORE_UNAVAILABLE as e:
            logger.warning("%s skipped: PostgreSQL unavailable (%r)", job.__name__, e)
            return None

    return tick


POOL_SIZE = 4
"""PostgreSQL connections per worker, shared by all its jobs: a send holds one only for its
claim and its record (milliseconds each), never while SMTP talks."""


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    # min_size=0: nothing connects yet, so a worker starts (and stays up) while PostgreSQL is
    # away; jobs connect when they run.
    ctx["pool"] = await db.create_pool(
        settings.database_url,  # type: ignore[arg-type]
        min_size=0,
        max_size=POOL_SIZE,
        command_timeout=settings.db_command_timeout,
    )
    transport = ctx["transport"]
    if isinstance(transport, FileTransport):
        logger.info("no SMTP_URL: mail is saved as .eml files in %s/new", transport.directory)
    sender = ctx["sms_sender"]
    if isinstance(sender, FileSmsSender):
        logger.info("no SMS_URL: SMS are saved as .txt files in %s/new", sender.directory)


async def _shutdown(ctx: dict[str, Any]) -> None:
    pool = ctx.pop("pool", None)
    if pool is not None:
        await pool.close()


def worker_options(
    settings: Settings,
    *,
    config: MailConfig | None = None,
    transport: Transport | None = None,
    sms_sender: SmsSender | None = None,
) -> dict[str, Any]:
    config = config or MailConfig.from_env()
    ctx: dict[str, Any] = {
        "settings": settings,
        "mail_config": config,
        # Built here, so a malformed SMTP_URL or SMS_URL stops the worker before it connects.
        "transport": transport or transport_for(settings, config),
        "sms_sender": sms_sender or sms_sender_for(settings, config),
    }
    return {
        "functions": [
            heartbeat,
            # arq's own try limit only backs up the row's: crashes count there, not on the row.
            func(send_outbox, name=SEND_OUTBOX, max_tries=config.max_attempts + 5, keep_result=0),
            sweep_outbox,
            expire_holds,
            decide_draws,
            purge_personal_data,
        ],
        "cron_jobs": [
            cron(heartbeat, second={0, 30}, run_at_startup=True, unique=True),
            # Every 10 s: a row whose sender died waits at most its lease and one more tick.
            cron(
                skipped_while_store_is_down(sweep_outbox),
                second=set(range(5, 60, 10)),
                run_at_startup=True,
                unique=True,
            ),
            cron(skipped_while_store_is_down(expire_holds), second=20, unique=True),
            cron(skipped_while_store_is_down(decide_draws), second={5, 35}, unique=True),
            cron(purge_personal_data, hour=3, minute=30, second=0, unique=True),
        ],
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": ctx,
        "redis_url": settings.redis_url,
        "max_jobs": config.max_jobs,
        "job_timeout": config.job_timeout,
        "keep_result": 60,
    }


def create_worker(
    settings: Settings,
    *,
    config: MailConfig | None = None,
    transport: Transport | None = None,
    sms_sender: SmsSender | None = None,
    **overrides: Any,
) -> Worker:
    """The worker; `overrides` go to arq's Worker (tests pass burst=True, poll_delay=...)."""
    options = worker_options(settings, config=config, transport=transport, sms_sender=sms_sender)
    return SteadyWorker(**(options | {"handle_signals": False} | overrides))


# ------------------------------------------------------------------------ riding out Redis


class Outage:
    """Waits out a store that does not answer: one log line when the outage starts, one when
    it ends, and a growing, jittered pause between tries (so replicas do not retry in step)."""

    FIRST_PAUSE, LONGEST_PAUSE = 0.5, 10.0

    def __init__(self, store: str) -> None:
        self.store = store
        self.since: float | None = None
        self._pause = self.FIRST_PAUSE

    async def wait(self, error: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            reason = str(error) or type(error).__name__
            logger.warning("%s unavailable (%s); retrying until it is back", self.store, reason)
        await asyncio.sleep(self._pause * random.uniform(0.8, 1.2))
        self._pause = min(self._pause * 2, self.LONGEST_PAUSE)

    def over(self) -> None:
        if self.since is not None:
            logger.warning("%s is back after %.1f s", self.store, time.monotonic() - self.since)
            self.since, self._pause = None, self.FIRST_PAUSE


class SteadyWorker(Worker):
    """arq's Worker, unchanged while Redis answers; when it does not, the worker waits it out.

    Where arq raises on a lost connection (read against arq 0.28's worker.py):
    - `main`: the first connection (arq retries `conn_retries` times, then raises), and every
      poll: `_poll_iteration` (reading the queue, `start_jobs`, the health check, enqueueing
      the cron jobs), the errors of finished `run_job` tasks it re-raises (their bookkeeping
      in Redis), and `zcard` in burst mode. `main` is arq's own, with each poll guarded.
    - `start_jobs` takes a slot (`sem`, `job_counter`) for the job it is starting and gives it
      back only on success: an outage there would leak one slot each time, until the worker
      starts nothing. The slot is given back.
    - `close`: it re-raises a job's error and deletes the health key; here it does neither.

    A job whose bookkeeping was lost keeps arq's in-progress key until it expires; outbox rows
    do not wait for that (the sweep names its jobs by claims, core/jobs.py).
    """

    def __init__(self, *args: Any, redis_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis_url = redis_url
        self.redis_outage = Outage("Redis")
        #: Anything else a poll raises (a job's bookkeeping in Redis failing in a way arq did
        #: not foresee, an unexpected reply after a connection came back): logged with its
        #: traceback and waited out like an outage. Before, it ended `main`, and with it the
        #: whole `wizyta worker` process, so mail stopped until someone restarted it.
        self.trouble = Outage("The job queue")
        #: Set by a shutdown (`handle_sig`). The poll loop ends on it by itself: arq ends it
        #: by cancelling its task, and a cancellation that lands as a job finishes can be lost
        #: (asyncio.wait_for in Python 3.11), which left the loop polling a closed pool.
        self.stopping = False

    def handle_sig(self, signum: int) -> None:
        self.stopping = True
        super().handle_sig(signum)

    async def main(self) -> None:
        if self._pool is None:
            self._pool = redis_client(self.redis_url)  # connects on its first command
        while True:
            try:
                await self.pool.ping()
                break
            except UNAVAILABLE as e:
                await self.redis_outage.wait(e)
        self.redis_outage.over()
        logger.info("worker started: %s", ", ".join(self.functions))
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)

        async for _ in poll(self.poll_delay_s):
            if self.stopping:
                return
            try:
                await self._poll_iteration()
                if self.burst and await self._burst_done():
                    return
            except UNAVAILABLE as e:
                await self.redis_outage.wait(e)
            except asyncio.CancelledError as e:
                this = asyncio.current_task()
                if self.stopping or (this is not None and this.cancelling()):
                    raise  # this loop is being stopped
                # A job's own task was cancelled and arq re-raised that here: not a reason to
                # end the worker (it ended the process, as a clean exit nobody asked for).
                logger.warning("a job's task was cancelled; the worker goes on")
                await self.trouble.wait(e)
            except Exception as e:  # see `trouble`
                if self.stopping:
                    return  # what failed is the shutdown's own doing (its pool is closed)
                logger.exception("the worker's poll failed; it goes on")
                await self.trouble.wait(e)
            else:
                self.redis_outage.over()
                self.trouble.over()

    async def _burst_done(self) -> bool:
        if 0 <= self.max_burst_jobs <= self._jobs_started() or not await self.pool.zcard(
            self.queue_name
        ):
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            return True
        return False

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except UNAVAILABLE:
            self.job_counter -= 1  # the slot arq took for the job it could not start
            self.sem.release()
            raise

    async def close(self) -> None:
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                await self.pool.delete(self.health_check_key)
        except UNAVAILABLE:
            pass  # it expires by itself
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose()
        self._pool = None
