"""Staff book for a visitor who phones, in a real browser: from the day sheet to a free time,
the visitor's name and phone (no e-mail), and the page with the booking number to read out or
print; the visit is on the day sheet, confirmed, and no mail was written for it."""

from __future__ import annotations

import re

from tests.e2e.conftest import STAFF_PASSWORD

BASZTOWA = "krakow-basztowa-22"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


async def test_staff_book_a_caller_without_an_e_mail_and_read_out_the_number(site, open_tab):
    staff = await open_tab("staff", locale="en-GB", **DESKTOP)
    page = staff.page
    await staff.goto("/staff/login")
    await page.get_by_label("E-mail").fill("basztowa@wizyta.test")
    await page.get_by_label("Password").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("link", name=re.compile("^Day sheet")).first.click()
    await page.get_by_role("link", name="Book for a visitor on this day").click()
    await page.get_by_label("Language of the visit").select_option("uk")
    await page.get_by_role("button", name="Show free times").click()
    heading = page.get_by_role("heading", name=re.compile("^Free times"))
    await heading.wait_for()
    if await page.get_by_text("No free times on this day.").count():  # today is over: a later day
        await page.get_by_label("Date").fill(
            await site.fetchval("select (now() + interval '7 days')::date::text")
        )
        await page.get_by_role("button", name="Show free times").click()
    await staff.step("free-times")

    await page.get_by_role("button", name="Book and confirm").click()  # nothing filled in
    await page.get_by_text("Please enter the visitor's name.").first.wait_for()
    await staff.step("details-refused")
    await page.locator("input[name=start]").first.check()
    await page.get_by_label("Visitor's name").fill("Тарас Шевченко")
    await page.get_by_role("button", name="Book and confirm").click()
    await page.get_by_text(
        "Without an e-mail address, please give the visitor's phone number."
    ).first.wait_for()
    await page.get_by_label("Phone number").fill("+48 600 100 200")
    await page.get_by_role("button", name="Book and confirm").click()
    await page.get_by_role("heading", name="The visit is booked and confirmed").wait_for()
    await staff.step("booked")
    reference = (await page.locator("dd.ref").inner_text()).strip()
    assert re.fullmatch(r"KRK-[0-9A-Z]{4}-[0-9A-Z]{2}", reference)
    assert (
        await site.fetchval("select status from bookings where reference = $1", reference)
        == "confirmed"
    )
    # No e-mail: no mail row; the mobile number gets the SMS (notifications/mailer.py)
    assert await site.fetchval("select count(*) from outbox where channel = 'email'") == 0

    await page.get_by_role("link", name="Back to the day sheet").click()
    row = page.locator(f"#visit-{reference}")
    assert "Booked by staff" in await row.inner_text()
    await staff.step("on-the-day-sheet")
