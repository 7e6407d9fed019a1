"""Records on the page: delivery state from the bridge's acks, the state's rejection message,
and a rejected record corrected (a new event pointing at the old one)."""

from __future__ import annotations

import json
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.async_api import Browser, expect

from agent.demo import DEMO_TAG, flower_room_1
from agent.testing import KioskRig
from canopy import topics
from cli.broker import Mosquitto
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]


def bridge_acks(broker: Mosquitto, acks: list[dict[str, str]]) -> None:
    """Answer as the bridge does, on the kiosk's acks topic."""
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-bridge",
                         protocol=paho.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topics.acks("CA-DEMO-0001", "kiosk-01"), json.dumps({"acks": acks}).encode(),
                       qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_a_rejected_record_is_shown_with_the_states_message_and_corrected(
        tmp_path: Path, broker: Mosquitto, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, broker_port=broker.port) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await expect(page.get_by_test_id("online")).to_have_text("Online")
        await kiosk.sign_in()
        good = await kiosk.scan(flower_room_1()[0])
        bad = await kiosk.scan(DEMO_TAG)
        bridge_acks(broker, [{"id": good["event"], "status": "accepted"},
                             {"id": bad["event"], "status": "rejected",
                              "message": "Plant 1A4FF0100000022000000123 was destroyed on 2025-05-30."}])
        await expect(page.get_by_test_id("rejected")).to_have_text("To fix: 1")
        await kp.tap_id("tile-records")
        rows = page.get_by_test_id("records").locator("li")
        await expect(rows.nth(0)).to_contain_text("REJECTED")
        await expect(rows.nth(0)).to_contain_text("State said: Plant 1A4FF0100000022000000123 was destroyed")
        await expect(rows.nth(1)).to_contain_text("kept at the facility")  # a scan is not reported
        await rows.nth(0).click()
        await expect(page.get_by_test_id("selected")).to_contain_text(f"Seen: plant {DEMO_TAG}")
        await kp.tap("Rejected by the state")
        await kp.says(f"Correction saved for: Seen: plant {DEMO_TAG}.")
        await expect(rows.nth(0)).to_contain_text("Correction")
        await expect(rows.nth(1)).to_contain_text("corrected")
        [fix] = kiosk.events("record.corrected")
        assert fix["corrects"] == bad["event"]
        # The bridge stores the correction: the screen follows without a reload.
        bridge_acks(broker, [{"id": fix["id"], "status": "stored"}])
        await expect(rows.nth(0)).to_contain_text("sent")
        assert not kp.errors
