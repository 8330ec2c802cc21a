"""A fresh cluster (tests/cluster/harness.py) for each test: every test here breaks something.

`make test` runs the short version of each test; `make cluster` (CLUSTER_LONG=1) the long one.
Without HAProxy installed (`make haproxy`), the tests are skipped with that reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cluster.harness import Cluster, cluster, haproxy_binary

LONG = os.environ.get("CLUSTER_LONG", "") not in ("", "0")


def sized(short: int, long: int) -> int:
    """A figure of a test: its short value in `make test`, its long one in `make cluster`."""
    return long if LONG else short


@pytest.fixture
def stack(tmp_path) -> Iterator[Cluster]:
    yield from _stack(tmp_path)


@pytest.fixture
def proxied_stack(tmp_path) -> Iterator[Cluster]:
    """The same, the app reaching the primary and Redis through proxies the test controls."""
    yield from _stack(tmp_path, proxy_primary=True, proxy_redis=True)


def _stack(tmp_path, **options: bool) -> Iterator[Cluster]:
    if haproxy_binary() is None:
        pytest.skip("HAProxy is not installed: make haproxy")
    with cluster(tmp_path, **options) as c:
        print(
            f"\ncluster up in {c.timings['started']:.1f} s "
            f"(PostgreSQL primary + synchronous standby {c.timings['postgres']:.1f} s, "
            f"schema and seed {c.timings['schema']:.1f} s); "
            f"{len(c.web)} web replicas, {len(c.workers)} workers, HAProxy at {c.url}"
        )
        yield c
