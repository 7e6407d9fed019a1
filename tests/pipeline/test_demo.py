"""`canopy demo` and `canopy sim`, as a newcomer runs them, end to end."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)
TAG = "1A4FF0100000022000000123"


def canopy(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_demo_carries_a_scan_from_the_simulated_scanner_to_the_ledger(tmp_path: Path, broker: str) -> None:
    demo = subprocess.Popen([sys.executable, "-m", "cli", "demo", "--broker", broker], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert demo.stdout is not None
        banner = ""
        for line in demo.stdout:
            banner += line
            if "Try, in another terminal" in line:
                break
        assert "Canopy demo is running" in banner, banner
        assert ("embedded Python broker" in banner) == (broker == "embedded")

        saved = canopy(tmp_path, "sim", "scan", TAG)
        assert saved.returncode == 0, saved.stderr
        assert saved.stdout.strip() == f"Saved: plant {TAG}"

        misread = canopy(tmp_path, "sim", "scan", "1A4FF01")
        assert misread.returncode == 1
        assert "Not a plant tag" in misread.stdout

        ledger = tmp_path / "var" / "demo" / "ledger.db"
        deadline = time.monotonic() + 20
        rows: list[tuple[str, str]] = []
        while time.monotonic() < deadline and not rows:
            if ledger.exists():
                with sqlite3.connect(ledger) as db:
                    rows = db.execute("SELECT type, device FROM events").fetchall()
            time.sleep(0.2)
        assert rows == [("plant.scanned", "kiosk-01")]
    finally:
        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, out
    assert "demo stopped" in out


def test_sim_without_a_running_agent_says_so(tmp_path: Path) -> None:
    done = canopy(tmp_path, "sim", "scan", TAG)
    assert done.returncode == 2
    assert "no running agent with simulated devices" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("system", "expect"), [("metrc", "Metrc simulator listening on"),
                                                ("biotrack", "BioTrack simulator listening on")])
def test_state_simulators_start_from_the_canopy_command(tmp_path: Path, system: str, expect: str) -> None:
    from cli.broker import free_port

    proc = subprocess.Popen([sys.executable, "-m", "cli", "sim", system, "--port", str(free_port())],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        assert expect in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
