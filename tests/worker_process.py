"""`wizyta worker` in a process of its own, as operators run it, for tests that kill it or
take its stores away."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.factories import subprocess_env

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """The worker process with `env` on top of this one's; its log goes to `log`."""

    def __init__(self, log: Path, **env: str) -> None:
        self.log_path = log
        self.env = subprocess_env(**env)
        self.log = log.open("ab")  # closed in __aexit__

    async def __aenter__(self) -> WorkerProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import app; app.main()",
            "worker",
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=asyncio.subprocess.STDOUT,
        )
        return self

    def alive(self) -> bool:
        return self.process.returncode is None

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self) -> str:
        return self.text()[-3000:]

    async def stop(self) -> int:
        """SIGTERM, as compose and systemd stop it; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def __aexit__(self, *exc: object) -> None:
        if self.alive():
            self.process.kill()
            await self.process.wait()
        self.log.close()


async def until_all_sent(pool, worker: WorkerProcess, within: float) -> float:
    """Seconds until no row is unsent; fails if the worker dies or time runs out."""
    started = time.monotonic()
    while await pool.fetchval("select count(*) from outbox where sent_at is null"):
        assert worker.alive(), f"the worker exited:\n{worker.tail()}"
        if time.monotonic() - started > within:
            pytest.fail(f"rows still unsent after {within} s:\n{worker.tail()}")
        await asyncio.sleep(0.2)
    return time.monotonic() - started
