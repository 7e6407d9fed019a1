"""Every command the README shows runs as shown, against the demo it describes.

The README's ``sh`` blocks are read here, line by line, and run in the folder a
newcomer would be in (a fresh checkout's top, here a scratch copy of it with
``canopy demo`` running). ``make demo`` and ``make test`` are the two commands
themselves (CI runs the second; tests/pipeline/test_demo.py the first).
A command may say no (exit 1: a misread refused, a health check that fails on
this machine; exit 2: one plain line saying what IT must fix), but never with a
usage error or a traceback.

The one liberty taken: ``provision install`` gets ``--root`` (the README says it
runs on the kiosk as root; a test does not write /etc).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CANOPY = str(Path(sys.executable).parent / "canopy")
THE_TWO_COMMANDS = {("make", "demo"), ("make", "test")}

pytestmark = pytest.mark.timeout(300)


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    lines = [line for block in re.findall(r"```sh\n(.*?)```", text, re.S)
             for line in block.splitlines() if line.strip()]
    commands = [shlex.split(line, comments=True) for line in lines]
    return [words for words in commands if tuple(words) not in THE_TWO_COMMANDS]


def as_run_here(words: list[str], cwd: Path) -> list[str]:
    words = [CANOPY if w in ("canopy", ".venv/bin/canopy") else w for w in words]
    if words[1:3] == ["provision", "install"]:
        words += ["--root", str(cwd / "kiosk-root")]
    return words


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Path]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([CANOPY, "demo"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Try, in another terminal" in line:
                break
        else:
            pytest.fail("the demo did not start")
        yield tmp_path
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_the_readme_shows_commands() -> None:
    commands = readme_commands()
    assert len(commands) >= 15
    assert all(words[0] in ("canopy", ".venv/bin/canopy") for words in commands), commands


def test_every_readme_command_runs_as_shown(demo: Path) -> None:
    failures = []
    for words in readme_commands():
        done = subprocess.run(as_run_here(words, demo), cwd=demo, capture_output=True, text=True,
                              timeout=120, input="246810\n246810\n")
        said = done.stdout + done.stderr
        if done.returncode not in (0, 1, 2) or "Traceback" in said or "usage:" in said:
            failures.append(f"$ {shlex.join(words)}\n  exit {done.returncode}\n  {said.strip()[-600:]}")
    assert not failures, "\n".join(failures)
