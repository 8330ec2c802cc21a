"""`wizyta run` as a newcomer uses it: embedded stores, ready, data kept across a restart,
a clean stop on SIGTERM and on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env |= {
            "WIZYTA_DATA_DIR": str(data_dir),
            "PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        self.url = f"http://127.0.0.1:{port}"
        self.log = (data_dir.parent / f"run-{port}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import app; app.main()", "run"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, within: float = 90) -> float:
        started = time.monotonic()
        while time.monotonic() - started < within:
            assert self.process.poll() is None, "wizyta run exited early"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("wizyta run was not ready in time")

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(60)
        self.log.close()
        return code


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def test_run_serves_keeps_its_data_across_a_restart_and_stops_cleanly(data_dir: Path):
    first = Running(data_dir, _free_port())
    try:
        cold = first.wait_ready()
        points = httpx.get(f"{first.url}/api/v1/points").json()
        assert len(points) == 6
        rule = httpx.get(f"{first.url}/api/v1/points/{points[0]['id']}/hours").json()
        assert rule["days"]
    finally:
        assert first.stop(signal.SIGTERM) == 0
    log = (data_dir.parent / f"run-{first.url.rsplit(':', 1)[1]}.log").read_text()
    assert "wizyta is ready at" in log
    assert "wizyta stopped; data kept" in log
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    second = Running(data_dir, _free_port())
    try:
        warm = second.wait_ready()
        assert len(httpx.get(f"{second.url}/api/v1/points").json()) == 6
    finally:
        assert second.stop(signal.SIGINT) == 0
    log = (data_dir.parent / f"run-{second.url.rsplit(':', 1)[1]}.log").read_text()
    assert "applied migrations" not in log  # the schema was kept, nothing to apply
    assert "Traceback" not in log
    assert not (data_dir / "postgres" / "postmaster.pid").exists()  # PostgreSQL stopped too
    print(f"\nwizyta run ready: cold {cold:.1f} s, restart {warm:.1f} s")
