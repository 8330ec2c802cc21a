"""Rate limits shared by every web replica, counted in Redis with the `limits` library.

Limits are per client address and per person (e-mail, reference or account). A limit that is
reached answers 429 with Retry-After.

A booking (and a draw entry, the same request) counts its three counters and spends its proof
of work's single-use marker in ONE Redis round trip, `check_at_once`: a Lua script of ours in
place of the library's one script call per counter (3 round trips, a 4th for the marker, and a
5th for the Retry-After of a refused counter). The library has no call that hits several limits
at once, so the script embeds the library's own Lua for its sliding window counter
(`acquire_sliding_window.lua`, and `sliding_window.lua` for the Retry-After), read from the
installed package, on the same keys (`wizyta:rl:{LIMITER/<action>/<kind>/<who>/<n>/<m>/<unit>}`
and `.../-1`): the same algorithm and the same counts as `check`, so either path sees what the
other counted. Every other action keeps the library's `check`.

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
import weakref
from dataclasses import dataclass
from importlib import resources
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from core import errors
from core.redis import COMMAND_TIMEOUT, CONNECT_TIMEOUT

#: the `limits` library's RedisStorage key_prefix below, shared by `check_at_once`
KEY_PREFIX = "wizyta:rl"

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
                key_prefix=KEY_PREFIX,
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


# ---------------------------------------------------------------------------- in one round trip


def _library_lua(name: str) -> str:
    return (resources.files("limits") / "resources" / "redis" / "lua_scripts" / name).read_text()


#: KEYS: two per counter (the previous window's, the current one's), the marker's last.
#: ARGV: counters by address, counters by person, "1" if there is a marker, its value, its
#: seconds; then each counter's amount and window in seconds.
#: Returns {0}: all passed; {1, i, previous count, previous ms, current count, current ms}:
#: counter i is spent (nothing after it was counted or set); {2}: the marker was set by
#: another request (the person's counters were not counted).
AT_ONCE_LUA = f"""
local function acquire(KEYS, ARGV)
{_library_lua("acquire_sliding_window.lua")}
end
local function window(KEYS, ARGV)
{_library_lua("sliding_window.lua")}
end
local by_address = tonumber(ARGV[1])
local counters = by_address + tonumber(ARGV[2])
local function hit(i)
    local keys = {{KEYS[2 * i - 1], KEYS[2 * i]}}
    local amount, seconds = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
    if acquire(keys, {{amount, seconds, 1}}) then
        return nil
    end
    local w = window(keys, {{seconds}})
    return {{1, i, w[1], w[2], w[3], w[4]}}
end
for i = 1, by_address do
    local spent = hit(i)
    if spent then return spent end
end
if ARGV[3] == "1" then
    local marker = KEYS[2 * counters + 1]
    if not redis.call("set", marker, ARGV[4], "NX", "EX", ARGV[5]) then
        if redis.call("get", marker) ~= ARGV[4] then return {{2}} end
    end
end
for i = by_address + 1, counters do
    local spent = hit(i)
    if spent then return spent end
end
return {{0}}
"""


@dataclass(frozen=True)
class SingleUse:
    """A key set once (SET NX EX) between the address's and the person's counters; the same
    `value` again is accepted (the same request sent again), another value is refused."""

    key: str
    value: bytes
    seconds: int


def _retry_after(item: RateLimitItem, window: list[Any]) -> int:
    """Seconds until `item` lets one more through: the library's
    SlidingWindowCounterRateLimiter.get_window_stats, on the window the script read."""
    previous, previous_ms, current, current_ms = window
    previous, current = int(previous or 0), int(current or 0)
    previous_in = max(0.0, float(previous_ms or 0)) / 1000
    current_in = max(0.0, float(current_ms or 0)) / 1000
    expiry = item.get_expiry()
    waits = [math.inf]
    if previous:
        waits.append(previous_in % (expiry / previous))
    if current:
        waits.append(current_in % expiry)
    wait = min(waits) if previous or current else 0.0
    return max(1, math.ceil(wait))


async def check_at_once(
    redis: Any,
    limits: RateLimits | None,
    action: str,
    *,
    address: str | None,
    person: str | None,
    single_use: SingleUse | None = None,
) -> bool:
    """Count `action`'s limits by address, set `single_use`'s marker, count the limits by
    person, in this order and in one Redis round trip (one EVALSHA; redis-py loads the script
    when Redis does not have it yet, the first time after Redis starts).

    Raises TooManyRequests (the same 429 as `RateLimits.check`) for the first counter spent;
    nothing after it is counted or set. Returns False when `single_use` was already set by
    another value (the person is then not counted), True otherwise.

    When Redis is down or does not answer in time: without `single_use`, the counters fail
    open as `check` does, after at most CHECK_WITHIN; with it, StoreUnavailable (503,
    Retry-After 5): a single use that cannot be checked is refused (booking/pow.py). The time
    a call with `single_use` may take is what the separate calls had at most, the counters'
    CHECK_WITHIN and then the marker's COMMAND_TIMEOUT: a busy event loop (a release's rush)
    that reads a reply late must not turn into 503s sooner than it did. `limits` None or
    disabled: no counter, only the marker; nothing at all: no Redis call.
    """
    counting = limits is not None and limits.enabled
    items: list[tuple[str, RateLimitItem]] = []
    keys: list[str] = []
    for kind, who in (("address", address), ("person", person)):
        if who is None or not counting:
            continue
        for item in POLICIES[action].get(kind, ()):
            current = f"{KEY_PREFIX}:{{{item.key_for(action, kind, who)}}}"
            items.append((kind, item))
            keys += [f"{current}/-1", current]
    if not items and single_use is None:
        return True
    by_address = sum(1 for kind, _ in items if kind == "address")
    args: list[Any] = [by_address, len(items) - by_address]
    if single_use is not None:
        keys.append(single_use.key)
        args += ["1", single_use.value, single_use.seconds]
    else:
        args += ["0", "", 0]
    for _, item in items:
        args += [item.amount, item.get_expiry()]
    within = CHECK_WITHIN if single_use is None else CHECK_WITHIN + COMMAND_TIMEOUT
    try:
        async with asyncio.timeout(within):
            answer = await _script(redis)(keys=keys, args=args)
    except Exception as e:  # down or hanging: see the docstring
        if limits is not None and counting:
            limits._log_outage(action, e)
        if single_use is not None:
            raise errors.StoreUnavailable(retry_after=5) from e
        return True
    if limits is not None and counting and limits._outage_logged_at is not None:
        limits._outage_logged_at = None
        logger.warning("rate limit store is back; requests are counted again")
    outcome = int(answer[0])
    if outcome == 1:
        kind, item = items[int(answer[1]) - 1]
        retry = _retry_after(item, list(answer[2:6]))
        who = PERSON.get(action, WHO[kind]) if kind == "person" else WHO[kind]
        raise TooManyRequests(
            f"Too many requests {who}; try again in {retry} second{'s' * (retry != 1)}.",
            retry_after=retry,
        )
    return outcome == 0


_SCRIPTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _script(redis: Any) -> Any:
    """The script registered on this client (redis-py: EVALSHA, loaded when missing)."""
    script = _SCRIPTS.get(redis)
    if script is None:
        script = _SCRIPTS[redis] = redis.register_script(AT_ONCE_LUA)
    return script
