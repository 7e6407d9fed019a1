"""Destroy with a witness who signs in on the same screen (PIN pad), weight from the scale."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import DEMO_TAG, WORKERS
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]
DANA, SAM, _ = WORKERS


async def test_destroy_a_plant_with_a_witness_signing_in_on_the_page(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in(SAM)
        await kp.tap_id("tile-destroy")
        await kp.screen("destroy")
        await kiosk.scan(DEMO_TAG)
        await expect(page.get_by_test_id("step")).to_have_text(f"Destroy plant {DEMO_TAG}")
        await kp.tap("Contamination")
        await kp.tap("Grinder")
        await kp.tap("Soil")
        await expect(page.get_by_test_id("save")).to_be_disabled()
        await kiosk.weigh("250.0")
        await expect(page.get_by_test_id("waste-weight")).to_have_text("Taken: 250.0 g")
        await expect(page.get_by_test_id("missing")).to_have_text("To do: a witness signs in.")
        await kp.tap_id("witness-start")
        await kp.screen("witness")
        await expect(page.locator("h1")).to_have_text("Witness signs in")
        names = page.get_by_test_id("workers").get_by_role("button")
        await expect(names).to_have_text(["Alex Kim", "Dana Ortiz"])  # not Sam himself
        await kp.tap("Dana Ortiz")
        await kp.enter_pin(DANA.pin)
        await kp.screen("destroy")
        await expect(page.get_by_test_id("witness")).to_have_text("Witness: Dana Ortiz")
        await kp.tap_id("save")
        await kp.says(f"Saved: destroyed plant {DEMO_TAG} (250.0 g).")
        [event] = kiosk.events("plant.destroyed")
        assert (event["user"], event["witness"]) == (SAM.id, DANA.id)
        assert not kp.errors
