"""A visitor books in a real browser: from the list of points to a confirmed visit, through the
e-mail the real worker sends, then moves and cancels it; in Ukrainian on a desktop, in Polish on
a phone. Every page is checked by axe-core and kept as a screenshot."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.e2e.conftest import link_in, text_of

BASZTOWA = "krakow-basztowa-22"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


async def test_a_visitor_books_in_ukrainian_and_confirms_from_the_email(site, open_tab, mailbox):
    tab = await open_tab(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = tab.page

    await tab.goto("/")
    assert await page.get_attribute("html", "lang") == "en"
    await tab.step("points-en")

    await page.get_by_role("link", name="Українська").click()
    assert await page.get_attribute("html", "lang") == "uk"
    await page.get_by_role("heading", name="Інформаційні пункти для іноземців").wait_for()
    await tab.step("points-uk")

    await page.get_by_role("link", name=re.compile(r"вул\. Basztowa 22$")).click()
    await page.get_by_role("heading", name="Години роботи на найближчі тижні").wait_for()
    feed = await page.get_by_role("link", name="Підписатися на години роботи").get_attribute("href")
    assert feed == f"webcal://{urlsplit(site.url).netloc}/calendars/points/{BASZTOWA}.ics?lang=uk"
    ics = await page.get_by_role("link", name=re.compile(r"посилання \.ics")).get_attribute("href")
    assert ics == f"/calendars/points/{BASZTOWA}.ics?lang=uk"
    await tab.step("point")

    await page.get_by_role("link", name="Записатися на візит").first.click()
    await tab.step("book-service")
    await page.get_by_role("link", name=re.compile("Повсякденні справи")).click()
    await tab.step("book-language")
    await page.get_by_role("link", name="українська", exact=True).click()
    await tab.step("book-day")
    await page.locator("ul.days a").first.click()
    await tab.step("book-time")
    await page.locator("ul.times a").first.click()
    await tab.step("book-details")

    # The form speaks the visitor's language when something is missing.
    await page.get_by_role("button", name="Записатися на цей візит").click()
    await page.get_by_text("Введіть ім’я та прізвище.").first.wait_for()
    assert await page.get_attribute("#name", "aria-invalid") == "true"
    await tab.step("book-details-errors")

    await page.get_by_label("Ім’я та прізвище").fill("Олена Коваленко")
    await page.get_by_label("Адреса електронної пошти").fill("olena@example.com")
    await page.get_by_label("Номер телефону").fill("+380 67 123 4567")
    await page.get_by_role("button", name="Записатися на цей візит").click()
    await page.get_by_role("heading", name="Перевірте електронну пошту").wait_for()
    await tab.step("sent")
    manage = await page.locator("#manage-link").get_attribute("href")
    assert manage and "/manage?token=" in manage
    reference = manage.split("/")[2]
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "held"
    )

    mail = await mailbox.wait_for("olena@example.com", reference)
    assert "Підтвердьте" in str(mail["Subject"])
    confirm = link_in(mail, rf"^/bookings/{reference}/confirm$")
    assert parse_qs(urlsplit(confirm).query)["token"]

    # Opening the link (as a mail scanner would) confirms nothing: only the button does.
    reader = await open_tab("email-link", viewport={"width": 1280, "height": 900})
    await reader.goto(confirm)
    await reader.page.get_by_role("button", name="Так, підтверджую візит").wait_for()
    assert await reader.page.get_attribute("html", "lang") == "uk"  # the visit's language
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "held"
    )
    await reader.step("confirm")
    await reader.page.get_by_role("button", name="Так, підтверджую візит").click()
    await reader.page.get_by_role("heading", name="Візит підтверджено").wait_for()
    await reader.step("confirmed")
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "confirmed"
    )
    invitation = await mailbox.wait_for("olena@example.com", "Візит підтверджено")
    assert any(part.get_content_type() == "text/calendar" for part in invitation.walk())

    await tab.goto(manage)
    await page.get_by_text("підтверджено", exact=True).wait_for()
    await tab.step("manage")
    calendar = await page.get_by_role("link", name=re.compile("Додати в календар")).get_attribute(
        "href"
    )
    response = await page.request.get(site.url + calendar)
    assert response.ok and b"BEGIN:VEVENT" in await response.body()
    assert response.headers["content-type"].startswith("text/calendar")


async def test_a_visitor_books_moves_and_cancels_in_polish_on_a_phone(site, open_tab, mailbox):
    tab = await open_tab(locale="pl-PL", **PHONE)
    page = tab.page

    await tab.goto("/")
    assert await page.get_attribute("html", "lang") == "pl"  # from Accept-Language
    await tab.step("points")
    await page.get_by_role("link", name=re.compile(r"ul\. Basztowa 22$")).click()
    await tab.step("point")
    await page.get_by_role("link", name="Umów wizytę").first.click()
    await page.get_by_role("link", name=re.compile("Legalizacja pobytu i pracy")).click()
    await page.get_by_role("link", name="polski", exact=True).click()
    await tab.step("book-day")
    await page.locator("ul.days a").nth(1).click()
    await tab.step("book-time")
    await page.locator("ul.times a").first.click()
    await page.get_by_label("Imię i nazwisko").fill("Jan Kowalski")
    await page.get_by_label("Adres e-mail").fill("jan@example.com")
    await tab.step("book-details")
    await page.get_by_role("button", name="Umów tę wizytę").click()
    await page.get_by_role("heading", name="Sprawdź skrzynkę e-mail").wait_for()
    await tab.step("sent")
    manage = await page.locator("#manage-link").get_attribute("href")
    reference = manage.split("/")[2]

    mail = await mailbox.wait_for("jan@example.com", reference)
    await tab.goto(link_in(mail, rf"^/bookings/{reference}/confirm$"))
    await tab.step("confirm")
    await page.get_by_role("button", name="Tak, potwierdzam wizytę").click()
    await page.get_by_role("heading", name="Wizyta potwierdzona").wait_for()
    await tab.step("confirmed")

    # A second booking with the same e-mail is refused, in Polish, next to the e-mail field.
    await tab.goto(f"/points/{BASZTOWA}/book?service=everyday-matters&language=pl")
    await page.locator("ul.days a").nth(2).click()
    await page.locator("ul.times a").first.click()
    await page.get_by_label("Imię i nazwisko").fill("Jan Kowalski")
    await page.get_by_label("Adres e-mail").fill("jan@example.com")
    await page.get_by_role("button", name="Umów tę wizytę").click()
    error = page.locator("#email-error")
    await error.wait_for()
    assert "Masz już umówioną wizytę w tym punkcie" in await error.inner_text()
    assert "email-error" in (await page.get_attribute("#email", "aria-describedby") or "")
    await tab.step("book-refused")

    await tab.goto(manage)
    await tab.step("manage")
    await page.get_by_role("link", name="Przełóż na inny termin").click()
    await tab.step("move-day")
    await page.locator("ul.days a").nth(3).click()
    await tab.step("move-time")
    await page.locator("ul.times button").first.click()
    # One tap only asks: the old and the new time side by side, nothing moved yet.
    await page.get_by_role("heading", name="Przenieść wizytę na ten termin?").wait_for()
    assert await page.locator("dl.move-change del").count() == 1
    await tab.step("move-confirm")
    assert await site.fetchval("select sequence from bookings where reference = $1", reference) == 0
    await page.get_by_role("button", name="Tak, przenieś wizytę").click()
    await page.get_by_text("Wizyta została przełożona").wait_for()
    await tab.step("moved")
    moved = await mailbox.wait_for("jan@example.com", "Nowy termin")
    assert reference in text_of(moved)

    await page.get_by_role("link", name="Odwołaj wizytę").click()
    await tab.step("cancel")
    await page.get_by_role("button", name="Tak, odwołaj wizytę").click()
    await page.get_by_text("Wizyta została odwołana").wait_for()
    await tab.step("cancelled")
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "cancelled"
    )

    # Someone without the private link learns nothing about the visit.
    await tab.goto(f"/bookings/{reference}/manage?token=not-the-token")
    await page.get_by_text("Ten link do zarządzania wizytą jest nieprawidłowy").wait_for()
    await tab.step("manage-wrong-token")
    response = await tab.goto("/nie-ma-takiej-strony")
    assert response.status == 404
    await tab.step("not-found")
