"""The `wizyta` command line against the test database."""

from __future__ import annotations

import os
import subprocess
import sys


def _wizyta(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-c", "import app; app.main()", *args],
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_reports_nothing_to_do_on_a_migrated_database(database_url):
    result = _wizyta("migrate", DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "nothing, up to date" in result.stdout


async def test_seed_twice_is_idempotent(database_url, pool):
    first = _wizyta("seed", DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    counts = await pool.fetchval("select count(*) from calendar_rules")
    second = _wizyta("seed", DATABASE_URL=database_url)
    assert second.returncode == 0, second.stderr
    assert await pool.fetchval("select count(*) from calendar_rules") == counts > 0
    assert await pool.fetchval("select count(*) from points") == 6


async def test_seed_keeps_what_staff_changed_unless_told_to_overwrite(database_url, seeded):
    await seeded.execute(
        "update calendar_rules set closes = '12:00' where id = 'krakow-basztowa-22-mon-2023'"
    )
    _wizyta("seed", DATABASE_URL=database_url)
    kept = await seeded.fetchval(
        "select closes::text from calendar_rules where id = 'krakow-basztowa-22-mon-2023'"
    )
    assert kept == "12:00:00"
    _wizyta("seed", "--overwrite", DATABASE_URL=database_url)
    restored = await seeded.fetchval(
        "select closes::text from calendar_rules where id = 'krakow-basztowa-22-mon-2023'"
    )
    assert restored == "18:00:00"


def test_purge_says_how_many_visits_it_cleaned(database_url, pool):
    result = _wizyta("purge", DATABASE_URL=database_url, RETENTION_DAYS="30")
    assert result.returncode == 0, result.stderr
    assert "removed from 0 visit(s) older than 30 days" in result.stdout
