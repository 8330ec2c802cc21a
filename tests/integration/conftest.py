"""Fixtures shared by the integration tests: a real SMTP server and settings that use it, and a
proxy in front of the test Redis that a test can cut or blackhole."""

from __future__ import annotations

import msgspec
import pytest

from tests.conftest import app_for
from tests.factories import MailCatcher
from tests.proxy import CuttableProxy


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

    async with app_for(smtp_settings) as app, AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
async def redis_proxy(stores):
    proxy = CuttableProxy(stores.redis_url)
    await proxy.start()
    yield proxy
    await proxy.stop()
