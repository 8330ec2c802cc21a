"""A booking's rate limits and proof-of-work marker, timed alone in this process against a real
Redis: the calls `hold()` made before (the `limits` library's check for the address's two
counters, the marker's SET NX, the library's check for the person's counter: 4 round trips)
against `check_at_once` (one EVALSHA). CPU and wall time per booking, in alternating rounds.

Usage: python -m tests.benchmarks.guard_checks [ROUNDS] [BOOKINGS_PER_ROUND]
(REDIS_URL when set, else an embedded Redis in a temporary directory.) Not in `make bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from core.embedded import EmbeddedRedis
from core.ratelimit import RateLimits, SingleUse, check_at_once
from core.redis import create_redis
from core.settings import Settings


async def _run(url: str, rounds: int, per_round: int) -> dict[str, list[tuple[float, float]]]:
    redis = await create_redis(url)
    limits = RateLimits(url)
    await limits.check("booking", address="warm-up")  # the library's scripts loaded
    await check_at_once(redis, limits, "booking", address="warm-up-2", person="warm-up")
    found: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    try:
        for n in range(rounds):
            for kind in ("before", "after") if n % 2 == 0 else ("after", "before"):
                tag = secrets.token_hex(4)
                cpu, wall = time.process_time(), time.perf_counter()
                for i in range(per_round):  # an address and a person each, never refused
                    address, person = f"{kind}-{tag}-{i}", f"person-{kind}-{tag}-{i}"
                    marker = SingleUse(f"wizyta:pow:bench-{kind}-{tag}-{i}", b"x" * 32, 600)
                    if kind == "before":
                        await limits.check("booking", address=address)
                        await redis.set(marker.key, marker.value, nx=True, ex=marker.seconds)
                        await limits.check("booking", address=None, person=person)
                    else:
                        await check_at_once(
                            redis,
                            limits,
                            "booking",
                            address=address,
                            person=person,
                            single_use=marker,
                        )
                found[kind].append(
                    (
                        (time.process_time() - cpu) / per_round * 1e6,
                        (time.perf_counter() - wall) / per_round * 1e6,
                    )
                )
    finally:
        await redis.aclose()
    return found


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 6
    per_round = int(argv[1]) if len(argv) > 1 else 2000
    with contextlib.ExitStack() as stack:
        url = Settings.from_env().redis_url or stack.enter_context(
            EmbeddedRedis(Path(stack.enter_context(tempfile.TemporaryDirectory())), persist=False)
        )
        found = asyncio.run(_run(url, rounds, per_round))
    for kind, figures in found.items():
        cpu = [round(c) for c, _ in figures]
        wall = [round(w) for _, w in figures]
        print(
            f"{kind:6} CPU us/booking {cpu} (median {statistics.median(cpu):.0f}); "
            f"wall us/booking {wall} (median {statistics.median(wall):.0f})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
