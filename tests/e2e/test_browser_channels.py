"""The first free visit in my language, a point that works by phone and video, and the
booking form's family and matters, in a real browser with axe on every page (issue 16)."""

from __future__ import annotations

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
DEKERTA = "krakow-jana-dekerta-24"
BASZTOWA = "krakow-basztowa-22"


async def test_a_visitor_finds_the_first_free_visit_and_books_it_by_phone(site, open_tab):
    tab = await open_tab(locale="uk-UA", **DESKTOP)
    page = tab.page
    await tab.goto("/")
    await page.get_by_role("link", name="Найближчий вільний візит моєю мовою").click()
    await tab.step("find-form")
    await page.get_by_label("Як").select_option("phone")
    await page.get_by_role("button", name="Знайти вільний час").click()
    await page.get_by_role("heading", name="Вільний час").wait_for()
    await tab.step("find-results")
    await page.locator("ul.choices a").first.click()
    await page.get_by_label("Номер телефону").wait_for()
    await page.get_by_text("Консультант зателефонує на цей номер у час візиту.").wait_for()
    await tab.step("details-by-phone")

    await tab.goto(f"/points/{DEKERTA}")
    await page.get_by_role("heading", name="Години телефонних консультацій").wait_for()
    await page.get_by_role("heading", name="Години відеоконсультацій").wait_for()
    await tab.step("point-online-only")

    await tab.goto(f"/points/{BASZTOWA}/book?service=everyday-matters&channel=on_site&language=uk")
    await page.get_by_label("Скільки осіб прийде (разом із Вами)?").select_option("3")
    await page.get_by_label("Легалізація перебування та роботи").check()
    await page.get_by_role("button", name="Показати вільні дні").click()
    await page.get_by_text("100 хвилин").wait_for()
    await tab.step("day-family-two-matters")
