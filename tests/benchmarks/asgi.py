"""The same app for other ASGI servers, to compare servers and event loops (`--server`).

The project itself serves with `wizyta serve`; this factory builds the identical app from the
same environment so that uvicorn with uvloop, or granian, can run it for a comparison.
"""

from __future__ import annotations

from litestar import Litestar

from app import create_app
from core.settings import Settings


def app() -> Litestar:
    return create_app(Settings.from_env())
