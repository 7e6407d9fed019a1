"""Every ``--help`` reads as plain text: no docstring markup, no module paths."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cli.main import build_parser


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def _readable(text: str) -> list[str]:
    return [f"{bad!r} in: {line.strip()}" for line in text.splitlines()
            for bad in ("`", "python -m", "statesim.", "cli.") if bad in line]


def test_every_help_is_plain_text() -> None:
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 20  # every subcommand and action was walked
    problems = {p.prog: found for p in parsers if (found := _readable(p.format_help()))}
    assert not problems


@pytest.mark.parametrize("system", ["metrc", "biotrack"])
def test_the_state_simulators_help_names_the_canopy_command(system: str) -> None:
    done = subprocess.run([sys.executable, "-m", "cli", "sim", system, "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: canopy sim {system}")
    assert not _readable(done.stdout)
