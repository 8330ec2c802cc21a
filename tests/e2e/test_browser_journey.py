"""The visitor's journey on a 390 px phone in Ukrainian, read from the real mails: every mail
leads to the visit, a look-alike address is refused before anything is written, and no visitor
page scrolls sideways. Every page is checked by axe-core and kept as a screenshot."""

from __future__ import annotations

import re

from tests.e2e.conftest import link_in

BASZTOWA = "krakow-basztowa-22"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "uk-UA",
}


async def _book(tab, name: str, email: str) -> None:
    """Service, language, day, time and details, as a visitor taps through them."""
    page = tab.page
    await tab.goto(f"/points/{BASZTOWA}/book?lang=uk")
    await page.get_by_role("link", name=re.compile("Повсякденні справи")).click()
    await page.get_by_role("link", name="українська", exact=True).click()
    # Not the first day offered: late in the afternoon, today may have one time left, and a
    # test that picks "another time" needs two.
    await page.locator("ul.days a").nth(1).click()
    await page.locator("ul.times a").first.click()
    await page.get_by_label("Ім’я та прізвище").fill(name)
    await page.get_by_label("Адреса електронної пошти").fill(email)


async def test_from_the_confirmed_mails_link_to_a_cancelled_visit_without_the_page_after_booking(
    site, open_tab, mailbox
):
    booking = await open_tab("booking", **PHONE)
    await _book(booking, "Оксана Мельник", "oksana@example.com")
    await booking.page.get_by_role("button", name="Записатися на цей візит").click()
    await booking.page.get_by_role("heading", name="Перевірте електронну пошту").wait_for()
    await booking.page.context.close()  # the page after booking is gone, as for most visitors

    request = await mailbox.wait_for("oksana@example.com", "Підтвердьте")
    reference = re.search(r"[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{2}", str(request["Subject"]))[0]
    reader = await open_tab("mail", **PHONE)
    page = reader.page
    await reader.goto(link_in(request, rf"^/bookings/{reference}/confirm$"))
    await page.get_by_role("button", name="Так, підтверджую візит").click()
    await page.get_by_role("heading", name="Візит підтверджено").wait_for()

    confirmed = await mailbox.wait_for("oksana@example.com", "Візит підтверджено")
    await reader.goto(link_in(confirmed, rf"^/bookings/{reference}/manage$"))
    await page.get_by_role("heading", name="Ваш візит").wait_for()
    await page.get_by_text("підтверджено", exact=True).wait_for()
    await reader.step("manage-from-the-mail")
    await page.get_by_role("link", name="Скасувати візит").click()
    await reader.step("cancel")
    await page.get_by_role("button", name="Так, скасувати візит").click()
    await page.get_by_text("скасовано", exact=True).wait_for()
    await reader.step("cancelled")
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "cancelled"
    )
    cancelled = await mailbox.wait_for("oksana@example.com", "скасовано")
    assert link_in(cancelled, rf"^/bookings/{reference}/manage$")


async def test_a_look_alike_address_is_refused_before_anything_is_written(site, open_tab):
    tab = await open_tab(**PHONE)
    page = tab.page
    await _book(tab, "Оксана Мельник", "оksana.melnyk@gmail.com")  # the first letter Cyrillic
    await page.get_by_role("button", name="Записатися на цей візит").click()
    error = page.locator("#email-error")
    await error.wait_for()
    assert "Літера «о» (1-й символ адреси)" in await error.inner_text()
    assert await page.get_attribute("#email", "aria-invalid") == "true"
    await tab.step("look-alike-refused")
    assert await site.fetchval("select count(*) from bookings") == 0
    assert await site.fetchval("select count(*) from outbox") == 0
    # Typed again with one keyboard layout, the same form books.
    await page.get_by_label("Адреса електронної пошти").fill("oksana.melnyk@gmail.com")
    await page.get_by_role("button", name="Записатися на цей візит").click()
    await page.get_by_role("heading", name="Перевірте електронну пошту").wait_for()
    assert await site.fetchval("select count(*) from bookings") == 1


LONG_EMAIL = "oleksandra.kovalenko-shevchenko.konsultacja@pocztaexample.pl"  # 60 characters


async def _follow(page, link) -> None:
    """Click a link and wait for the page it opens: measured before, the width was the old
    page's, or none at all while the new one was committing (seen on a busy machine)."""
    async with page.expect_navigation():
        await link.click()


async def _no_sideways_scroll(tab, name: str) -> None:
    width = await tab.page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], f"{name}: the page is {width[0]} px wide in {width[1]} px"
    await tab.step(name)


