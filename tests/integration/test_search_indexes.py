"""The staff search (booking/search.py) runs on indexes: each way it matches has one (migration
0056's trigram indexes), so a point with years of visits is not scanned row by row."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("seeded")


async def test_each_way_the_search_matches_has_an_index(pool):
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("set local enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                """
                explain select id from bookings b where
                    b.reference = $1 or b.visitor_name ilike $2 or b.visitor_email ilike $2
                    or regexp_replace(coalesce(b.visitor_phone, ''), '\\D', '', 'g') like $3
                """,
                "ABC-1234-XY",
                "%smith%",
                "%601%",
            )
        )
    for index in ("bookings_search_name", "bookings_search_email", "bookings_search_phone"):
        assert index in plan, plan
