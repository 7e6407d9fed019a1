"""A whole line from kiosk to state: outbox + uplink in-process, Mosquitto on the
production config (``provisioned``), a real bridge process with a Metrc facility
profile, and the Metrc simulator over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from statesim import simulator
from statesim.biotrack import BioTrackServer
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator
from tests.pipeline.harness import Proc, wait_until
from tests.provisioned import ProvisionedSite

LICENSE = DEMO_LICENSES[0]
BT_UBI, BT_LICENSE, BT_USER, BT_PASSWORD = "999000100", "990010", "grower@north.example", "canopy-demo"
SCALE = {"scale_id": "bench-1", "raw": "S S      0.00 g"}


def weight(value: str, unit: str = "g") -> dict[str, Any]:
    return {"value": value, "unit": unit, **SCALE, "raw": f"S S {value:>10} {unit}"}


class _Kiosk:
    """What every line's kiosk side does: record into the outbox, wait for the answers."""

    outbox: Outbox
    bridge: Proc

    async def record(self, type_: str, data: dict[str, Any], **kw: Any) -> str:
        event = await self.outbox.append(type_, data, user="worker-1", at=datetime.now(UTC), **kw)
        return event.id

    async def settled(self, ids: list[str], timeout: float = 60) -> dict[str, str]:
        async def states() -> dict[str, str]:
            return dict(await self.outbox.states())

        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            current = await states()
            if all(current.get(i) in ("accepted", "rejected") for i in ids):
                return current
            await asyncio.sleep(0.2)
        raise AssertionError(f"not settled in time: {await states()}\n{self.bridge.tail()}")


@dataclass
class Line(_Kiosk):
    sim: MetrcSimulator
    outbox: Outbox
    bridge: Proc
    uplink_task: asyncio.Task[None]

    def license_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.sim.state()["licenses"][LICENSE]
        return state

    def plant(self, label: str) -> dict[str, Any]:
        return next(p for p in self.license_state()["plants"] if p["Label"] == label)


@pytest.fixture
def provisioned_facility(request: pytest.FixtureRequest) -> str:
    """The facility the kiosk and the broker's access list are for."""
    return BT_LICENSE if "bt_line" in request.fixturenames else LICENSE


def bridge_toml(tmp: Path, broker: ProvisionedSite, sim_url: str, *, system: str = "metrc",
                license: str = LICENSE, ledger_url: str | None = None, **profile: Any) -> Path:
    settings = {"flush_interval_s": 0.2, "requests_per_s": 20, "timeout_s": 2.0, **profile}
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    credentials = (f'[facilities.metrc]\nvendor_key = "{DEMO_VENDOR_KEY}"\nuser_key = "{DEMO_USER_KEY}"\n'
                   if system == "metrc" else
                   f'[facilities.biotrack]\nubi = "{BT_UBI}"\nlocation = "{license}"\n'
                   f'username = "{BT_USER}"\npassword = "{BT_PASSWORD}"\n')
    conf = tmp / "bridge.toml"
    conf.write_text(f"""
[bridge]
id = "bridge-submit"
[mqtt]
{broker.mqtt_toml("bridge-submit", "bridge")}
backoff_min_s = 0.2
backoff_max_s = 2.0
[ledger]
url = "{ledger_url or 'sqlite:///' + str(tmp / 'ledger.db')}"

[[facilities]]
license = "{license}"
state = "{'CA' if system == 'metrc' else 'NM'}"
system = "{system}"
base_url = "{sim_url}"
timezone = "America/Los_Angeles"
{extra}
{credentials}""")
    return conf


@pytest.fixture
async def line(
    tmp_path: Path, provisioned: ProvisionedSite, request: pytest.FixtureRequest
) -> AsyncIterator[Line]:
    marker = request.node.get_closest_marker("profile")
    profile = marker.kwargs if marker else {}
    sim = simulator("metrc")
    assert isinstance(sim, MetrcSimulator)  # its request log is Metrc's own
    await sim.start()
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    bridge = Proc("bridge", ["bridge", "-c", str(bridge_toml(tmp_path, provisioned, sim.url, **profile))],
                  tmp_path / "bridge.log")
    bridge.start()
    # Events published before the bridge subscribes wait for the kiosk's republish
    # timeout; start the line only once the bridge is listening.
    await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
    await asyncio.sleep(0.3)
    uplink = Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2), UplinkSettings(ack_timeout_s=5),
                    outbox)
    task = asyncio.create_task(uplink.run())
    try:
        yield Line(sim, outbox, bridge, task)
    finally:
        task.cancel()
        bridge.kill9()
        await outbox.close()
        await sim.stop()


@dataclass
class BioTrackLine(_Kiosk):
    sim: BioTrackServer
    outbox: Outbox
    bridge: Proc

    async def state(self) -> dict[str, Any]:
        world: dict[str, Any] = (await self.sim_state())["worlds"]["live"][BT_LICENSE]
        return world

    async def sim_state(self) -> dict[str, Any]:
        """The simulator's whole state, with its sessions and call log."""
        async with httpx.AsyncClient(base_url=self.sim.base_url) as admin:
            body: dict[str, Any] = (await admin.get("/_sim/state")).json()
        return body

    async def admin(self, path: str, body: dict[str, Any]) -> None:
        """A test-only simulator route: ``faults``, ``clock``, ``sessions/expire``."""
        async with httpx.AsyncClient(base_url=self.sim.base_url) as admin:
            (await admin.post(f"/_sim/{path}", json=body)).raise_for_status()

    async def messages(self, ids: list[str]) -> dict[str, str]:
        """What the bridge told the kiosk about each event."""
        return {r.id: r.message or "" for r in await self.outbox.recent(200) if r.id in ids}


@pytest.fixture
async def bt_line(tmp_path: Path, provisioned: ProvisionedSite) -> AsyncIterator[BioTrackLine]:
    from statesim.biotrack import SimConfig

    # New Mexico's rules: a 72 h hold after a destroy is scheduled (tests move the
    # simulator's clock, never sleep), plants only from a source package.
    sim = simulator("biotrack", config=SimConfig(destroy_hold_s=72 * 3600))
    assert isinstance(sim, BioTrackServer)  # its admin routes (clock, sessions) are BioTrack's own
    await sim.start()
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=BT_LICENSE, device="kiosk-01")
    conf = bridge_toml(tmp_path, provisioned, sim.url, system="biotrack", license=BT_LICENSE)
    bridge = Proc("bridge", ["bridge", "-c", str(conf)], tmp_path / "bridge.log")
    bridge.start()
    await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
    await asyncio.sleep(0.3)
    uplink = Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2), UplinkSettings(ack_timeout_s=5),
                    outbox)
    task = asyncio.create_task(uplink.run())
    try:
        yield BioTrackLine(sim, outbox, bridge)
    finally:
        task.cancel()
        bridge.kill9()
        await outbox.close()
        await sim.stop()


__all__ = ["LICENSE", "BioTrackLine", "Line", "wait_until", "weight"]
