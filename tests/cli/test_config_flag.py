"""A config flag given anywhere is used; a report never reads a ledger that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser


@pytest.mark.parametrize("argv", [
    ["bridge", "-c", "mine.toml", "report", "outages"],
    ["bridge", "report", "outages", "-c", "mine.toml"],
    ["bridge", "-c", "mine.toml", "fleet"],
    ["bridge", "-c", "mine.toml", "list-workers"],
    ["bridge", "-c", "mine.toml", "run"],
    ["agent", "-c", "mine.toml", "run"],
    ["agent", "run", "-c", "mine.toml"],
    ["agent", "-c", "mine.toml"],
])
def test_the_config_flag_is_used_wherever_it_is_given(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.config == Path("mine.toml")


def test_without_a_flag_the_built_in_config_is_used() -> None:
    args = build_parser().parse_args(["bridge", "report", "outages"])
    assert args.config is None and args.verbose is False


def canopy(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_a_report_names_the_missing_ledger_and_the_config_it_came_from(tmp_path: Path) -> None:
    (tmp_path / "bridge.toml").write_text(f'[ledger]\nurl = "sqlite:///{tmp_path}/ledger.db"\n')
    done = canopy(tmp_path, "bridge", "-c", "bridge.toml", "report", "rejections")
    assert done.returncode == 2
    assert f"no ledger at {tmp_path}/ledger.db (from the config bridge.toml)" in done.stderr
    assert not (tmp_path / "ledger.db").exists()  # the report did not start an empty one
    assert "(none)" not in done.stdout
