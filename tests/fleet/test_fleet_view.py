"""`canopy bridge fleet`: the kiosks as their retained status messages describe them,
read through the generated broker with the bridge's own bundle."""

from __future__ import annotations

import asyncio
import json
import time
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from canopy import __version__, topics
from canopy.mqtt import cancel
from tests.fleet.conftest import FACILITY, Estate
from tests.fleet.helpers import Client, bundle_settings, localize, run_cli

pytestmark = pytest.mark.timeout(60)


@asynccontextmanager
async def kiosk(estate: Estate, device: str, db: Path, backlog: int) -> AsyncIterator[Uplink]:
    """A kiosk's real uplink and outbox, logged in with its enrolled credentials."""
    box = await Outbox.open(db, facility=FACILITY, device=device)
    for i in range(backlog):
        await box.append("plant.scanned", {"tag": f"1A4FF0100000000000000{i:03d}"}, user="w")
    uplink = Uplink(bundle_settings(estate.bundle(device)), UplinkSettings(status_interval_s=1), box)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        await cancel(task)  # no DISCONNECT: to the broker this kiosk just died
        await box.close()


def state_of(watcher: Client, device: str) -> dict[str, object]:
    payloads = watcher.payloads(topics.status(FACILITY, device))
    if not payloads:
        return {}
    body: dict[str, object] = json.loads(payloads[-1])
    return body


async def test_fleet_lists_online_offline_and_stale_kiosks(estate: Estate, tmp_path: Path) -> None:
    estate.ensure("kiosk-c", "kiosk")  # enrolled, and the broker restarted to read its access list
    bridge = estate.bundle("bridge-1")
    bridge_toml = localize(bridge, "bridge.toml")
    # The running bridge (its own login) watches the statuses too.
    subscriptions = (topics.shared("canopy-bridge", topics.ALL_EVENTS), topics.ALL_STATUS)
    async with (
        Client(bundle_settings(bridge, config="bridge.toml"), "bridge-1",
               subscriptions=subscriptions) as watcher,
        kiosk(estate, "kiosk-a", tmp_path / "a.db", backlog=3),
    ):
        async with kiosk(estate, "kiosk-b", tmp_path / "b.db", backlog=0):
            await watcher.wait_for(lambda: state_of(watcher, "kiosk-b").get("state") == "online")
        await watcher.wait_for(lambda: state_of(watcher, "kiosk-b").get("state") == "offline")  # last will
        async with Client(bundle_settings(estate.bundle("kiosk-c")), "kiosk-c") as kiosk_c:
            old = {"v": 1, "state": "online", "facility": FACILITY, "device": "kiosk-c", "version": "0.0.9",
                   "at": int(time.time()) - 3600, "backlog": 7, "oldest_unsent_age_s": 3000.0,
                   "fault": "printer out of labels"}
            kiosk_c.conn.publish(topics.status(FACILITY, "kiosk-c"), json.dumps(old).encode(), retain=True)
            await watcher.wait_for(lambda: state_of(watcher, "kiosk-c").get("backlog") == 7)
        await watcher.wait_for(lambda: state_of(watcher, "kiosk-a").get("backlog") == 3)

        listing = await asyncio.to_thread(run_cli, "bridge", "fleet", "-c", str(bridge_toml), "--json")
        table = await asyncio.to_thread(run_cli, "bridge", "fleet", "-c", str(bridge_toml))
        assert watcher.disconnects == []  # the fleet view never took over the bridge's session

    assert listing.code == 0, listing.err
    rows = {r["device"]: r for r in json.loads(listing.out)}
    assert set(rows) == {"kiosk-a", "kiosk-b", "kiosk-c"}
    assert rows["kiosk-a"]["state"] == "online" and rows["kiosk-a"]["backlog"] == 3
    assert rows["kiosk-a"]["oldest_unsent_age_s"] is not None
    assert rows["kiosk-a"]["version"] == __version__ and rows["kiosk-a"]["last_seen"] is not None
    assert rows["kiosk-b"]["state"] == "offline"
    assert rows["kiosk-c"]["state"] == "stale"  # said online an hour ago
    assert rows["kiosk-c"]["fault"] == "printer out of labels" and rows["kiosk-c"]["version"] == "0.0.9"
    assert all(r["facility"] == FACILITY for r in rows.values())

    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split()[:3] == ["FACILITY", "DEVICE", "STATE"]
    assert [line.split()[1] for line in lines[1:4]] == ["kiosk-a", "kiosk-b", "kiosk-c"]
    assert "printer out of labels" in lines[3]
    assert lines[-1] == "3 kiosks: 1 online, 1 stale, 1 offline"


async def test_fleet_with_no_kiosks_and_with_a_revoked_bridge(estate: Estate) -> None:
    bridge = estate.bundle("bridge-1")
    good = localize(bridge, "bridge.toml")
    empty = await asyncio.to_thread(run_cli, "bridge", "fleet", "-c", str(good))
    assert empty.code == 0 and "no kiosk has published a status yet" in empty.out
    real = tomllib.loads((bridge / "bridge.toml").read_text())["mqtt"]["password"]
    assert run_cli("provision", "revoke", "--ca", str(estate.ca.path), "--device", "bridge-1").code == 0
    estate.broker.restart()  # the twin's certificate is revoked with the bridge's
    bad = good
    refused = await asyncio.to_thread(run_cli, "bridge", "fleet", "-c", str(bad), "--timeout", "5")
    assert refused.code == 2
    assert "refused the TLS client certificate" in refused.err
    assert real not in refused.err + refused.out
    estate.broker.kill()
    down = await asyncio.to_thread(run_cli, "bridge", "fleet", "-c", str(bad), "--timeout", "3")
    assert down.code == 2 and "cannot reach broker" in down.err


def test_fleet_without_its_own_certificate_refuses_rather_than_take_over(estate: Estate) -> None:
    """The broker takes the login from the certificate: with the bridge's own, the
    fleet view would log in as the bridge and take over its session."""
    bridge = estate.bundle("bridge-1")
    (bridge / "fleet.crt").unlink()
    result = run_cli("bridge", "fleet", "-c", str(localize(bridge, "bridge.toml")), "--timeout", "3")
    assert result.code == 2 and "needs its own certificate" in result.err
    assert "canopy provision bridge --replace" in result.err
