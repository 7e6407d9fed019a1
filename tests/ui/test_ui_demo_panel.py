"""The demo's simulator panel: scans, weights and printed labels from the page itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import WORKERS
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]


async def test_simulator_panel_feeds_scans_and_weights_and_shows_printed_labels(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        panel = page.locator("#sim")
        await expect(panel).to_be_visible()
        await page.get_by_test_id("sim-code").fill(WORKERS[0].badge)
        await page.get_by_test_id("sim-scan").click()
        await kp.says("Dana Ortiz: now your PIN.")  # a supervisor: badge and PIN together
        await kp.enter_pin(WORKERS[0].pin)
        await kp.says("Signed in: Dana Ortiz")
        await kp.tap_id("tile-harvest")
        await kp.tap_id("new-batch")
        await kp.tap_id("start")
        await panel.get_by_role("button", name="Flowering plant: 1A4FF0100000022000000101").click()
        await kp.says("Plant 1A4FF0100000022000000101: put it on the scale.")
        await page.get_by_test_id("sim-value").fill("733.3")
        await page.get_by_test_id("sim-weight").click()
        await kp.says("Saved 733.3 g for plant 1A4FF0100000022000000101.")
        await panel.get_by_role("button", name="Empty").click()
        await expect(page.get_by_test_id("weight")).to_have_text("0 g")
        await kp.tap("Done")
        await kp.tap_id("tile-labels")
        await kp.tap_id("kind-room")
        await kp.tap("Veg Room")
        await kp.tap_id("print")
        printed = page.get_by_test_id("sim-printed").locator("img")
        await expect(printed).to_have_count(1)
        assert await printed.first.evaluate("img => img.complete && img.naturalWidth") == 696
        assert not kp.errors
