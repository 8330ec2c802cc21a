"""`make bench` still runs: its quick mode, end to end, in a process of its own.

It asserts that the suite finishes and prints every row of its table, never a time: figures
depend on the machine, and `make bench` (docs/benchmarks.md) is where they are read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    "slot engine: 1 point-service, 60 days",
    "slot engine: same, in CPU time",
    "slot engine (seeds): all",
    "GET /healthz",
    "GET /availability (14 days)",
    "availability / healthz throughput",
    "search: one point, 14 days",
    "search: Kraków on site, 14 days",
    "search (Kraków) / one point, rate",
    "GET /availability?city=Kraków",
    "feed: build",
    "GET feed (200)",
    "GET feed, If-None-Match (304)",
    "POST /bookings, 32 clients",
    "pgbench one-row insert txn",
    "bookings / pgbench",
    "rush: 60 draw entries at once",
    "rush: 60 draw answers at once",
    "rush: failed requests (not 202 / 200)",
    "rush: visits given / capacity",
    "soak: bookings for",
    "memory: web process RSS",
    "growth: visits generated",
    "growth: /availability",
    "growth: POST /bookings",
    "growth: day sheet",
    "growth: bookings during the purge",
    "memory: worker RSS",
    "overbooked visits, whole database",
]


# Not marked slow: it asserts no time, so it runs with the quick tests (a neighbour may
# stretch it, never fail it; its own bound is the 600 s timeout).
def test_the_quick_benchmark_run_finishes_and_prints_its_table():
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("benchmark ") for line in lines), done.stdout
    missing = [row for row in ROWS if not any(line.startswith(row) for line in lines)]
    assert not missing, f"rows missing: {missing}\n{done.stdout}"
