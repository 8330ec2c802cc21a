"""A point's premises: where it is and how a person with a disability gets in and is served.

Facts, not prose: each is a yes, a no, or not assessed yet (None), and the accessibility
statement (web/legal.py) and the point's JSON-LD (scheduling/open_formats.py) are written
from them. Staff keep them current (staff/premises_api.py); scheduling/admin.py writes them.
A sign-language consultant is not a fact typed in here: it is read off the desks, which say
which languages each one speaks (pjm, ukl, rsl).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import asyncpg
import msgspec

from scheduling.model import Labels

SignLanguage = Literal["on_site", "on_request", "remote", "none"]
SIGN_LANGUAGES = ("pjm", "ukl", "rsl")

#: The yes/no facts of the official statement's "architectural accessibility" part, in its order.
FEATURES = (
    "step_free_entrance",
    "lift",
    "accessible_toilet",
    "disabled_parking",
    "induction_loop",
    "assistance_dogs",
)


class Premises(msgspec.Struct, frozen=True, kw_only=True):
    latitude: float | None = None
    longitude: float | None = None
    entrance: Labels = {}
    step_free_entrance: bool | None = None
    lift: bool | None = None
    accessible_toilet: bool | None = None
    disabled_parking: bool | None = None
    induction_loop: bool | None = None
    assistance_dogs: bool | None = None
    sign_language: SignLanguage | None = None
    notes: Labels = {}
    checked_on: dt.date | None = None
    updated_at: dt.datetime | None = None
    signing_desks: list[str] = []
    """Sign languages a desk of the point speaks (from the desks, not typed here)."""


_COLUMNS = """
    latitude, longitude, entrance, step_free_entrance, lift, accessible_toilet,
    disabled_parking, induction_loop, assistance_dogs, sign_language, notes, checked_on,
    updated_at
"""


async def get_premises(conn: asyncpg.Connection, point_id: str) -> Premises:
    """The point's premises; all not assessed when nobody has entered them yet."""
    row = await conn.fetchrow(
        f"select {_COLUMNS} from point_premises where point_id = $1", point_id
    )
    signing = await conn.fetchval(
        """
        select coalesce(array_agg(distinct l order by l), '{}')
          from desks, unnest(languages) as l
         where point_id = $1 and active and l = any($2::text[])
        """,
        point_id,
        list(SIGN_LANGUAGES),
    )
    values = dict(row) if row is not None else {}
    return Premises(**values, signing_desks=list(signing))


async def all_premises(conn: asyncpg.Connection, point_ids: list[str]) -> dict[str, Premises]:
    return {p: await get_premises(conn, p) for p in point_ids}


async def last_change(conn: asyncpg.Connection) -> dt.datetime | None:
    """When any point's premises were last changed (the statement's "last updated")."""
    return await conn.fetchval("select max(updated_at) from point_premises")
