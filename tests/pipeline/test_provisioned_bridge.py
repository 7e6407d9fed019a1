"""The bridge on the production broker config, with a facility profile (so it
publishes reference data too) and a kiosk's real uplink and outbox.

Before: the bridge's ingest and reference-data connections shared one login,
the broker (client id = login) kicked one off for the other about twice a
second, and half the events waited for the kiosk's 30 s republish. After a
broker restart, the events Mosquitto held for the bridges' shared subscription
were gone, and they too waited 30 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from statesim.metrc import DEMO_LICENSES, MetrcSimulator
from tests.pipeline.harness import LedgerView, Proc, tag, wait_until
from tests.provisioned import ProvisionedSite

pytestmark = pytest.mark.timeout(120)
LICENSE = DEMO_LICENSES[0]
CONFIRMED = ("stored", "accepted", "rejected")  # the bridge has it (and maybe the state too)
ACK_TIMEOUT_S = 30.0  # the production default: anything it catches took 30 s


@pytest.fixture
def provisioned_facility() -> str:
    return LICENSE


def bridge_toml(tmp: Path, site: ProvisionedSite, sim_url: str, ledger_url: str, bridge_id: str) -> Path:
    return site.metrc_bridge_toml(tmp, bridge_id, LICENSE, sim_url, ledger_url,
                                  facility_extra="refsync_interval_s = 1")


@dataclass
class Site:
    provisioned: ProvisionedSite
    sim: MetrcSimulator
    outbox: Outbox
    uplink: Uplink
    bridge: Proc
    ledger: LedgerView
    refs: dict[str, bytes]

    async def stored_within(self, ids: list[str], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while True:
                states = await self.outbox.states()
                if all(states.get(i) in CONFIRMED for i in ids):
                    return
                await asyncio.sleep(0.02)


@pytest.fixture
async def site(tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str) -> AsyncIterator[Site]:
    sim = MetrcSimulator()
    await sim.start()
    bridge = Proc("bridge-1", ["bridge", "-c", str(bridge_toml(tmp_path, provisioned, sim.url, ledger_url,
                                                                "bridge-1"))], tmp_path / "bridge-1.log")
    bridge.start()
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    refs: dict[str, bytes] = {}

    async def on_ref(name: str, payload: bytes) -> None:
        refs[name] = payload

    uplink = Uplink(provisioned.settings("kiosk-01"), UplinkSettings(ack_timeout_s=ACK_TIMEOUT_S), outbox,
                    on_ref=on_ref)
    task = asyncio.create_task(uplink.run())
    try:
        await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
        await asyncio.wait_for(uplink.conn.wait_connected(), 10)
        yield Site(provisioned, sim, outbox, uplink, bridge, LedgerView(ledger_url), refs)
    finally:
        task.cancel()
        bridge.kill9()
        await outbox.close()
        await sim.stop()


async def scan(site: Site, n: int) -> str:
    event = await site.outbox.append("plant.scanned", {"tag": tag(n)}, user="worker-1", at=datetime.now(UTC))
    return event.id


async def test_the_bridge_keeps_one_connection_and_stores_every_event_at_once(site: Site) -> None:
    # Long enough for several reference-data rounds (refsync_interval_s = 1).
    latencies = []
    for n in range(40):
        start = time.monotonic()
        event_id = await scan(site, n)
        await site.stored_within([event_id], ACK_TIMEOUT_S / 3)
        latencies.append(time.monotonic() - start)
        await asyncio.sleep(0.1)
    log = site.provisioned.broker.log_text()
    # One connection, never taken over: Mosquitto logs a takeover as "already connected".
    assert log.count("as bridge-1 ") == 1, log[-3000:]
    assert "already connected" not in log
    assert site.bridge.tail(400).count("connected to") == 1
    assert "disconnected from" not in site.bridge.tail(400)
    assert site.uplink.status.republished == 0  # nothing waited for the ack timeout
    # The figure itself is bench/'s (bench/provisioned_latency.py); a dropped
    # event would show here as ~30 s.
    assert max(latencies) < 3.0, latencies
    # Reference data went out on that same connection, and reached the kiosk.
    assert {"rooms", "strains"} <= set(site.refs), site.refs


async def test_after_a_broker_restart_the_backlog_does_not_wait_for_the_ack_timeout(site: Site) -> None:
    warm = [await scan(site, n) for n in range(5)]
    await site.stored_within(warm, 10)
    # The bridge goes away; events queue on the broker for its shared subscription.
    site.bridge.kill9()
    queued = [await scan(site, 100 + n) for n in range(30)]
    await wait_until(lambda: site.uplink.status.published >= 35, 10, "events published")
    await asyncio.sleep(0.5)  # PUBACKed: the broker holds them
    # The broker crashes and comes back: what it held for the offline shared
    # subscription since its last autosave is gone (a clean restart keeps it).
    site.provisioned.broker.kill()
    site.provisioned.broker.start()
    site.bridge.start()
    start = time.monotonic()
    await site.stored_within(queued, ACK_TIMEOUT_S / 2)
    took = time.monotonic() - start
    assert site.uplink.status.republished >= 1  # resent because the bridge said "online"
    assert took < ACK_TIMEOUT_S / 2
    assert sorted(r[0] for r in site.ledger.rows()) == sorted(warm + queued)
