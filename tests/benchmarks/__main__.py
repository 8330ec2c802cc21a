"""`make bench`: run every benchmark and print one table. Never part of `make test`'s assertions.

Usage: python -m tests.benchmarks [--quick]
"""

from __future__ import annotations

import platform
import sys

from tests.benchmarks import slot_engine


def _rows(name: str, figures: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in figures.items():
        if isinstance(value, dict):
            rows += _rows(name, value, f"{prefix}{key}.")
        else:
            rows.append((f"{name}: {prefix}{key}", str(value)))
    return rows


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}"
    )
    rows = _rows("slot engine", slot_engine.run(repeats=20 if quick else 300))
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':<{width}}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
