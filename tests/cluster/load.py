"""A booking load through the balancer, as many visitors would make it, and its figures.

Every booking has an Idempotency-Key of its own; on a 5xx or a broken connection the client
sends the same request again with the same key (what the API asks clients to do), until it is
answered 201 or 409 or the load's deadline passes. So each key ends with one answer, and an
acknowledged booking (201) is one the service has promised to keep.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx


@dataclass
class Ticket:
    """One visitor's booking: a place in a slot, an e-mail of their own."""

    body: dict
    key: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Outcome:
    ticket: Ticket
    status: int | None = None  # the last answer: 201, 409, or None if none came in time
    reference: str | None = None
    answered_at: float = 0.0  # time.monotonic() of the final answer
    tries: int = 0


async def tickets(http: httpx.AsyncClient, count: int, *, days: int = 28) -> list[Ticket]:
    """`count` bookings for real free places: each slot of one on-site service per point, in Polish,
    as many times as it has free desks, shuffled (a few meet another service's visit: 409)."""
    today = dt.date.today()
    places: list[dict] = []
    points = (await http.get("/api/v1/points")).json()
    for point in points:
        point_id = point["id"]
        offers = (await http.get(f"/api/v1/points/{point_id}/services")).json()
        on_site = [o for o in offers if "on_site" in o["channels"]]
        if not on_site:
            continue  # a point seen by phone and video only (Dekerta 24): no visits on site
        service_id = on_site[0]["id"]
        response = await http.get(
            f"/api/v1/points/{point_id}/availability",
            params={
                "service": service_id,
                "language": "pl",
                "from": str(today),
                "to": str(today + dt.timedelta(days=days - 1)),
            },
        )
        assert response.status_code == 200, response.text
        for day in response.json()["days"]:
            for slot in day["slots"]:
                places += [
                    {
                        "point_id": point_id,
                        "service_id": service_id,
                        "start": slot["start"],
                        "language": "pl",
                    }
                ] * slot["free"]
    assert len(places) >= count, f"only {len(places)} free places for {count} bookings"
    random.Random(20).shuffle(places)
    return [
        Ticket(place | {"visitor": {"name": "Visitor", "email": f"v{i}@example.org"}})
        for i, place in enumerate(places[:count])
    ]


class BookingLoad:
    """`concurrency` visitors working through `tickets`; the figures as it goes."""

    def __init__(
        self,
        url: str,
        tickets: list[Ticket],
        *,
        concurrency: int,
        deadline: float,
        pause: float = 0.0,
    ):
        self.url = url
        self.pause = pause  # seconds each visitor waits between bookings: a load that lasts
        self.queue: collections.deque[Ticket] = collections.deque(tickets)
        self.concurrency = concurrency
        self.deadline = deadline  # seconds a ticket may keep retrying
        self.outcomes: list[Outcome] = []
        self.answers: collections.Counter[str] = collections.Counter()  # every answer, retries too
        self.slowest = 0.0
        self.unexpected: list[str] = []  # the first few 5xx other than 502 and 503, in full
        self.first_201_after: dict[str, float] = {}
        self._marks: dict[str, float] = {}
        #: Every answer, retries too: (sent, answered, answer), time.monotonic() each.
        self.timeline: list[tuple[float, float, str]] = []

    @property
    def acknowledged(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 201]

    def mark(self, name: str) -> float:
        """Note a moment (a kill, a promotion); the load records its first 201 after it."""
        self._marks[name] = now = time.monotonic()
        return now

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=self.url, timeout=30, limits=limits) as http:
            await asyncio.gather(*(self._visitor(http) for _ in range(self.concurrency)))

    async def _visitor(self, http: httpx.AsyncClient) -> None:
        while self.queue:
            outcome = Outcome(self.queue.popleft())
            self.outcomes.append(outcome)
            await self._book(http, outcome)
            await asyncio.sleep(self.pause)

    async def _book(self, http: httpx.AsyncClient, outcome: Outcome) -> None:
        started = time.monotonic()
        while time.monotonic() - started < self.deadline:
            outcome.tries += 1
            sent = time.monotonic()
            try:
                response = await http.post(
                    "/api/v1/bookings",
                    json=outcome.ticket.body,
                    headers={"Idempotency-Key": outcome.ticket.key},
                )
            except httpx.TransportError as e:
                self.answers[type(e).__name__] += 1
                self.timeline.append((sent, time.monotonic(), type(e).__name__))
                await asyncio.sleep(0.2)
                continue
            finally:
                self.slowest = max(self.slowest, time.monotonic() - sent)
            self.answers[str(response.status_code)] += 1
            self.timeline.append((sent, time.monotonic(), str(response.status_code)))
            if response.status_code >= 500:
                if response.status_code not in (502, 503) and len(self.unexpected) < 5:
                    self.unexpected.append(f"{response.status_code} {response.text[:500]}")
                await asyncio.sleep(0.2)
                continue
            outcome.status = response.status_code
            outcome.answered_at = time.monotonic()
            if response.status_code == 201:
                outcome.reference = response.json()["reference"]
                for name, at in self._marks.items():
                    if sent >= at and name not in self.first_201_after:
                        self.first_201_after[name] = outcome.answered_at - at
            return

    async def finish_after(self, more: int, within: float = 60) -> None:
        """Let `more` further bookings be acknowledged, then hand out no new tickets (each
        visitor finishes the booking it is on): a test that has seen what it waited for does
        not wait for the rest of its tickets."""
        target = len(self.acknowledged) + more

        async def reached() -> bool:
            return len(self.acknowledged) >= target

        await until(reached, within=within)
        self.queue.clear()

    def answered_between(self, start: float, end: float) -> collections.Counter[str]:
        """The answers that came between two moments (a fault and its end), by status."""
        return collections.Counter(a for _, at, a in self.timeline if start <= at < end)

    def summary(self) -> str:
        final = collections.Counter(str(o.status) for o in self.outcomes)
        retries = sum(o.tries - 1 for o in self.outcomes)
        return (
            f"{len(self.outcomes)} bookings, final answers {dict(sorted(final.items()))}; "
            f"every answer incl. retries {dict(sorted(self.answers.items()))}; "
            f"{retries} retries; slowest answer {self.slowest:.2f} s"
            + "".join(f"\n  unexpected: {u}" for u in self.unexpected)
        )


async def until(check, within: float, step: float = 0.1) -> float:
    """Seconds until `check()` (a coroutine function) is true; fails after `within`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(step)
    return time.monotonic() - started
