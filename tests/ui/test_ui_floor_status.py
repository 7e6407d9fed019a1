"""The state's status and answers a worker can act on, in the browser (issue 13, items 2-3):
the state-system pill and band from the bridge's retained status; the "to fix" list that
keeps a rejection after 40 later records until a supervisor dismisses it with a reason;
facility records "kept at the facility"; labels, never type names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import DEMO_TAG, WORKERS, flower_room_1
from agent.outbox import Settlement
from agent.testing import KioskRig
from agent.workflows.records import SHOWN
from canopy import bridge_status
from canopy.bridge_status import StateSystem
from canopy.events import FACILITY_ONLY
from cli.broker import Mosquitto
from tests.agent.test_state_system_band import FAC, SAFE, bridge_says
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]
DANA, SAM = WORKERS[0], WORKERS[1]
SINCE = datetime(2026, 12, 7, 18, 42, tzinfo=UTC)  # 10:42 in Los Angeles
MESSAGE = f"Plant {DEMO_TAG} was destroyed on 2025-05-30."


async def test_the_state_system_band_on_every_screen_then_the_72_hour_notice(
        tmp_path: Path, broker: Mosquitto, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, broker_port=broker.port) as kiosk:
        kiosk.floor.clock = lambda: datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await expect(page.get_by_test_id("online")).to_have_text("Online")
        band = page.get_by_test_id("state-band")
        await expect(band).to_be_hidden()
        since = int(SINCE.timestamp() * 1000)
        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "online",
                                                            {FAC: StateSystem(False, since)}))
        await expect(band).to_have_text(f"State system unreachable since 10:42. {SAFE}")
        pill = page.get_by_test_id("state-system")
        await expect(pill).to_have_text("State system: unreachable since 10:42")
        # Sent to the bridge; the band says the rest.
        await expect(page.get_by_test_id("backlog")).to_have_text("All sent")
        await kiosk.sign_in(SAM)
        await kp.tap_id("tile-records")
        await expect(band).to_be_visible()  # above every screen
        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "online",
                                                            {FAC: StateSystem(False, since, notify=True)}))
        await expect(band).to_contain_text("more than 72 hours: a supervisor must notify the state now")
        await expect(band).to_have_class("notify")
        bridge_says(broker, "bridge-1", bridge_status.encode("bridge-1", "online", {FAC: StateSystem(True)}))
        await expect(band).to_be_hidden()
        await expect(pill).to_have_text("State system: OK")
        assert not kp.errors


async def test_a_rejection_stays_to_fix_after_40_records_until_a_supervisor_dismisses_it(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in(SAM)
        bad = (await kiosk.scan(DEMO_TAG))["event"]
        await kiosk.outbox.settle([Settlement(bad, "rejected", MESSAGE)])
        later = [(await kiosk.scan(flower_room_1()[n % 5]))["event"] for n in range(40)]
        await kiosk.outbox.settle([Settlement(i, "accepted", FACILITY_ONLY["plant.scanned"]) for i in later])
        await expect(page.get_by_test_id("rejected")).to_have_text("To fix: 1")
        await kp.tap_id("tile-records")
        to_fix = page.get_by_test_id("to-fix").locator("li")
        await expect(to_fix).to_have_count(1)
        await expect(to_fix.first).to_contain_text("REJECTED")
        await expect(to_fix.first).to_contain_text(f"State said: {MESSAGE}")
        recent = page.get_by_test_id("records").locator("li")
        await expect(recent).to_have_count(SHOWN)
        await expect(page.get_by_test_id("records").locator(f'li[data-id="{bad}"]')).to_have_count(0)
        # Facility records: kept here, never "accepted" by the state; the label, not the type name.
        await expect(recent.first).to_contain_text("kept at the facility")
        await expect(recent.first).to_contain_text("Plant seen")
        await expect(page.locator("#screen")).not_to_contain_text("plant.scanned")
        await expect(page.locator("#screen")).not_to_contain_text("accepted by the state")
        await to_fix.first.click()
        await expect(page.get_by_test_id("next-step")).to_contain_text(
            "a supervisor dismisses it with a reason")
        reason = page.get_by_test_id("dismiss-reasons").get_by_role(
            "button", name="Entered in the state system by the office")
        await expect(reason).to_be_disabled()  # Sam is no supervisor
        await kp.tap_id("supervisor-start")
        await kiosk.scan(DANA.badge)
        await kp.enter_pin(DANA.pin)
        await expect(page.get_by_test_id("supervisor")).to_have_text(f"Supervisor: {DANA.name}")
        await reason.click()
        await kp.says("Rejection dismissed")
        await expect(page.get_by_test_id("to-fix")).to_have_count(0)
        await expect(page.get_by_test_id("rejected")).to_have_count(0)
        await expect(recent.first).to_contain_text("Rejection dismissed")
        [dismissal] = kiosk.events("rejection.dismissed")
        assert (dismissal["corrects"], dismissal["user"], dismissal["witness"]) == (bad, SAM.id, DANA.id)
        assert dismissal["data"]["reason"] == "Entered in the state system by the office"
        assert not kp.errors


async def test_printer_out_of_labels_says_what_to_do_and_the_pill_follows(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await kiosk.sign_in(SAM)
        await expect(kp.page.get_by_test_id("printer")).to_have_text("Printer: ready")
        await kiosk.sim(op="printer", fault="no media")  # the roll runs out: the pill has not looked yet
        await kp.tap_id("tile-labels")
        await kp.tap_id("kind-plant")
        await kiosk.scan(flower_room_1()[0])
        await kp.tap_id("print")
        await kp.says("Not printed: printer out of labels. Load a new roll of labels and close the cover,"
                      " then tap Print again.")
        await expect(kp.page.get_by_test_id("printer")).to_have_text("Printer: printer out of labels")
        assert not kp.errors
