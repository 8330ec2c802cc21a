"""The arq Redis pool; Redis carries only the job queue (and, later, rate-limit counters)."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 0
    return settings


async def create_redis(url: str) -> ArqRedis:
    return await create_pool(redis_settings(url))
