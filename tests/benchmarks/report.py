"""The one table `make bench` prints, and the description of the machine it ran on."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    name: str
    value: str
    unit: str = ""
    notes: str = ""


def number(value: float, digits: int = 1) -> str:
    if value != value:  # NaN: nothing was measured
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if abs(value) >= 1 else f"{value:.{digits + 1}f}"


def target(met: bool, text: str) -> str:
    return f"target {text}: {'met' if met else 'MISSED'}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def render(title: Iterable[str], rows: Sequence[Row]) -> str:
    header = ("benchmark", "value", "unit", "notes")
    widths = [
        max(len(header[0]), *(len(r.name) for r in rows)),
        max(len(header[1]), *(len(r.value) for r in rows)),
        max(len(header[2]), *(len(r.unit) for r in rows)),
    ]
    lines = list(title)
    lines.append(
        f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:<{widths[2]}}  {header[3]}"
    )
    lines.append("  ".join("-" * w for w in widths) + "  -----")
    for r in rows:
        line = f"{r.name:<{widths[0]}}  {r.value:>{widths[1]}}  {r.unit:<{widths[2]}}  {r.notes}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """nproc, CPU model, memory, Python: what docs/benchmarks.md states beside the figures."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    load = "?"
    with contextlib.suppress(OSError):
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(terse=True),
        "load": load,
    }
