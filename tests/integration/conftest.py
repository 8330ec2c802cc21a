"""Fixtures shared by the notification tests: a real SMTP server and settings that use it."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import MailCatcher


@pytest.fixture
def catcher():
    with MailCatcher() as server:
        yield server


@pytest.fixture
def smtp_settings(settings, catcher):
    return msgspec.structs.replace(settings, smtp_url=catcher.url)


@pytest.fixture
async def mail_client(smtp_settings, pool, redis):
    """The app as a client, sending its mail to the catcher (through the worker)."""
    from litestar.testing import AsyncTestClient

    from app import create_app

    async with AsyncTestClient(app=create_app(smtp_settings)) as c:
        yield c
