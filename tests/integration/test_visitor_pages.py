"""The visitor's pages, item by item of the journey (issue 15): contacts, closed days, moving,
kept form values, the page after booking."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("seeded")

TARNOW = "tarnow-solidarnosci-5-9"
BASZTOWA = "krakow-basztowa-22"


async def test_a_point_without_contacts_shows_the_networks_hotline(client):
    page = await client.get(f"/points/{TARNOW}?lang=en")
    assert page.status_code == 200
    assert 'href="tel:+48122102020"' in page.text
    assert 'href="mailto:info.opt@muw.pl"' in page.text
    assert "INFO.OPT hotline" in page.text
    assert "no-reply" not in page.text


def _times_page(point: str, day, language: str = "uk", service: str = "everyday-matters") -> str:
    return f"/points/{point}/book?service={service}&language={language}&day={day.isoformat()}"


async def test_a_closed_day_says_it_is_closed_and_why_not_that_its_times_were_taken(client):
    import datetime as dt

    from scheduling.rules.public_holidays import polish_holiday_labels

    today = dt.date.today()
    sunday = today + dt.timedelta(days=(6 - today.weekday()) or 7)
    page = await client.get(_times_page(BASZTOWA, sunday) + "&lang=en")
    assert "The point is closed on this day. Please choose another day." in page.text
    assert "just been taken" not in page.text

    holidays = polish_holiday_labels(today + dt.timedelta(days=1), today + dt.timedelta(days=25))
    weekday = [d for d in sorted(holidays) if d.weekday() < 5]
    if weekday:  # a public holiday on a working day within the horizon: named
        day = weekday[0]
        page = await client.get(_times_page(BASZTOWA, day) + "&lang=ru")
        assert f"В этот день пункт закрыт: {holidays[day]['ru']}." in page.text

    past = await client.get(_times_page(BASZTOWA, today - dt.timedelta(days=2)) + "&lang=en")
    assert "This day has already passed." in past.text
    far = await client.get(_times_page(BASZTOWA, today + dt.timedelta(days=400)) + "&lang=en")
    assert "too far ahead" in far.text


async def test_words_on_the_hours_page_are_not_glued_together(client):
    import re

    page = await client.get(f"/points/{BASZTOWA}?lang=uk")
    text = " ".join(re.sub(r"<[^>]+>", "", page.text).split())
    assert "зачиненосвято" not in text
    assert "зачинено свято" in text or "свято" not in text


def test_the_pages_address_the_visitor_as_vy_with_a_capital_letter():
    import re
    from pathlib import Path

    forms = {
        "uk": "ви|вам|вас|вами|ваш|ваша|ваше|ваші|вашого|вашої|вашому|вашій|вашим|вашу|ваших",
        "ru": "вы|вам|вас|вами|ваш|ваша|ваше|ваши|вашего|вашей|вашему|вашим|вашу|ваших",
    }
    for lang, pronoun in forms.items():
        po = Path(f"web/locale/{lang}/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
        strings = [line for line in po.splitlines() if line.startswith("msgstr")]
        lower = [s for s in strings if re.search(rf"(?<![\w’-])({pronoun})(?![\w’-])", s)]
        assert lower == [], lower
