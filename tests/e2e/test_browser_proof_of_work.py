"""The booking form's proof of work in a real browser: the vendored ALTCHA widget fetches a
challenge, solves it in its Web Worker when the form is sent, and the visit is held; all under
the page's strict Content-Security-Policy (no violation, no script error). Without JavaScript
the page says why the form cannot be sent and gives the point's phone and e-mail instead."""

from __future__ import annotations

import re
from typing import Any

BASZTOWA = "krakow-basztowa-22"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

#: Records what the page's policy refused (the browser fires this event for each violation).
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def _listen(page: Any) -> list[str]:
    """Console errors and warnings, failed requests and uncaught errors of the page and its
    worker (but the browser's own look for /favicon.ico, which the site does not have)."""
    problems: list[str] = []

    def console(message: Any) -> None:
        where = message.location.get("url", "")
        if message.type in ("error", "warning") and not where.endswith("/favicon.ico"):
            problems.append(f"{message.type}: {message.text} ({where})")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
    page.on("worker", lambda w: w.on("console", lambda m: problems.append(f"worker: {m.text}")))
    return problems


async def _details_step(tab: Any, language_name: str) -> None:
    page = tab.page
    await tab.goto(f"/points/{BASZTOWA}/book?service=everyday-matters")
    await page.get_by_role("link", name=language_name, exact=True).click()
    await page.locator("ul.days a").first.click()
    await page.locator("ul.times a").first.click()


async def test_the_widget_solves_when_the_form_is_sent_and_the_visit_is_held(site, open_tab):
    # A small difficulty for this point, so the test's browser solves it at once.
    await site.fetchval(
        "update points set pow_max_number = 2000 where id = $1 returning 1", BASZTOWA
    )
    tab = await open_tab(locale="en-GB", **DESKTOP)
    page = tab.page
    await page.add_init_script(WATCH_CSP)
    problems = _listen(page)

    await _details_step(tab, "Ukrainian")
    widget = page.locator("altcha-widget")
    checkbox = widget.locator("input[type=checkbox]")
    await checkbox.wait_for(state="attached")  # the widget's script has run
    # no box that invites a click: the check runs by itself when the form is sent
    assert not await checkbox.is_visible()
    assert await widget.locator(".altcha-label").inner_text() == (
        "Automatic check against bots: it runs by itself"
    )
    await tab.step("details-with-widget")

    await page.get_by_label("Your first name and surname").fill("Olena Kovalenko")
    await page.get_by_label("E-mail address").fill("olena.pow@example.com")
    challenges: list[Any] = []
    page.on("request", lambda r: "/api/v1/challenge" in r.url and challenges.append(r.url))
    await page.get_by_role("button", name="Book this visit").click()
    await page.get_by_role("heading", name="Check your e-mail").wait_for()
    await tab.step("sent")

    assert challenges == [f"{site.url}/api/v1/challenge?point_id={BASZTOWA}"]
    reference = (await page.locator("#manage-link").get_attribute("href")).split("/")[2]
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "held"
    )
    assert await page.evaluate("window.__csp") == []
    assert problems == [], problems


async def test_a_form_sent_without_a_solution_is_refused_next_to_the_widget(site, open_tab):
    await site.fetchval(
        "update points set pow_max_number = 2000 where id = $1 returning 1", BASZTOWA
    )
    tab = await open_tab(locale="pl-PL", **DESKTOP)
    page = tab.page
    problems = _listen(page)
    await _details_step(tab, "ukraiński")
    widget = page.locator("altcha-widget")
    await widget.locator("input[type=checkbox]").wait_for(state="attached")
    assert (
        await widget.locator(".altcha-label").inner_text()
        == "Automatyczna ochrona przed botami: działa sama"
    )

    # A bot that posts the form as it is, without the widget's field, books nothing.
    await page.get_by_label("Imię i nazwisko").fill("Bot")
    await page.get_by_label("Adres e-mail").fill("bot@example.com")
    await page.evaluate("document.querySelector('altcha-widget').remove()")
    await page.get_by_role("button", name="Umów tę wizytę").click()
    error = page.locator("#altcha-error")
    await error.wait_for()
    assert "nie została umówiona" in await error.inner_text()
    assert await page.input_value("#name") == "Bot"  # what was typed is kept
    await page.locator("altcha-widget input[type=checkbox]").wait_for(
        state="attached"
    )  # a new widget
    await tab.step("details-refused")
    assert await site.fetchval("select count(*) from bookings") == 0
    assert [p for p in problems if "422" not in p] == []  # only the refusal itself

    # Sent again, the new widget solves, and the same form books.
    await page.get_by_role("button", name="Umów tę wizytę").click()
    await page.get_by_role("heading", name="Sprawdź skrzynkę e-mail").wait_for()
    assert await site.fetchval("select count(*) from bookings") == 1


async def test_without_javascript_the_page_says_why_and_how_else_to_book(site, open_tab):
    tab = await open_tab(locale="uk-UA", java_script_enabled=False, **DESKTOP)
    page = tab.page
    await _details_step(tab, "українська")
    note = page.locator("#needs-javascript")
    await note.wait_for()
    assert "JavaScript" in await note.inner_text()
    phone = page.locator("#needs-javascript a[href^='tel:']").first
    mail = page.locator("#needs-javascript a[href^='mailto:']").first
    assert await phone.is_visible() and await mail.is_visible()
    await tab.step("details-without-javascript", check=False)  # axe itself needs JavaScript

    await page.get_by_label("Ім’я та прізвище").fill("Олена Коваленко")
    await page.get_by_label("Адреса електронної пошти").fill("olena.nojs@example.com")
    await page.get_by_role("button", name="Записатися на цей візит").click()
    error = page.locator("#altcha-error")
    await error.wait_for()
    assert re.search("JavaScript", await error.inner_text())
    assert await page.input_value("#email") == "olena.nojs@example.com"
    await tab.step("details-without-javascript-refused", check=False)
    assert await site.fetchval("select count(*) from bookings") == 0
