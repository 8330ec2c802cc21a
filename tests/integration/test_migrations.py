"""The migration runner on real PostgreSQL: fresh apply, no-op re-apply, edits refused, races."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from core import db
from core.migrate import MIGRATIONS_DIR, MigrationError, apply_migrations


@pytest.fixture
async def empty_database(stores):
    url = await stores.create_database("wizyta_migrate")
    yield url
    await stores.drop_database(url)


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target)
    return target


async def _applied(url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("select name, checksum from schema_migrations order by name")
    finally:
        await conn.close()
    return [(r["name"], r["checksum"]) for r in rows]


async def test_a_fresh_database_gets_every_migration_in_order(empty_database):
    conn = await db.connect(empty_database)
    try:
        applied = await apply_migrations(conn)
        has_btree_gist = await conn.fetchval(
            "select exists(select 1 from pg_extension where extname = 'btree_gist')"
        )
    finally:
        await conn.close()
    names = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert applied == names
    assert [n for n, _ in await _applied(empty_database)] == names
    assert has_btree_gist


async def test_applying_again_changes_nothing(empty_database):
    conn = await db.connect(empty_database)
    try:
        await apply_migrations(conn)
        before = await _applied(empty_database)
        assert await apply_migrations(conn) == []
    finally:
        await conn.close()
    assert await _applied(empty_database) == before


async def test_an_edited_applied_migration_is_refused_and_nothing_new_runs(
    empty_database, migrations_copy
):
    conn = await db.connect(empty_database)
    try:
        await apply_migrations(conn, migrations_copy)
        first = sorted(migrations_copy.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        (migrations_copy / "9999_new_table.sql").write_text("create table later (id int);")
        with pytest.raises(MigrationError, match="edited after it was applied"):
            await apply_migrations(conn, migrations_copy)
        exists = await conn.fetchval("select to_regclass('later') is not null")
    finally:
        await conn.close()
    assert not exists


async def test_a_failing_migration_leaves_nothing_of_itself(empty_database, migrations_copy):
    (migrations_copy / "9998_half.sql").write_text(
        "create table half_done (id int);\nselect * from no_such_table;"
    )
    conn = await db.connect(empty_database)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await apply_migrations(conn, migrations_copy)
        half = await conn.fetchval("select to_regclass('half_done') is not null")
        recorded = await conn.fetchval(
            "select count(*) from schema_migrations where name = '9998_half.sql'"
        )
    finally:
        await conn.close()
    assert not half
    assert recorded == 0


async def test_concurrent_runners_apply_each_file_exactly_once(empty_database, migrations_copy):
    # A migration that fails when run twice proves nobody applied it a second time.
    (migrations_copy / "9997_once.sql").write_text(
        "create table applied_once (id int primary key); insert into applied_once values (1);"
    )
    conns = [await db.connect(empty_database) for _ in range(8)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, migrations_copy) for c in conns))
    finally:
        for c in conns:
            await c.close()
    applied_lists = [r for r in results if r]
    assert len(applied_lists) == 1, results
    names = [n for n, _ in await _applied(empty_database)]
    assert len(names) == len(set(names)) == len(list(migrations_copy.glob("*.sql")))


def test_a_misnamed_migration_file_is_refused(tmp_path: Path):
    from core.migrate import discover

    (tmp_path / "1_bad.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover(tmp_path)
