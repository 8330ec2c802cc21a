"""The migration runner on real PostgreSQL: fresh apply, no-op re-apply, edits refused, races,
and an upgrade of a database made by the previous release's migrations."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from core import db
from core.migrate import MIGRATIONS_DIR, SUPERSEDED, MigrationError, apply_migrations, discover
from scheduling import config

#: The migrations exactly as the previous release shipped them (main at 7a139b0): 0001..0011,
#: with 0011 as it was edited after it had landed.
PREVIOUS_RELEASE = Path(__file__).parent / "fixtures" / "migrations_7a139b0"
#: sha256 of 0011 as it first landed (c42664f) and as the previous release shipped it.
LANDED_0011 = "b9b2ed2694edd94b3f1c5f92ee8f439236d397163989218e40dbac8f0b5e9092"
EDITED_0011 = "3ead4e1742f189b63985ff58bd326063e150190b8024b5c5910208f397f821bb"


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


def test_0011_is_the_file_as_it_landed_and_only_its_edit_is_tolerated():
    [m] = [m for m in discover() if m.name == "0011_point_config_versions.sql"]
    assert m.checksum == LANDED_0011
    [old] = [m for m in discover(PREVIOUS_RELEASE) if m.name == "0011_point_config_versions.sql"]
    assert old.checksum == EDITED_0011
    # One past mistake, one checksum: this table never grows for a new reason.
    assert {("0011_point_config_versions.sql", LANDED_0011): frozenset({EDITED_0011})} == SUPERSEDED


async def _insert_a_point_a_service_a_desk_and_a_visit(conn: asyncpg.Connection) -> None:
    """Rows as the previous release's schema takes them, written out in its own columns."""
    await conn.execute(
        """
        insert into points (id, names, address, city, languages)
        values ('krakow-stara-1', '{"pl": "Stara 1", "en": "Stara 1"}',
                '{"street": "Stara 1", "city": "Kraków"}', 'Kraków', '{pl,en,uk}');
        insert into services (id, names) values ('everyday-matters', '{"pl": "Sprawy"}');
        insert into point_services (point_id, service_id, duration_minutes, step_minutes,
                                    languages)
        values ('krakow-stara-1', 'everyday-matters', 30, 30, '{pl,uk}');
        insert into desks (id, point_id, names, languages)
        values ('stara-desk-1', 'krakow-stara-1', '{"pl": "Pokój 1"}', '{pl,uk}');
        insert into calendar_rules (id, point_id, kind, rrule, opens, closes)
        values ('stara-hours', 'krakow-stara-1', 'hours', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
                '08:00', '16:00');
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, visitor_email_key,
                              status, manage_token_hash, confirmed_at)
        values ('KRK-7Q4M-X2', 'krakow-stara-1', 'everyday-matters', 'stara-desk-1',
                '2031-01-07 08:00+00', '2031-01-07 08:30+00', 'uk', 'Olena K.',
                'olena@example.test', 'olena@example.test', 'confirmed', '\\x00', now());
        """
    )


async def test_a_database_of_the_previous_release_is_upgraded_and_keeps_its_data(
    empty_database,
):
    conn = await db.connect(empty_database)
    try:
        before = await apply_migrations(conn, PREVIOUS_RELEASE)
        assert before == sorted(p.name for p in PREVIOUS_RELEASE.glob("*.sql"))
        await _insert_a_point_a_service_a_desk_and_a_visit(conn)
        version = await conn.fetchval(
            "select version from point_config_versions where point_id = 'krakow-stara-1'"
        )

        upgraded = await apply_migrations(conn)

        new = sorted({p.name for p in MIGRATIONS_DIR.glob("*.sql")} - set(before))
        assert upgraded == new
        visit = await conn.fetchrow("select * from bookings where reference = 'KRK-7Q4M-X2'")
        assert visit["visitor_name"] == "Olena K." and visit["status"] == "confirmed"
        assert visit["desk_id"] == "stara-desk-1"
        assert await conn.fetchval("select count(*) from calendar_rules") == 1
        assert (
            await conn.fetchval(
                "select version from point_config_versions where point_id = 'krakow-stara-1'"
            )
            == version
        )
        assert await apply_migrations(conn) == []
        kept, _ = await config.current(conn, "krakow-stara-1")  # and it serves
        assert kept.version == version and [d.id for d in kept.desks] == ["stara-desk-1"]
    finally:
        await conn.close()
    recorded = dict(await _applied(empty_database))
    assert recorded["0011_point_config_versions.sql"] == EDITED_0011  # what was applied


async def test_a_database_of_the_previous_release_still_refuses_any_other_edit_of_0011(
    empty_database, migrations_copy
):
    conn = await db.connect(empty_database)
    try:
        await apply_migrations(conn, PREVIOUS_RELEASE)
        edited = migrations_copy / "0011_point_config_versions.sql"
        edited.write_text(edited.read_text() + "\n-- edited again\n")
        with pytest.raises(MigrationError, match=r"0011_point_config_versions\.sql was edited"):
            await apply_migrations(conn, migrations_copy)
        exists = await conn.fetchval(
            "select to_regprocedure('visit_status(text, timestamptz)') is not null"
        )
    finally:
        await conn.close()
    assert not exists  # nothing after the refusal ran


async def test_the_superseded_checksum_is_accepted_for_0011_only(empty_database, tmp_path):
    # The edited 0011's exact bytes under another name are just an edited file.
    renamed = tmp_path / "migrations"
    shutil.copytree(PREVIOUS_RELEASE, renamed)
    conn = await db.connect(empty_database)
    try:
        await apply_migrations(conn, renamed)
        await conn.execute(
            "update schema_migrations set checksum = $1 where name = '0010_release_windows.sql'",
            EDITED_0011,
        )
        with pytest.raises(MigrationError, match=r"0010_release_windows\.sql was edited"):
            await apply_migrations(conn, renamed)
    finally:
        await conn.close()
