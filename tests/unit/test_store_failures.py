"""What counts as a failing store (a 503 with Retry-After) rather than a bug (a 500)."""

from __future__ import annotations

import asyncpg

from core.problems import is_store_failure


def test_a_connection_whose_protocol_a_lost_server_left_stuck_is_a_store_failure():
    # What asyncpg raised on a read outside a transaction block during the failover test
    # (tests/cluster/test_primary_failover.py), answered 500 until this was counted.
    stuck = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert is_store_failure(stuck)


def test_other_internal_client_errors_stay_bugs():
    assert not is_store_failure(asyncpg.exceptions.InternalClientError("something else"))
    assert not is_store_failure(ValueError("another operation"))
