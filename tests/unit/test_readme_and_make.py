"""What a newcomer runs first stays true (issue 15 #13): `make run` installs quietly, so the
URL is not buried under pip's output, and the README's command line covers every command,
including `staff` and `purge`, and how they find the embedded database `make run` started."""

from __future__ import annotations

import re
from pathlib import Path

import app


def test_every_pip_install_in_the_makefile_is_quiet() -> None:
    installs = [line for line in Path("Makefile").read_text().splitlines() if "pip install" in line]
    assert installs
    for line in installs:
        assert line.count("--quiet") + line.count("-q") >= 2 or "-qq" in line, line


def _command_line_section() -> str:
    readme = Path("README.md").read_text(encoding="utf-8")
    found = re.search(r"^## The command line\n(.*?)^## ", readme, re.S | re.M)
    assert found, "README.md has no '## The command line' section"
    return found[1]


def test_the_readme_names_every_command_of_the_cli() -> None:
    section = _command_line_section()
    import argparse

    parser = app.build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands = set(sub.choices)
    assert {"run", "serve", "worker", "migrate", "seed", "staff", "purge"} <= commands
    for command in commands:
        assert f"wizyta {command}" in section, command
    for usage in ("wizyta staff add", "wizyta staff disable"):
        assert usage in section, usage


def test_the_readme_says_how_the_cli_finds_the_embedded_database_of_make_run() -> None:
    section = " ".join(_command_line_section().split())
    assert "while `make run` is running" in section
    assert "WIZYTA_DATA_DIR" in section
    assert "DATABASE_URL" in section
