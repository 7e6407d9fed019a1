"""Both state simulators start, stop, show their state and take faults through one
interface (``statesim.StateSimulator``), each in its own fault vocabulary; the
registry that makes them is what ``canopy sim <system>`` runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from statesim import SIMULATORS, simulator
from statesim.metrc import DEMO_USER_KEY, DEMO_VENDOR_KEY

pytestmark = pytest.mark.timeout(60)


async def _metrc_call(url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{url}/unitsofmeasure/v2/active", auth=(DEMO_VENDOR_KEY, DEMO_USER_KEY))
    return answer.status_code


async def _biotrack_call(url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.post(url, content=b'{"API": "4.0", "action": "login"}')
    return answer.status_code


@dataclass(frozen=True)
class Probe:
    """One harmless call per system, and a fault plan (in its own words) that fails it."""

    call: Callable[[str], Awaitable[int]]
    failing_plan: dict[str, Any]


PROBES = {
    "metrc": Probe(_metrc_call, {"rules": [{"action": "error", "status": 503, "path": "/unitsofmeasure/*"}]}),
    "biotrack": Probe(_biotrack_call, {"rules": [{"kind": "status", "status": 503}]}),
}


def test_every_simulator_has_a_probe() -> None:
    assert set(PROBES) == set(SIMULATORS)


@pytest.mark.parametrize("system", sorted(SIMULATORS))
async def test_one_interface_for_every_state_simulator(system: str) -> None:
    probe = PROBES[system]
    sim = simulator(system)
    assert sim.system == system
    url = await sim.start()
    try:
        assert url == sim.url
        assert await probe.call(url) == 200
        assert isinstance(sim.state(), dict) and sim.state()

        await sim.set_faults(probe.failing_plan)
        assert await probe.call(url) == 503
        await sim.clear_faults()
        assert await probe.call(url) == 200
    finally:
        await sim.stop()
    with pytest.raises(httpx.ConnectError):
        await probe.call(url)


def test_an_unknown_system_is_named_with_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match="metrc"):
        simulator("leaf")


@pytest.mark.parametrize("system", sorted(SIMULATORS))
def test_canopy_sim_help_names_the_command_people_type(system: str) -> None:
    done = subprocess.run([sys.executable, "-m", "cli", "sim", system, "--help"],
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.startswith(f"usage: canopy sim {system} ")
    assert "python -m" not in done.stdout and "`" not in done.stdout
