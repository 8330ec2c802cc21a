"""The rush through several web processes: 2 and 4 `wizyta serve` behind HAProxy on this machine.

The rush section's draw entries and answers (rush.py; 9,800 of them: HAProxy's maxconn in
deploy/haproxy.cfg is 9,900, what a limit of 20,000 file descriptors allows), each at a point of
its own (bench-rush-2, bench-rush-4), through Debian's HAProxy running deploy/haproxy.cfg (with a
`server` line per further replica, as tests/cluster/harness.py writes it). CPU per request is
that of every web process and HAProxy together, and of PostgreSQL: on two cores, more processes
add no CPU, so what this shows is what the split costs (HAProxy's own work, a pool and a draw
group per process) against what it gains (two Python processes use both cores).
`python -m tests.benchmarks --only replicas`; not part of `make bench` (its ten minutes).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.benchmarks import rush
from tests.benchmarks.stack import REPLICA_RUSH_POINTS, Server, cpu_seconds

T = TypeVar("T")
#: deploy/haproxy.cfg's maxconn less a margin: a burst opens every connection before sending,
#: so one more than HAProxy takes would leave the others waiting until their request timeout
MAX_CLIENTS = 9800


@dataclass
class Pids:
    """CPU seconds of several process trees (the replicas and HAProxy) and of PostgreSQL."""

    pids: list[int]
    postmaster_pid: int | None

    def read(self) -> tuple[float, float]:
        return sum(cpu_seconds(p) for p in self.pids), cpu_seconds(self.postmaster_pid)

    def run(self, work):
        server_before, db_before = self.read()
        result = work()
        server_after, db_after = self.read()
        return result, server_after - server_before, db_after - db_before


@dataclass
class Through:
    host: str
    port: int
    process: None = None


def run(
    database_url: str,
    redis_url: str,
    folder: Path,
    clients: int,
    slots_per_desk: int,
    postmaster_pid: int | None,
) -> list[tuple[int, rush.Rush]]:
    from tests.cluster.harness import HAProxy

    results = []
    clients = min(clients, MAX_CLIENTS)
    for count, point in REPLICA_RUSH_POINTS.items():
        with contextlib.ExitStack() as stack:
            servers = [
                stack.enter_context(
                    Server(database_url, redis_url, folder, label=f"wizyta serve {n + 1}/{count}")
                )
                for n in range(count)
            ]
            balancer = HAProxy(servers, folder / f"haproxy-{count}.log")
            stack.callback(balancer.stop)
            pids = [s.process.pid for s in servers if s.process] + [balancer.process.pid]
            found = rush.run(
                Through(host="127.0.0.1", port=balancer.port),  # type: ignore[arg-type]
                database_url,
                clients,
                slots_per_desk,
                Pids(pids, postmaster_pid),  # type: ignore[arg-type]
                point=point,
            )
            results.append((count, found))
    return results
