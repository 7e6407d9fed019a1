"""The state's status on the floor (issue 13, item 2): the bridge's retained status says
whether the facility's state system answers; the kiosk shows a pill and, while it is down,
the band with the outage's start on the facility's clock, then the 72-hour notice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.testing import KioskRig, until
from canopy import bridge_status, topics
from canopy.bridge_status import StateSystem
from cli.broker import Mosquitto

pytestmark = pytest.mark.timeout(90)
FAC = "CA-DEMO-0001"
SINCE = datetime(2026, 12, 7, 18, 42, tzinfo=UTC)  # 10:42 in Los Angeles, the demo facility's zone
NOON = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
SAFE = "Your records are safe here and will be sent."


def bridge_says(broker: Mosquitto, bridge: str, payload: bytes) -> None:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"test-{bridge}",
                         protocol=paho.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topics.bridge_status(bridge), payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def down(notify: bool = False) -> dict[str, StateSystem]:
    return {FAC: StateSystem(False, int(SINCE.timestamp() * 1000), notify, 72.0),
            "CA-OTHER-0002": StateSystem(True)}


async def test_the_band_shows_the_outage_on_the_facilitys_clock_then_the_72_hour_notice(
        tmp_path: Path, broker: Mosquitto) -> None:
    async with KioskRig(tmp_path, broker_port=broker.port) as kiosk:
        kiosk.floor.clock = lambda: NOON

        def shown() -> dict[str, object] | None:
            value = kiosk.kiosk.status.get("state_system")
            return value if isinstance(value, dict) else None

        assert shown() is None  # no bridge has said anything: no pill
        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "online", {FAC: StateSystem(True)}))
        await until(lambda: (shown() or {}).get("reachable") is True, "the state system pill")
        assert shown() == {"reachable": True, "pill": "State system: OK", "band": None, "notify": False}

        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "online", down()))
        await until(lambda: (shown() or {}).get("reachable") is False, "the band")
        view = shown()
        assert view is not None
        assert view["band"] == f"State system unreachable since 10:42. {SAFE}"
        assert view["pill"] == "State system: unreachable since 10:42"

        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "online", down(notify=True)))
        await until(lambda: (shown() or {}).get("notify") is True, "the 72-hour notice")
        band = str((shown() or {})["band"])
        assert band.startswith("State system unreachable since 10:42, more than 72 hours:")
        assert "notify the state now" in band and "No transfers" in band and band.endswith(SAFE)

        # The next day the start carries its date.
        kiosk.floor.clock = lambda: NOON.replace(day=8)
        await until(lambda: "since Mon 7 Dec 10:42" in str((shown() or {}).get("band")), "the date")

        # The bridge goes away (its last will): it no longer speaks for the state system.
        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "offline"))
        await until(lambda: shown() is None, "the pill to go")
