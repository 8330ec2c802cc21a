"""The pages no booking flow passes through, in Russian; the language choice is kept; the
headers that keep the pages safe are on every response."""

from __future__ import annotations

import re

BASZTOWA = "krakow-basztowa-22"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


async def test_the_language_chosen_once_is_kept_on_every_page(site, open_tab):
    tab = await open_tab(locale="pl-PL", **DESKTOP)
    page = tab.page
    await tab.goto(f"/points/{BASZTOWA}")
    assert await page.get_attribute("html", "lang") == "pl"
    await page.get_by_role("link", name="Русский").click()
    assert page.url.endswith(f"/points/{BASZTOWA}")  # back on the same page
    await page.get_by_role("heading", name="Часы работы на ближайшие недели").wait_for()
    await tab.step("point-ru")
    await page.get_by_role("link", name="Все пункты").click()
    assert await page.get_attribute("html", "lang") == "ru"
    await page.get_by_role("heading", name="Информационные пункты для иностранцев").wait_for()

    # Without the private link the visit's page explains where to find it, and offers to mail it.
    await tab.goto("/bookings/KRK-AAAA-AA")
    await page.get_by_text("откройте ссылку из любого письма").wait_for()
    await page.get_by_role("link", name="Пришлите мне ссылку на мой визит").wait_for()
    await tab.step("visit-without-link")

    # A confirmation link that is not (or no longer) valid says so after the click.
    await tab.goto("/bookings/KRK-AAAA-AA/confirm?token=not-a-token")
    await tab.step("confirm-unknown")
    await page.get_by_role("button", name="Да, подтверждаю визит").click()
    await page.get_by_text("Эта ссылка для подтверждения недействительна").wait_for()
    await tab.step("confirm-refused")

    # A staff form with mistakes shows each one next to its field.
    await tab.goto("/staff/login")
    await page.get_by_label("Адрес электронной почты").fill("basztowa@wizyta.test")
    await page.get_by_label("Пароль").fill("correct horse battery staple")
    await page.get_by_role("button", name="Войти").click()
    await tab.goto(f"/staff/points/{BASZTOWA}/special-days")
    await page.get_by_label("Открывается в").fill("15:00")
    await page.get_by_label("Закрывается в").fill("09:00")
    await page.get_by_role("button", name=re.compile("Проверить")).click()
    await page.locator("#date-error").wait_for()
    assert "Время закрытия должно быть позже" in await page.locator("#closes-error").inner_text()
    await tab.step("special-day-mistakes")


async def test_every_response_carries_the_security_headers_and_forms_need_their_token(
    site, open_tab
):
    tab = await open_tab(**DESKTOP)
    for path in ("/", f"/points/{BASZTOWA}", "/staff/login", "/no-such-page", "/static/site.css"):
        response = await tab.goto(path)
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp, path
        assert "script-src" not in csp and "default-src 'none'" in csp, path

    # A form posted without the page's token (as another site would post it) is refused.
    response = await tab.page.request.post(
        site.url + f"/points/{BASZTOWA}/book",
        form={"service": "everyday-matters", "language": "uk", "start": "x"},
        max_redirects=0,
    )
    assert response.status == 403
    assert "This form has expired or did not come from this site" in await response.text()

    # The JSON API is not a page: bearer tokens, no CSRF cookie, problem+json errors.
    response = await tab.page.request.get(site.url + "/api/v1/points/nope")
    assert response.status == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "set-cookie" not in response.headers
