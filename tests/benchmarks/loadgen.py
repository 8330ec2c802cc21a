"""HTTP load from a process of its own: `wrk` when it is installed, else a small asyncio client.

Two shapes of load, both on loopback only and bounded in time and in count:

- `loop`: `connections` keep-alive connections, each sending its next request as soon as the
  previous answer arrived, for `duration` seconds (and at most `max_requests` requests). The
  requests are one fixed GET, or booking POSTs that each take the next start from a list and a
  fresh Idempotency-Key and e-mail (one person, one visit).
- `burst`: a list of requests, each on a connection of its own, all opened first and then sent
  at the same instant (the morning rush); every answer is kept.

Run as `python -m tests.benchmarks.loadgen SPEC.json OUT.json` (what `run_python` does), so the
client never shares a process, and so never a GIL, with the server or the harness.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
REQUEST_TIMEOUT = 30.0  # seconds for one answer; more counts as an error, never a hang


@dataclass
class Booking:
    """What every booking POST shares; the start comes from `starts` (a file, one per line)."""

    point_id: str
    service_id: str
    language: str
    starts_file: str
    key_prefix: str
    #: with RATE_LIMIT and PROOF_OF_WORK on (`--guarded`): a file of solutions, one a line, one
    #: per request; each request then also comes from an address of its own (X-Forwarded-For)
    proofs_file: str = ""


@dataclass
class LoopSpec:
    host: str
    port: int
    connections: int
    duration: float
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    booking: Booking | None = None
    max_requests: int = 1_000_000


@dataclass
class LoopResult:
    tool: str
    requests: int
    seconds: float
    statuses: dict[str, int]
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float = float("nan")  # seconds of CPU the run cost the server (set by the caller)
    db_cpu: float = float("nan")  # ...and PostgreSQL

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, *codes: int) -> int:
        return sum(self.statuses.get(str(code), 0) for code in codes)

    def count_5xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if code.startswith("5"))


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


# ---------------------------------------------------------------------------- requests


def booking_body(booking: Booking, start: str, person: str) -> bytes:
    return json.dumps(
        {
            "point_id": booking.point_id,
            "service_id": booking.service_id,
            "start": start,
            "language": booking.language,
            "visitor": {"name": "Bench Visitor", "email": f"{person}@example.org"},
        },
        separators=(",", ":"),
    ).encode()


def raw_request(
    method: str, path: str, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    if status in (204, 304) or 100 <= status < 200:
        return status, b""
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.read()


# ---------------------------------------------------------------------------- asyncio client


async def _loop(spec: LoopSpec, starts: list[str], proofs: list[str]) -> LoopResult:
    host = f"{spec.host}:{spec.port}"
    fixed = raw_request("GET", spec.path, host, spec.headers)
    counter = 0
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    deadline = time.monotonic() + spec.duration

    def next_request() -> bytes:
        nonlocal counter
        counter += 1
        if spec.booking is None:
            return fixed
        person = f"{spec.booking.key_prefix}-py-{counter}"
        body = booking_body(spec.booking, starts[(counter - 1) % len(starts)], person)
        headers = {"Content-Type": "application/json", "Idempotency-Key": person}
        if proofs:
            headers["Altcha"] = proofs[(counter - 1) % len(proofs)]
            headers["X-Forwarded-For"] = (
                f"10.{counter >> 16 & 255}.{counter >> 8 & 255}.{counter & 255}"
            )
        return raw_request("POST", spec.path, host, headers, body)

    async def connection() -> None:
        nonlocal errors
        reader = writer = None
        while time.monotonic() < deadline and counter < spec.max_requests:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(spec.host, spec.port)
                request = next_request()
                started = time.perf_counter()
                writer.write(request)
                status, _ = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(spec.connections)))
    seconds = time.perf_counter() - began
    latencies.sort()
    return LoopResult(
        tool="python",
        requests=len(latencies),
        seconds=seconds,
        statuses=statuses,
        errors=errors,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
    )


async def _burst(host: str, port: int, requests: list[dict], keep_bodies: bool) -> list[dict]:
    """Open one connection per request, then send them all at once; keep each answer."""
    connecting = asyncio.Semaphore(100)  # connect a hundred at a time, then fire together
    go = asyncio.Event()
    ready = 0
    authority = f"{host}:{port}"

    async def client(request: dict) -> dict:
        nonlocal ready
        raw = raw_request(
            request["method"],
            request["path"],
            authority,
            request.get("headers", {}),
            request.get("body", "").encode(),
        )
        try:
            async with connecting:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), REQUEST_TIMEOUT
                )
        except (TimeoutError, OSError) as e:
            return {"status": 0, "ms": 0.0, "error": type(e).__name__}
        finally:
            ready += 1
            if ready == len(requests):
                go.set()
        await go.wait()
        started = time.perf_counter()
        try:
            writer.write(raw)
            status, body = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT * 2)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
            elapsed = (time.perf_counter() - started) * 1000
            return {"status": 0, "ms": elapsed, "error": type(e).__name__}
        finally:
            writer.close()
        answer: dict = {"status": status, "ms": (time.perf_counter() - started) * 1000}
        if keep_bodies:
            answer["body"] = body.decode("utf-8", "replace")
        return answer

    return list(await asyncio.gather(*(client(r) for r in requests)))


def _main(argv: list[str]) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text())
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover
        run = asyncio.run
    if spec["mode"] == "loop":
        loop = spec["loop"]
        raw_booking = loop.pop("booking", None)
        booking = Booking(**raw_booking) if raw_booking else None
        starts = Path(booking.starts_file).read_text().split() if booking else []
        proofs = (
            Path(booking.proofs_file).read_text().split() if booking and booking.proofs_file else []
        )
        result = asdict(run(_loop(LoopSpec(**loop, booking=booking), starts, proofs)))
    else:
        result = run(_burst(spec["host"], spec["port"], spec["requests"], spec["keep_bodies"]))
    Path(out_path).write_text(json.dumps(result))


# ---------------------------------------------------------------------------- from the harness


def _run_python(spec: dict, timeout: float) -> object:
    with tempfile.TemporaryDirectory(prefix="wizyta-load-") as folder:
        spec_path, out_path = Path(folder, "spec.json"), Path(folder, "out.json")
        spec_path.write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.loadgen", str(spec_path), str(out_path)],
            check=True,
            timeout=timeout,
            cwd=Path(__file__).resolve().parents[2],
        )
        return json.loads(out_path.read_text())


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def loop(spec: LoopSpec) -> LoopResult:
    """Closed-loop load for spec.duration seconds, by wrk if it is there."""
    if wrk_available():
        return _wrk(spec)
    raw = asdict(spec)
    result = _run_python({"mode": "loop", "loop": raw}, timeout=spec.duration + 60)
    return LoopResult(**result)  # type: ignore[arg-type]


def burst(host: str, port: int, requests: list[dict], *, keep_bodies: bool = False) -> list[dict]:
    """Every request at once, each on its own connection; the answers in request order."""
    spec = {
        "mode": "burst",
        "host": host,
        "port": port,
        "requests": requests,
        "keep_bodies": keep_bodies,
    }
    return _run_python(spec, timeout=REQUEST_TIMEOUT * 4 + 60)  # type: ignore[return-value]


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of plain text is a valid Lua string literal


def _wrk(spec: LoopSpec) -> LoopResult:
    threads = 2 if spec.connections >= 2 else 1
    config = {
        "MODE": "booking" if spec.booking else "get",
        "PATH": spec.path,
        "NTHREADS": threads,
        "MAX_REQUESTS": spec.max_requests,
    }
    if spec.booking:
        config |= {
            "POINT": spec.booking.point_id,
            "SERVICE": spec.booking.service_id,
            "LANGUAGE": spec.booking.language,
            "STARTS_FILE": spec.booking.starts_file,
            "PREFIX": spec.booking.key_prefix,
            "PROOFS_FILE": spec.booking.proofs_file,
        }
    header = [
        f"{name} = {_lua_string(v) if isinstance(v, str) else v}" for name, v in config.items()
    ]
    header.append(
        "HEADERS = {"
        + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in spec.headers.items())
        + "}"
    )
    with tempfile.TemporaryDirectory(prefix="wizyta-wrk-") as folder:
        script = Path(folder, "load.lua")
        script.write_text("\n".join(header) + "\n" + WRK_SCRIPT.read_text())
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{spec.connections}",
            f"-d{max(1, round(spec.duration))}s",
            f"--timeout={int(REQUEST_TIMEOUT)}s",
            "-s",
            str(script),
            f"http://{spec.host}:{spec.port}{spec.path}",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=spec.duration + 60, check=False
        )
    match = re.search(r"^WRK_JSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    report = json.loads(match.group(1))
    return LoopResult(
        tool="wrk",
        requests=report["requests"],
        seconds=report["seconds"],
        statuses={str(k): v for k, v in report["statuses"].items()},
        errors=report["errors"],
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
    )


if __name__ == "__main__":
    _main(sys.argv[1:])
