"""Staff find a visit across all the point's days: by reference, name, e-mail or phone.

The rows are the day sheet's (booking/office.py), so a found visit shows as on its day. The
reference matches whole (typed or scanned, booking/domain/queue.py reads it); a name or an
e-mail matches as a part, case-insensitively; a phone by its digits. Visits whose personal
data the retention purge removed are found by reference only.
"""

from __future__ import annotations

import re

import asyncpg

from booking.domain.queue import ReferenceUnreadable, read_reference
from booking.office import _SHEET, SheetVisit, sheet_visit

LIMIT = 50
MIN_LENGTH = 3


def _like(text: str) -> str:
    """`text` as a LIKE pattern that matches it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find(conn: asyncpg.Connection, point_id: str, query: str) -> list[SheetVisit]:
    """At most LIMIT visits of the point matching `query`, the latest first; none for a query
    shorter than MIN_LENGTH characters."""
    query = " ".join(query.split())
    if len(query) < MIN_LENGTH:
        return []
    try:
        reference = read_reference(query)
    except ReferenceUnreadable:
        reference = None
    digits = re.sub(r"\D", "", query)
    rows = await conn.fetch(
        _SHEET
        + """
        where b.point_id = $1
          and (b.reference = $2
               or b.visitor_name ilike $3 or b.visitor_email ilike $3
               or ($4 <> '' and length($4) >= 5
                   and regexp_replace(coalesce(b.visitor_phone, ''), '\\D', '', 'g') like $5))
        order by b.starts_at desc, b.reference
        limit $6
        """,
        point_id,
        reference,
        _like(query),
        digits,
        f"%{digits}%",
        LIMIT,
    )
    return [sheet_visit(r) for r in rows]
