"""The state system down, as the floor sees it (issue 13, item 2): Metrc (the simulator)
answers 503, the bridge process records the outage and its retained status says so;
the kiosk's uplink, through the production broker's access list, learns the outage's
start; when Metrc answers again, the kiosk hears it is reachable."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from statesim.metrc import FaultPlan, MetrcSimulator
from tests.pipeline.harness import Proc, wait_until
from tests.provisioned import ProvisionedSite
from tests.submit.conftest import LICENSE, bridge_toml

pytestmark = pytest.mark.timeout(120)


async def test_the_kiosk_hears_the_state_system_go_down_and_come_back(
        tmp_path: Path, provisioned: ProvisionedSite) -> None:
    sim = MetrcSimulator()
    await sim.start()
    await sim.set_faults(FaultPlan(outage_seconds=3600, outage_mode="503"))
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    bridge = Proc("bridge", ["bridge", "-c", str(bridge_toml(tmp_path, provisioned, sim.url))],
                  tmp_path / "bridge.log")
    before = int(time.time() * 1000)
    bridge.start()
    uplink = Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2), UplinkSettings(ack_timeout_s=5),
                    outbox)
    task = asyncio.create_task(uplink.run())
    try:
        await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
        await outbox.append("plant.moved", {"tag": "1A4FF0100000022000001001", "location": "Flower Room B"},
                            user="w-sam")

        def down() -> bool:
            system = uplink.status.state_system
            return system is not None and not system.reachable

        await wait_until(down, 60, "the kiosk to hear the state system is down", [bridge])
        system = uplink.status.state_system
        assert system is not None and system.since_ms is not None
        assert before - 1000 <= system.since_ms <= int(time.time() * 1000) and not system.notify
        await sim.set_faults(FaultPlan())

        def up() -> bool:
            system = uplink.status.state_system
            return system is not None and system.reachable

        await wait_until(up, 60, "the kiosk to hear the state system is back", [bridge])
    finally:
        task.cancel()
        bridge.kill9()
        await outbox.close()
        await sim.stop()
