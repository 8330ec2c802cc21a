"""Plain numbered SQL migrations, one transaction per file, guarded by an advisory lock.

Every replica may run `wizyta migrate` at start: the lock makes the second one wait and then
find nothing to do. A file that was edited after it was applied is refused before anything runs.
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


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


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
            if m.name in applied and applied[m.name] != m.checksum:
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
