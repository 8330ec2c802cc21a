"""A real wizyta for the browser tests: `wizyta serve --with-worker` in a process of its own,
against a database and a Redis database of its own, sending mail to an SMTP server here; and
Debian's Chromium driven by Playwright, with axe-core checking each page it shows.

Playwright never downloads a browser: it launches /usr/bin/chromium (`make browser` installs it).
The server and the browser live for one test module, so nothing of theirs is still running when
the other tests of this folder (`wizyta run` in test_run.py) start processes of their own.
Screenshots of each step go to test-artifacts/screenshots/<test>/, axe's findings per page to
test-artifacts/axe/.
"""

from __future__ import annotations

import asyncio
import email.policy
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from core import db
from staff.accounts import add_staff
from tests.conftest import Stores, empty_tables

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
STAFF_PASSWORD = "correct horse battery staple"
BLOCKING = ("serious", "critical")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- mail


class Mailbox:
    """An SMTP server (aiosmtpd in its own thread) that keeps every message it is given."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._received: list[bytes] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._received.append(envelope.content)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            raw = list(self._received)
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(m) for m in raw]  # type: ignore[misc]

    async def wait_for(self, to: str, subject: str = "", within: float = 20) -> EmailMessage:
        """The first message to `to` whose subject contains `subject`, waiting for the worker."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for message in self.messages():
                if to in str(message["To"]) and subject in str(message["Subject"]):
                    return message
            await asyncio.sleep(0.1)
        seen = [(str(m["To"]), str(m["Subject"])) for m in self.messages()]
        raise AssertionError(f"no mail to {to} about {subject!r} in {within} s; got {seen}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no text/plain part"
    return part.get_content()


def link_in(message: EmailMessage, path_pattern: str) -> str:
    """The first URL in the plain-text body whose path matches `path_pattern`."""
    for url in re.findall(r"https?://\S+", text_of(message)):
        if re.search(path_pattern, urlsplit(url).path):
            return url.rstrip(".,)>")
    raise AssertionError(f"no link matching {path_pattern!r} in:\n{text_of(message)}")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


# ---------------------------------------------------------------------------- the server


class Site:
    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url

    async def reset(self) -> None:
        """Empty tables, then the seed data: every test starts from the same points."""
        from scheduling.seed import seed_database

        conn = await db.connect(self.database_url)
        try:
            # The live site's worker may be working on a table (its cron) while the rows are
            # deleted one table after another: PostgreSQL may then break a deadlock by
            # cancelling the delete. It is safe to try again.
            for attempt in range(5):
                try:
                    await empty_tables(conn)
                    break
                except asyncpg.DeadlockDetectedError:
                    if attempt == 4:
                        raise
            await seed_database(conn)
            await add_staff(
                conn, "basztowa@wizyta.test", "staff", ["krakow-basztowa-22"], STAFF_PASSWORD
            )
        finally:
            await conn.close()

    async def fetchval(self, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


def _own_redis_database(url: str) -> str:
    """The same Redis, database 5: the browser tests' queue never meets the other tests'."""
    return urlunsplit(urlsplit(url)._replace(path="/5"))


@pytest.fixture(scope="module")
async def live_site(
    stores: Stores, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    from core.migrate import apply_migrations

    database_url = await stores.create_database("wizyta_browser")
    conn = await db.connect(database_url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path_factory.mktemp("site")
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": _own_redis_database(stores.redis_url),
        "SMTP_URL": mailbox.url,
        "PUBLIC_URL": url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WIZYTA_DATA_DIR": str(data_dir),
        "RATE_LIMIT": "off",
        # The booking form asks for a proof of work, as in production: the browser's widget
        # solves it (the points' default difficulty, or a smaller one set by a test).
        "PROOF_OF_WORK": "on",
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": "5",
    }
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(  # noqa: ASYNC220 (returns at once; runs for the whole package)
        [sys.executable, "-c", "import app; app.main()", "serve", "--with-worker"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                assert process.poll() is None, (data_dir / "server.log").read_text()
                try:
                    if (await client.get(f"{url}/readyz", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("wizyta serve was not ready in 30 s")
        yield Site(url, database_url)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        server_log = (data_dir / "server.log").read_text()
        (ARTIFACTS / "server.log").parent.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "server.log").write_text(server_log)
        await stores.drop_database(database_url)


@pytest.fixture
async def site(live_site: Site) -> Site:
    await live_site.reset()
    return live_site


# ---------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not HAVE_CHROMIUM:
        pytest.skip("Debian's Chromium is missing: `make browser` installs it")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class Axe:
    """axe-core (bundled with axe-playwright-python) over each page; findings kept per page."""

    def __init__(self) -> None:
        from axe_playwright_python.async_playwright import Axe as Runner

        self.runner = Runner()
        self.pages: dict[str, dict[str, int]] = {}
        self.details: dict[str, list[dict[str, Any]]] = {}

    async def check(self, page: Any, name: str) -> None:
        results = await self.runner.run(page)
        violations = results.response["violations"]
        counts = {impact: 0 for impact in ("minor", "moderate", "serious", "critical")}
        for violation in violations:
            counts[violation.get("impact") or "minor"] += len(violation["nodes"])
        self.pages[name] = counts
        self.details[name] = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "targets": [n["target"] for n in v["nodes"]],
            }
            for v in violations
        ]

    def blocking(self) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [v for v in found if v["impact"] in BLOCKING]
            for name, found in self.details.items()
            if any(v["impact"] in BLOCKING for v in found)
        }


@pytest.fixture(scope="package")
def axe() -> Iterator[Axe]:
    checker = Axe()
    yield checker
    out = ARTIFACTS / "axe"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(checker.pages, indent=2, sort_keys=True))
    (out / "violations.json").write_text(
        json.dumps(checker.details, indent=2, sort_keys=True, ensure_ascii=False)
    )


class Steps:
    """A browser tab that records each step: a full-page screenshot and axe's findings."""

    def __init__(self, page: Any, axe: Axe, folder: Path, site: Site) -> None:
        self.page = page
        self.axe = axe
        self.folder = folder
        self.site = site
        self.count = 0

    async def goto(self, path: str) -> Any:
        response = await self.page.goto(path if "://" in path else self.site.url + path)
        return response

    async def step(self, name: str, *, check: bool = True) -> None:
        """Screenshot the page as it is now and, unless told not to, let axe check it."""
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(
            path=self.folder / f"{self.count:02d}-{name}.png", full_page=True
        )
        if check:
            page_name = (
                f"{self.folder.relative_to(ARTIFACTS / 'screenshots')}/{self.count:02d}-{name}"
            )
            await self.axe.check(self.page, page_name)
            blocking = self.axe.blocking().get(page_name)
            assert not blocking, (
                f"axe finds serious or critical problems on {page_name}: {blocking}"
            )


@pytest.fixture
async def open_tab(browser: Any, axe: Axe, site: Site, request: pytest.FixtureRequest):
    """`await open_tab(name, **context options)` -> Steps; its browser context closes after."""
    contexts: list[Any] = []
    folder = ARTIFACTS / "screenshots" / request.node.name

    async def opener(name: str = "", **options: Any) -> Steps:
        context = await browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = await context.new_page()
        return Steps(page, axe, folder / name if name else folder, site)

    yield opener
    for context in contexts:
        await context.close()
