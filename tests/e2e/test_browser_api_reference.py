"""The API reference at /schema in a real browser: the vendored Swagger UI renders the API's
operations under the page's Content-Security-Policy, with no violation, no script error and no
request to another origin (issue 14 #7)."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.test_browser_proof_of_work import WATCH_CSP, _listen


async def test_the_api_reference_renders_from_this_site_alone_under_its_policy(site, open_tab):
    tab = await open_tab(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = tab.page
    await page.add_init_script(WATCH_CSP)
    problems = _listen(page)
    origins: set[str] = set()
    page.on("request", lambda r: origins.add(urlsplit(r.url).netloc))
    response = await page.goto(f"{site.url}/schema")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    await page.locator(".opblock-summary-path", has_text="/api/v1/bookings").first.wait_for()
    await tab.step("api-reference", check=False)  # a vendored UI: axe checks our pages
    assert await page.evaluate("window.__csp") == []
    assert problems == [], problems
    assert origins == {urlsplit(site.url).netloc}