async def test_no_visitor_page_scrolls_sideways_at_320_and_390_px_with_a_60_character_email(
    site, open_tab, mailbox
):
    assert len(LONG_EMAIL) == 60
    for width in (320, 390):
        tab = await open_tab(f"{width}", **(PHONE | {"viewport": {"width": width, "height": 800}}))
        page = tab.page
        for path, name in [("/?lang=uk", "points"), (f"/points/{BASZTOWA}", "point")]:
            await tab.goto(path)
            await _no_sideways_scroll(tab, name)
        await tab.goto(f"/points/{BASZTOWA}/book?lang=uk")
        await _no_sideways_scroll(tab, "book-service")
        await _follow(page, page.get_by_role("link", name=re.compile("Повсякденні справи")))
        await _no_sideways_scroll(tab, "book-language")
        await _follow(page, page.get_by_role("link", name="українська", exact=True))
        await _no_sideways_scroll(tab, "book-day")
        await _follow(page, page.locator("ul.days a").nth(width // 320))  # another day per width
        await _no_sideways_scroll(tab, "book-time")
        await _follow(page, page.locator("ul.times a").first)
        await page.get_by_label("Ім’я та прізвище").fill("Олександра Коваленко-Шевченко")
        await page.get_by_label("Адреса електронної пошти").fill(LONG_EMAIL)
        await _no_sideways_scroll(tab, "book-details")
        await page.get_by_role("button", name="Записатися на цей візит").click()
        await page.get_by_role("heading", name="Перевірте електронну пошту").wait_for()
        await _no_sideways_scroll(tab, "sent")
        manage = await page.locator("#manage-link").get_attribute("href")
        reference = manage.split("/")[2]
        mail = await mailbox.wait_for(LONG_EMAIL, reference)
        await tab.goto(link_in(mail, rf"^/bookings/{reference}/confirm$"))
        await _no_sideways_scroll(tab, "confirm")
        await page.get_by_role("button", name="Так, підтверджую візит").click()
        await page.get_by_role("heading", name="Візит підтверджено").wait_for()
        await _no_sideways_scroll(tab, "confirmed")
        await tab.goto(manage)
        await _no_sideways_scroll(tab, "manage")
        # the time is shown whole, on one line
        when = page.locator("dl.summary .nowrap").first
        box = await when.bounding_box()
        assert box and box["x"] + box["width"] <= width, box
        await page.get_by_role("link", name="Перенести на інший час").click()
        await _no_sideways_scroll(tab, "move-days")
        await page.locator("ul.days a").first.click()
        await _no_sideways_scroll(tab, "move-times")
        await tab.goto(manage)
        await page.get_by_role("link", name="Скасувати візит").click()
        await _no_sideways_scroll(tab, "cancel")
        await page.get_by_role("button", name="Так, скасувати візит").click()
        await page.get_by_text("скасовано", exact=True).wait_for()
        await _no_sideways_scroll(tab, "cancelled")  # and the next width may book again
        await tab.goto(f"/bookings/{reference}")
        await _no_sideways_scroll(tab, "without-the-link")
        await tab.goto(f"/bookings/link?reference={reference}")
        await _no_sideways_scroll(tab, "send-the-link")


async def test_typed_details_survive_another_time_and_a_language_switch_and_no_url_has_a_token(
    site, open_tab
):
    tab = await open_tab(**PHONE)
    page = tab.page
    await _book(tab, "Оксана Мельник", "oksana@example.com")
    await page.get_by_label("Номер телефону").fill("+380 67 123 4567")
    await page.get_by_role("button", name="Обрати інший час").click()
    await page.locator("ul.times a").nth(1).click()
    assert await page.get_by_label("Ім’я та прізвище").input_value() == "Оксана Мельник"
    assert await page.get_by_label("Адреса електронної пошти").input_value() == (
        "oksana@example.com"
    )
    await tab.step("details-kept-after-another-time")
    await page.get_by_role("button", name="Русский").click()
    await page.get_by_role("heading", name="Записаться на визит").wait_for()
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.get_by_label("Номер телефона").input_value() == "+380 67 123 4567"
    assert await page.locator("#mail_language").input_value() == "ru"
    await tab.step("details-kept-after-the-language-switch")
    await page.get_by_role("button", name="Записаться на этот визит").click()
    await page.locator("#manage-link").wait_for()
    assert "token" not in page.url and "oksana" not in page.url
    await tab.step("sent-without-a-token-in-its-address")
    await page.reload()
    await page.locator("#link-shown").wait_for()
    assert await page.locator("#manage-link").count() == 0
    await tab.step("sent-reloaded")
    assert await site.fetchval("select mail_language from bookings") == "ru"
