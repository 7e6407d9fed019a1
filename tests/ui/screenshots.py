"""Screenshots of the kiosk's main screens for the README, taken from a real run.

    .venv/bin/python tests/ui/screenshots.py [--out docs/screenshots]

The same rig as the tests: a kiosk agent on simulated devices, its page in
headless Chromium at the smallest supported panel (the 7" Raspberry Pi Touch
Display, 800 x 480), a private Mosquitto standing in for the bridge's answers.
The demo's simulator panel is shown as on a desktop (1280 x 800).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from playwright.async_api import async_playwright, expect  # noqa: E402

from agent.demo import DEMO_TAG, WORKERS, flower_room_1, tag  # noqa: E402
from agent.testing import KioskRig  # noqa: E402
from canopy import topics  # noqa: E402
from cli.broker import Mosquitto  # noqa: E402
from kiosk_ui import PANELS  # noqa: E402
from tests.ui.pages import KioskPage, launch, open_kiosk  # noqa: E402

DANA, SAM, _ = WORKERS
SMALLEST = "touch-display"


class StoringBridge:
    """Stands in for the bridge: answers "stored" for every event, so the screens show "All sent"."""

    def __init__(self, port: int) -> None:
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id="shots-storer", protocol=paho.MQTTv5)
        self.client.on_message = self._stored
        self.client.on_connect = lambda c, *_: c.subscribe(topics.ALL_EVENTS, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _stored(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        ids = [json.loads(line)["id"] for line in bytes(msg.payload).split(b"\n") if line.strip()]
        acks = topics.acks("CA-DEMO-0001", "kiosk-01")
        client.publish(acks, json.dumps({"acks": [{"id": i, "status": "stored"} for i in ids]}), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def reject(port: int, event_id: str, message: str) -> None:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="shots-bridge",
                         protocol=paho.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    body = {"acks": [{"id": event_id, "status": "rejected", "message": message}]}
    client.publish(topics.acks("CA-DEMO-0001", "kiosk-01"), json.dumps(body).encode(), qos=1) \
        .wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


async def shoot(out: Path, work: Path) -> list[Path]:
    broker = Mosquitto(work / "broker")
    broker.start()
    bridge = StoringBridge(broker.port)
    taken: list[Path] = []

    async def shot(kp: KioskPage, name: str) -> None:
        await asyncio.sleep(0.3)  # let the tower-light flash and the band settle
        # As the screen opened: a tap scrolls the task area to reach its button, a worker may not.
        await kp.page.evaluate("() => { document.getElementById('screen').scrollTop = 0; }")
        path = out / name
        await kp.shot(path)
        taken.append(path)

    try:
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            async with KioskRig(work / "kiosk", ui=True, broker_port=broker.port,
                                config={"ui": {"sim_panel": False, "panel": SMALLEST}}) as kiosk:
                kp = await open_kiosk(browser, kiosk.url, PANELS[SMALLEST])
                await kp.tap("Sam Lee")
                pad = kp.page.get_by_test_id("pin-pad")
                for digit in SAM.pin[:2]:
                    await pad.get_by_role("button", name=digit, exact=True).click()
                await shot(kp, "01-sign-in.png")
                for digit in SAM.pin[2:]:
                    await pad.get_by_role("button", name=digit, exact=True).click()
                await kp.tap_id("pin-ok")
                await kp.says("Signed in: Sam Lee")
                await kiosk.scan(DEMO_TAG)
                await kp.says("Saved")
                await shot(kp, "02-home.png")

                await kp.tap_id("tile-move")
                await kiosk.scan("Flower Room 2")
                for plant in flower_room_1()[:4]:
                    await kiosk.scan(plant)
                await kiosk.scan(tag(9, 1))
                await kp.says("package tag")
                await shot(kp, "03-move-refused.png")

                await kp.tap("Done")
                await kp.tap_id("tile-harvest")
                await kp.tap_id("new-batch")
                await kp.tap_id("start")
                for i, plant in enumerate(flower_room_1()[4:11]):
                    await kiosk.scan(plant)
                    await kiosk.weigh(f"{780 + 23 * i}.{i}")
                    await kiosk.empty_scale()
                await kiosk.scan(flower_room_1()[11])
                await kiosk.sim(op="weight", value="803.6", unit="g", stable=False)
                await expect(kp.page.get_by_test_id("weight")).to_have_text("803.6 g ~")
                await shot(kp, "04-harvest.png")
                await kiosk.weigh("803.6")
                await kiosk.empty_scale()

                await kp.tap("Done")
                await kp.tap_id("tile-destroy")
                await kiosk.scan(flower_room_1()[12])
                await kp.tap("Pest Infestation")
                await kp.tap("Compost")
                await kiosk.weigh("412.5")
                await kp.tap_id("witness-start")
                await kp.tap("Dana Ortiz")
                await shot(kp, "05-witness-sign-in.png")
                await kp.enter_pin(DANA.pin)
                await expect(kp.page.get_by_test_id("witness")).to_be_visible()
                await shot(kp, "06-destroy.png")
                await kp.tap_id("save")
                await kiosk.empty_scale()

                await kp.tap("Done")
                await kp.tap_id("tile-labels")
                await kp.tap_id("kind-room")
                await kp.tap("Flower Room 2")
                await expect(kp.page.get_by_test_id("preview")).to_be_visible()
                await shot(kp, "07-labels-preview.png")

                await kp.tap("Done")
                await kp.tap_id("tile-count")
                await kiosk.scan("Flower Room 1")
                for plant in flower_room_1()[13:22]:
                    await kiosk.scan(plant)
                await kiosk.scan(tag(0, 204))
                await shot(kp, "08-room-count.png")
                await kp.tap("Cancel")

                await kp.tap("Done")
                await kp.tap_id("tile-harvest")
                await kp.tap_id("go-harvest_waste")
                await kp.tap("HB-20250520-1")
                await kp.tap("Stems")
                await kiosk.weigh("2.140", "kg")
                await kp.tap_id("witness-start")
                await kp.tap("Dana Ortiz")
                await kp.enter_pin(DANA.pin)
                await kp.tap_id("save")
                await kp.says("Saved: 2.140 kg Stems waste")
                await kiosk.empty_scale()
                await kp.tap("Fibrous")
                await kiosk.weigh("0.860", "kg")
                await shot(kp, "12-harvest-waste.png")
                await kp.tap("Cancel")
                await kiosk.empty_scale()

                await kp.tap("Done")
                await kp.screen("harvest")
                await kp.tap("Done")
                await kp.tap_id("tile-packages")
                await kp.tap_id("tile-package_adjust")
                await kiosk.scan(tag(8, 1))
                await kiosk.weigh("448.6")
                await kp.tap("Entry Error")
                await kp.tap("Weighed wrong at packaging")
                await expect(kp.page.get_by_test_id("save")).to_be_enabled()
                await shot(kp, "13-package-adjust.png")
                await kp.tap("Cancel")
                await kiosk.empty_scale()
                await kp.tap("Done")
                await kp.screen("menu")

                await kp.tap("Done")
                await kp.tap_id("tile-scalecheck")
                await kp.screen("scalecheck")
                await kiosk.empty_scale()
                await kiosk.weigh("500.1")
                await kp.says("Scale check passed")
                await shot(kp, "14-scale-check.png")
                await kiosk.empty_scale()

                moved = kiosk.events("plant.moved")[0]
                reject(broker.port, moved["id"], f"Plant {moved['data']['tag']}: location change date is"
                       " before the last one recorded.")
                await expect(kp.page.get_by_test_id("rejected")).to_have_text("To fix: 1")
                await kp.tap("Done")
                await kp.tap_id("tile-records")
                await shot(kp, "09-records-rejected.png")
                rejected = kp.page.get_by_test_id("records").locator("li[data-state=rejected]")
                await rejected.click()
                await shot(kp, "10-correction.png")
            async with KioskRig(work / "demo", ui=True) as demo:
                kp = await open_kiosk(browser, demo.url)
                await demo.sign_in(SAM)
                await kp.tap_id("tile-lot")
                await demo.scan(tag(0, 301))  # California: the mother plant (a Gelato) first
                await kp.tap("Gelato")
                await kp.tap("+10")
                await kp.tap("Veg Room")
                await kp.tap("Suggest a name")
                await kp.tap_id("create")
                await kp.tap_id("print")
                await kp.says("label(s)")
                await kp.page.get_by_test_id("sim-printed").locator("img").first.scroll_into_view_if_needed()
                await shot(kp, "11-demo-simulator-panel.png")
            await browser.close()
    finally:
        bridge.close()
        broker.stop()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="canopy-shots-") as work:
        for path in asyncio.run(shoot(args.out, Path(work))):
            print(path)


if __name__ == "__main__":
    main()
