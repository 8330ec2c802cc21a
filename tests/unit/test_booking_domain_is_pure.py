"""The booking domain is pure: importing it loads no web framework, database driver or queue.

Checked in a fresh interpreter, so what the test process has already imported cannot hide an
import the domain itself makes (directly or through a module it imports).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import booking.domain

FORBIDDEN = ("litestar", "asyncpg", "arq", "redis")


def _domain_modules() -> list[str]:
    return [f"booking.domain.{m.name}" for m in pkgutil.iter_modules(booking.domain.__path__)] + [
        "booking.domain"
    ]


def test_the_domain_has_the_modules_this_test_checks():
    assert {"booking.domain.lifecycle", "booking.domain.errors", "booking.domain.visit"} <= set(
        _domain_modules()
    )


def test_no_module_of_the_booking_domain_imports_a_framework_a_driver_or_a_queue():
    script = (
        "import importlib, json, sys\n"
        f"for name in {_domain_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_the_check_would_notice_an_impure_module():
    script = "import asyncpg, json, sys; print(json.dumps('asyncpg' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True).stdout
    assert json.loads(out) is True
