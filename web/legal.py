"""The pages a Polish public body owes its visitors, and the status of the points.

- `/accessibility`: the accessibility statement (deklaracja dostępności) of the Act of 4 April
  2019 on the digital accessibility of public bodies' websites and mobile applications, in the
  structure of the official template: the entity and the site, the dates of publication and of
  the last update, the compliance status and the parts that are not compliant, how the
  statement was prepared, feedback and contact, the request and complaint procedure, the
  architectural accessibility of each point, mobile applications. Each point's facts come from
  its premises and desks (scheduling/premises.py), which staff keep current; a fact nobody has
  checked says so.
- `/privacy`: the information of GDPR art. 13: who processes what, why, for how long (the
  retention settings themselves), who sees it, the visitor's rights and how to use them.
- `/status`: the points closed at short notice; every page shows the same as a banner
  (OutageBannerMiddleware), and the hours feed shows the closed day with its reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import asyncpg
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from litestar.types import ASGIApp, Receive, Scope, Send

from scheduling import contacts, outages, store
from scheduling.premises import FEATURES, all_premises, last_change
from web.i18n import N_
from web.points import address_line
from web.render import page
from web.security import is_page

Conn = NamedDependency[asyncpg.Connection]
logger = logging.getLogger("wizyta.web")

#: The statement's own dates (the official template's "data publikacji strony internetowej",
#: "data sporządzenia deklaracji", "data ostatniego przeglądu"). The Act asks for a review
#: every year: change REVIEWED when it is done (and PREPARED when the statement is rewritten).
PUBLISHED = dt.date(2026, 12, 3)
PREPARED = dt.date(2026, 12, 3)
REVIEWED = dt.date(2026, 12, 3)

#: The scope of the statement's "architectural accessibility" part, in the template's order.
FEATURE_QUESTIONS = {
    "step_free_entrance": N_("Entrance without steps (or with a ramp)"),
    "lift": N_("Lift to the rooms where visitors are served"),
    "accessible_toilet": N_("Toilet for people with disabilities"),
    "disabled_parking": N_("Parking spaces for people with disabilities"),
    "induction_loop": N_("Induction loop for hearing aids"),
    "assistance_dogs": N_("Assistance dogs welcome"),
}
assert tuple(FEATURE_QUESTIONS) == FEATURES

SIGN_LANGUAGE_ANSWERS = {
    "on_site": N_("A sign-language interpreter is present at the point"),
    "on_request": N_("A sign-language interpreter can be booked ahead (at least 3 working days)"),
    "remote": N_("A sign-language interpreter is available online"),
    "none": N_("No sign-language interpreter"),
}


def settings_of(request: Request) -> Any:
    return request.app.state.settings


class LegalPages(Controller):
    path = ""
    include_in_schema = False

    @get("/accessibility")
    async def accessibility(self, request: Request, conn: Conn) -> Template:
        points = await store.list_points(conn)
        premises = await all_premises(conn, [p.id for p in points])
        changed = await last_change(conn)
        updated = max(REVIEWED, changed.date()) if changed else REVIEWED
        unchecked = [
            p.id
            for p in points
            if any(getattr(premises[p.id], f) is None for f in FEATURES)
            or premises[p.id].checked_on is None
        ]
        settings = settings_of(request)
        return page(
            request,
            "accessibility.html",
            points=[
                {
                    "point": p,
                    "address": address_line(p),
                    "premises": premises[p.id],
                    "contacts": contacts.of(p),
                }
                for p in points
            ],
            questions=FEATURE_QUESTIONS,
            sign_answers=SIGN_LANGUAGE_ANSWERS,
            published=PUBLISHED,
            prepared=PREPARED,
            reviewed=REVIEWED,
            updated=updated,
            unchecked=unchecked,
            operator=settings.operator_name,
            operator_address=settings.operator_address,
            contact=settings.accessibility_contact,
            site=settings.public_url,
        )

    @get("/privacy")
    async def privacy(self, request: Request) -> Template:
        settings = settings_of(request)
        return page(
            request,
            "privacy.html",
            operator=settings.operator_name,
            operator_address=settings.operator_address,
            contact=settings.privacy_contact,
            retention_days=settings.retention_days,
            hold_minutes=settings.hold_minutes,
        )

    @get("/status")
    async def status(self, request: Request, conn: Conn) -> Template:
        return page(request, "status.html", current=await outages.current(conn))


class OutageBannerMiddleware:
    """Before a page's handler runs (and takes its own connection), read the points closed at
    short notice, so `web.render.page` can show them on every page. A store that fails here
    leaves the banner out: the page's own work decides whether the page is a 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and is_page(scope["path"]):
            state = scope["app"].state
            pool = getattr(state, "pool", None)
            if pool is not None:
                try:
                    found = await outages.cached(pool, state.settings.read_cache_seconds)
                except Exception as e:
                    logger.warning("outage banner left out: %s", type(e).__name__)
                else:
                    scope.setdefault("state", {})["outages"] = found
        await self.app(scope, receive, send)
