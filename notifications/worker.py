"""The arq worker: one process type, any number of replicas, all state in PostgreSQL.

Jobs take ids, reload state, and are idempotent; cron jobs sweep up what a crash or a lost
Redis left behind. `create_worker(settings)` is used by `wizyta worker` and `wizyta run`.
Cron jobs are `unique`: with many replicas, each run happens in one of them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from arq import cron, func
from arq.worker import Worker

from core import db
from core.jobs import SEND_OUTBOX
from core.redis import redis_settings
from core.settings import Settings
from notifications.config import MailConfig
from notifications.jobs import (
    decide_draws,
    expire_holds,
    purge_personal_data,
    send_outbox,
    sweep_outbox,
)
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


POOL_SIZE = 4
"""PostgreSQL connections per worker, shared by all its jobs: a send holds one only for its
claim and its record (milliseconds each), never while SMTP talks."""


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["pool"] = await db.create_pool(
        settings.database_url,  # type: ignore[arg-type]
        min_size=1,
        max_size=POOL_SIZE,
    )
    transport = ctx["transport"]
    if isinstance(transport, FileTransport):
        logger.info("no SMTP_URL: mail is saved as .eml files in %s/new", transport.directory)


async def _shutdown(ctx: dict[str, Any]) -> None:
    pool = ctx.pop("pool", None)
    if pool is not None:
        await pool.close()


def worker_options(
    settings: Settings, *, config: MailConfig | None = None, transport: Transport | None = None
) -> dict[str, Any]:
    config = config or MailConfig.from_env()
    ctx: dict[str, Any] = {
        "settings": settings,
        "mail_config": config,
        # Built here, so a malformed SMTP_URL stops the worker before it connects anywhere.
        "transport": transport or transport_for(settings, config),
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
            cron(sweep_outbox, second=set(range(5, 60, 10)), run_at_startup=True, unique=True),
            cron(expire_holds, second=20, unique=True),
            cron(decide_draws, second={5, 35}, unique=True),
            cron(purge_personal_data, hour=3, minute=30, second=0, unique=True),
        ],
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": ctx,
        "redis_settings": redis_settings(settings.redis_url),  # type: ignore[arg-type]
        "max_jobs": config.max_jobs,
        "job_timeout": config.job_timeout,
        "keep_result": 60,
    }


def create_worker(
    settings: Settings,
    *,
    config: MailConfig | None = None,
    transport: Transport | None = None,
    **overrides: Any,
) -> Worker:
    """The worker; `overrides` go to arq's Worker (tests pass burst=True, poll_delay=...)."""
    options = worker_options(settings, config=config, transport=transport)
    return Worker(**(options | {"handle_signals": False} | overrides))
