"""Rate limits shared by every web replica, counted in Redis with the `limits` library.

Limits are per client address and per person (e-mail, reference or account). A limit that is
reached answers 429 with Retry-After.

When Redis is down or hangs, the limiter fails open: after at most `CHECK_WITHIN` seconds the
request is let through uncounted, and the outage is logged once (then once a minute while it
lasts). Chosen because the limits only slow abuse down, they guard no invariant: PostgreSQL
still enforces every invariant (no double booking, the per-person limit of active visits, one
booking per idempotency key), while failing closed would turn a queue outage into a booking
outage for everyone.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from core import errors
from core.redis import COMMAND_TIMEOUT, CONNECT_TIMEOUT

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
    # "Send me my link again": a few mails per hour to one mailbox or about one visit.
    "link": {"address": (parse("10/minute"), parse("30/hour")), "person": (parse("3/hour"),)},
}


CHECK_WITHIN = 1.0
"""Seconds one request's rate-limit check may take, all its counters together."""
_LOG_OUTAGE_EVERY = 60.0

WHO = {"address": "from this network address", "person": "for this person or visit"}
#: Who "person" is, by action: the words a client reads in the 429.
PERSON = {
    "login": "for this account",
    "booking": "for this e-mail address",
    "waitlist": "for this e-mail address",
    "link": "for this e-mail address or visit",
    "confirm": "for this visit",
    "manage": "for this visit",
}


class TooManyRequests(errors.TooManyRequests):
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)


class RateLimits:
    def __init__(self, redis_url: str, *, enabled: bool = True) -> None:
        self.enabled = enabled
        uri = redis_url.replace("redis://", "async+redis://", 1)
        self._limiter = SlidingWindowCounterRateLimiter(
            RedisStorage(
                uri,
                implementation="redispy",
                key_prefix="wizyta:rl",
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=COMMAND_TIMEOUT,
            )
        )
        self._outage_logged_at: float | None = None

    async def check(self, action: str, *, address: str | None, person: str | None = None) -> None:
        """Count one request; raise TooManyRequests when any of the action's limits is spent."""
        if not self.enabled:
            return
        try:
            async with asyncio.timeout(CHECK_WITHIN):
                refused = await self._count(action, address=address, person=person)
        except Exception as e:  # the counter store is down or hangs: fail open (see above)
            self._log_outage(action, e)
            return
        if self._outage_logged_at is not None:
            self._outage_logged_at = None
            logger.warning("rate limit store is back; requests are counted again")
        if refused is not None:
            kind, retry = refused
            who = PERSON.get(action, WHO[kind]) if kind == "person" else WHO[kind]
            raise TooManyRequests(
                f"Too many requests {who}; try again in {retry} second{'s' * (retry != 1)}.",
                retry_after=retry,
            )

    async def _count(
        self, action: str, *, address: str | None, person: str | None
    ) -> tuple[str, int] | None:
        """Hit every counter of `action`; (who, seconds to wait) for the first one spent."""
        for kind, key in (("address", address), ("person", person)):
            if key is None:
                continue
            for item in POLICIES[action].get(kind, ()):
                if await self._limiter.hit(item, action, kind, key):
                    continue
                stats = await self._limiter.get_window_stats(item, action, kind, key)
                return kind, max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def _log_outage(self, action: str, error: Exception) -> None:
        now = time.monotonic()
        if self._outage_logged_at is None or now - self._outage_logged_at >= _LOG_OUTAGE_EVERY:
            self._outage_logged_at = now
            reason = str(error) or type(error).__name__
            logger.warning(
                "rate limit store unavailable (%s); %s and other requests are let through "
                "uncounted until it is back",
                reason,
                action,
            )
