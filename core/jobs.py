"""Enqueueing outbox jobs: the web app calls this after a commit; the worker's sweep does too.

The arq job id is the outbox row id, so a row is queued at most once at a time however many
processes enqueue it; the job itself reloads the row and does nothing if it was already sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from arq.connections import ArqRedis

logger = logging.getLogger("wizyta.jobs")

SEND_OUTBOX = "send_outbox"


def outbox_job_id(outbox_id: int) -> str:
    return f"outbox:{outbox_id}"


async def enqueue_outbox(redis: ArqRedis, outbox_ids: Iterable[int]) -> None:
    """Best effort: a lost enqueue is picked up by the worker's periodic sweep."""
    for outbox_id in outbox_ids:
        try:
            await redis.enqueue_job(SEND_OUTBOX, outbox_id, _job_id=outbox_job_id(outbox_id))
        except Exception:  # Redis down: the row is safe in PostgreSQL, the sweep will send it
            logger.warning("could not enqueue outbox row %s; the sweep will", outbox_id)
