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
