"""Plain numbered SQL migrations, one transaction per file, guarded by an advisory lock.

Every replica may run `wizyta migrate` at start: the lock makes the second one wait and then
find nothing to do. A file that was edited after it was applied is refused before anything runs
(the one tolerated exception, SUPERSEDED below, is a past mistake of ours, not a way to edit).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x77697A7974  # "wizyt" — any fixed 64-bit number shared by all replicas
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    pass


#: Checksums a file once had in a release, accepted in place of its current one, by (file
#: name, the checksum the file has now): so any further edit of the file is still refused,
#: whichever version a database applied. This exists for one mistake only: 0011 was edited
#: after it had landed (a `setval` starting the version sequence at a random number was added)
#: and the last release shipped the edited file; the file is now restored byte for byte as it
#: first landed, and 0013 fixes forward. Databases made with either version must keep
#: starting, and nothing re-runs: both versions made the same objects, only the sequence's
#: first number differs. This table must never grow for a new reason: an applied migration is
#: never edited; a change is a new migration.
SUPERSEDED: dict[tuple[str, str], frozenset[str]] = {
    (
        "0011_point_config_versions.sql",
        "b9b2ed2694edd94b3f1c5f92ee8f439236d397163989218e40dbac8f0b5e9092",
    ): frozenset({"3ead4e1742f189b63985ff58bd326063e150190b8024b5c5910208f397f821bb"}),
}


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def matches(self, applied_checksum: str) -> bool:
        """Whether a database that recorded `applied_checksum` applied this very file."""
        return applied_checksum == self.checksum or applied_checksum in SUPERSEDED.get(
            (self.name, self.checksum), frozenset()
        )


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    migrations = []
    seen: set[str] = set()
    for path in files:
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql")
        if match.group(1) in seen:
            raise MigrationError(f"two migrations share the number {match.group(1)}")
        seen.add(match.group(1))
        migrations.append(Migration(path.name, path.read_text(encoding="utf-8")))
    return migrations


async def apply_migrations(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied now (empty when up to date)."""
    migrations = discover(directory)
    await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """
            create table if not exists schema_migrations (
                name text primary key,
                checksum text not null,
                applied_at timestamptz not null default now()
            )
            """
        )
        applied = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("select name, checksum from schema_migrations")
        }
        known = {m.name for m in migrations}
        for name in applied:
            if name not in known:
                raise MigrationError(f"migration {name} was applied but its file is missing")
        for m in migrations:
            if m.name in applied and not m.matches(applied[m.name]):
                raise MigrationError(
                    f"migration {m.name} was edited after it was applied; "
                    "add a new migration instead of changing an applied one"
                )
        done = []
        for m in migrations:
            if m.name in applied:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "insert into schema_migrations (name, checksum) values ($1, $2)",
                    m.name,
                    m.checksum,
                )
            done.append(m.name)
        return done
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
