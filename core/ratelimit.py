"""Rate limits shared by every web replica, counted in Redis with the `limits` library.

Limits are per client address and per person (e-mail, reference or account). A limit that is
reached answers 429 with Retry-After. If Redis cannot be reached the request is let through
(and logged): booking stays open when the counter store is down, while PostgreSQL still
enforces every invariant.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from core.problems import DomainError

logger = logging.getLogger("wizyta.ratelimit")

#: What each protected action allows, per client address and per person.
POLICIES: dict[str, dict[str, tuple[RateLimitItem, ...]]] = {
    "booking": {
        "address": (parse("10/minute"), parse("60/hour")),
        "person": (parse("5/hour"),),
    },
    "confirm": {"address": (parse("30/minute"),), "person": (parse("10/minute"),)},
    "manage": {"address": (parse("60/minute"),), "person": (parse("30/minute"),)},
    "login": {"address": (parse("20/minute"),), "person": (parse("10/minute"),)},
    "challenge": {"address": (parse("30/minute"),)},
    "waitlist": {"address": (parse("10/minute"),), "person": (parse("5/hour"),)},
}


WHO = {"address": "from this network address", "person": "for this person or visit"}
#: Who "person" is, by action: the words a client reads in the 429.
PERSON = {
    "login": "for this account",
    "booking": "for this e-mail address",
    "waitlist": "for this e-mail address",
    "confirm": "for this visit",
    "manage": "for this visit",
}


class TooManyRequests(DomainError):
    status, title, type_slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class RateLimits:
    def __init__(self, redis_url: str, *, enabled: bool = True) -> None:
        self.enabled = enabled
        uri = redis_url.replace("redis://", "async+redis://", 1)
        self._limiter = SlidingWindowCounterRateLimiter(
            RedisStorage(uri, implementation="redispy", key_prefix="wizyta:rl")
        )

    async def check(self, action: str, *, address: str | None, person: str | None = None) -> None:
        """Count one request; raise TooManyRequests when any of the action's limits is spent."""
        if not self.enabled:
            return
        for kind, key in (("address", address), ("person", person)):
            if key is None:
                continue
            for item in POLICIES[action].get(kind, ()):
                try:
                    allowed = await self._limiter.hit(item, action, kind, key)
                    if allowed:
                        continue
                    stats = await self._limiter.get_window_stats(item, action, kind, key)
                except Exception:  # the counter store is down: let the request through
                    logger.warning("rate limit store unavailable; %s not counted", action)
                    return
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                who = PERSON.get(action, WHO[kind]) if kind == "person" else WHO[kind]
                raise TooManyRequests(
                    f"Too many requests {who}; try again in {retry} second{'s' * (retry != 1)}.",
                    retry_after=retry,
                )
