"""The arq worker: one process type, any number of replicas, all state in PostgreSQL.

Jobs take ids, reload state, and are idempotent; cron jobs sweep up what a crash or a lost
Redis left behind. `create_worker(settings)` is used by `wizyta worker` and `wizyta run`.
"""

from __future__ import annotations

import time
from typing import Any

from arq import cron
from arq.worker import Worker

from core import db
from core.redis import redis_settings
from core.settings import Settings

HEARTBEAT_KEY = "wizyta:worker:heartbeat"


async def heartbeat(ctx: dict[str, Any]) -> float:
    """Record that a worker is alive, so operators (and /readyz) can see the queue is served."""
    now = time.time()
    await ctx["redis"].set(HEARTBEAT_KEY, str(now), ex=300)
    return now


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["pool"] = await db.create_pool(settings.database_url, min_size=1, max_size=5)  # type: ignore[arg-type]


async def _shutdown(ctx: dict[str, Any]) -> None:
    pool = ctx.pop("pool", None)
    if pool is not None:
        await pool.close()


def worker_options(settings: Settings) -> dict[str, Any]:
    return {
        "functions": [heartbeat],
        "cron_jobs": [cron(heartbeat, second={0, 30}, run_at_startup=True, unique=True)],
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": {"settings": settings},
        "redis_settings": redis_settings(settings.redis_url),  # type: ignore[arg-type]
        "max_jobs": 20,
        "job_timeout": 60,
        "keep_result": 60,
    }


def create_worker(settings: Settings, **overrides: Any) -> Worker:
    options = worker_options(settings) | {"handle_signals": False} | overrides
    return Worker(**options)
