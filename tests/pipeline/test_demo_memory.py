"""`canopy demo` tells the truth across runs: kiosk, bridge and state simulator remember together
(a plant destroyed in one run stays destroyed in the next; `--fresh` starts all three over), the
demo farm has packages, and a state simulator that stops is started again, not the end of the demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from agent.demo import DEMO_PACKAGES, tag
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(180)
PLANT = tag(0, 201)  # a flowering OG Kush plant in Flower Room 2
LICENSE = "CA-DEMO-0001"


def _until(out: IO[str], text: str) -> str:
    seen = ""
    for line in out:
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never came; the demo said:\n{seen}")


@contextmanager
def demo(cwd: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """A running demo, its banner and its state simulator's address."""
    proc = subprocess.Popen([sys.executable, "-m", "cli", "demo", "--broker", "mosquitto", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        banner = _until(proc.stdout, "Try, in another terminal")
        found = re.search(r"Metrc simulator (http://127\.0\.0\.1:\d+)/_sim/state", banner)
        assert found is not None, banner
        yield proc, banner, found.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out


def plants(url: str) -> dict[str, dict[str, Any]]:
    state = httpx.get(f"{url}/_sim/state", params={"license": LICENSE}, timeout=10).json()
    return {p["Label"]: p for p in state["licenses"][LICENSE]["plants"]} | {
        "packages": {p["Label"]: p for p in state["licenses"][LICENSE]["packages"]}}


def destroy(url: str) -> httpx.Response:
    """What the bridge sends for a plant.destroyed (state-apis: DELETE /plants/v2 with a body)."""
    from bridge.state.metrc import wire_dumps
    from statesim.metrc import DEMO_USER_KEY, DEMO_VENDOR_KEY

    body = [{"Label": PLANT, "WasteMethodName": "Compost", "WasteMaterialMixed": "Soil",
             "WasteWeight": Decimal("10"), "WasteUnitOfMeasureName": "Grams",
             "WasteReasonName": "Contamination", "ReasonNote": "mold",
             "ActualDate": datetime.now(ZoneInfo("America/Los_Angeles")).date().isoformat()}]
    return httpx.request("DELETE", f"{url}/plants/v2", params={"licenseNumber": LICENSE},
                         content=wire_dumps(body), auth=(DEMO_VENDOR_KEY, DEMO_USER_KEY),
                         headers={"Content-Type": "application/json"}, timeout=10)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sim/state", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def simulator_pid(demo_pid: int) -> int:
    """The demo's own state simulator process (its child running `sim metrc`), by id."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == demo_pid and b"metrc" in cmdline and b"sim" in cmdline:
            return int(entry.name)
    raise AssertionError("the demo's state simulator is not running")


def test_the_demo_remembers_together_restarts_its_simulator_and_has_packages(tmp_path: Path) -> None:
    with demo(tmp_path) as (proc, banner, url):
        assert "remember between runs" in banner
        assert set(plants(url)["packages"]) == {p["tag"] for p in DEMO_PACKAGES}
        os.kill(simulator_pid(proc.pid), signal.SIGKILL)  # the simulator dies mid-demo
        assert proc.stdout is not None
        said = _until(proc.stdout, "started again")
        assert "The metrc simulator stopped" in said
        wait_until(lambda: answers(url), "the restarted simulator to listen", 30)
        destroyed = destroy(url)  # the restarted simulator answers on the same address
        assert destroyed.status_code == 200, destroyed.text
        assert plants(url)[PLANT]["State"] == "Destroyed"
    with demo(tmp_path) as (_, banner, url):
        assert plants(url)[PLANT]["State"] == "Destroyed"  # remembered: not "accepted" again
        assert destroy(url).status_code == 400
    (tmp_path / "var" / "demo" / "metrc-journal.jsonl").unlink()  # the parts would disagree now
    with demo(tmp_path) as (_, banner, url):
        assert "was missing, so the kiosk and the bridge were reset with it" in banner
        assert plants(url)[PLANT]["State"] != "Destroyed"
