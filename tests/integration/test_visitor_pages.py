"""The visitor's pages, item by item of the journey (issue 15): contacts, closed days, moving,
kept form values, the page after booking."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("seeded")

TARNOW = "tarnow-solidarnosci-5-9"


async def test_a_point_without_contacts_shows_the_networks_hotline(client):
    page = await client.get(f"/points/{TARNOW}?lang=en")
    assert page.status_code == 200
    assert 'href="tel:+48122102020"' in page.text
    assert 'href="mailto:info.opt@muw.pl"' in page.text
    assert "INFO.OPT hotline" in page.text
    assert "no-reply" not in page.text
