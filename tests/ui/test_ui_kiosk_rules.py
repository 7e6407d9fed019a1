"""Daily scale check, waste on hold (NM) and tag receipt on the kiosk page, refusals included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from agent.demo import DEMO_TAG, WORKERS, reference
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]
_, SAM, _ = WORKERS
NEW_ROLL = ("1A4FF0100000099000000001", "1A4FF0100000099000000250")


def profile(**changes: Any) -> dict[str, Any]:
    ref = reference(witness=False)
    return {**ref, "profile": {**ref["profile"], **changes}}


async def test_scale_check_on_the_page_unblocks_weighing(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, ref=profile(), scale_checked=False) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in(SAM)
        await expect(page.get_by_test_id("scale")).to_have_text("Scale: check due")
        await kp.tap_id("tile-destroy")
        await kiosk.scan(DEMO_TAG)
        await kiosk.weigh("250.0")
        await kp.says("needs today's zero and test-weight check")
        await expect(page.get_by_test_id("scale-blocked")).to_contain_text("Weighing blocked")
        await kp.tap_id("scale-check")
        await kp.screen("scalecheck")
        await kp.says("press Zero on the scale")  # the waste is still on the pan
        await kiosk.empty_scale()
        await expect(page.get_by_test_id("step")).to_have_text(
            "2. Zero OK (0 g). Place the 500 g test weight.")
        await kiosk.weigh("500.0")
        await kp.says("Scale check passed (500.0 g)")
        await expect(page.get_by_test_id("scale")).to_have_text("Scale: ready")
        [event] = kiosk.events("scale.checked")
        assert event["data"]["passed"] is True
        assert not kp.errors


async def test_waste_on_hold_screen_counts_down_then_completes(tmp_path: Path, browser: Browser) -> None:
    ref = profile(state="NM", timezone="America/Denver", destroy_hold_hours=72)
    async with KioskRig(tmp_path, ui=True, ref=ref) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in(SAM)
        await kp.tap_id("tile-destroy")
        await kiosk.scan(DEMO_TAG)
        await kp.tap("Contamination")
        await kp.tap("Grinder")
        await kiosk.weigh("250.0")
        await kp.tap_id("save")
        await kp.says("Hold label printed")
        await kp.tap("Done")
        await kp.tap_id("tile-hold")
        await kp.screen("hold")
        held = page.get_by_test_id("holds").locator(f'li[data-tag="{DEMO_TAG}"]')
        await expect(held).to_contain_text("250.0 g, Contamination: until")
        await expect(held).to_contain_text(" h ")
        await kiosk.scan(DEMO_TAG)
        await kp.says("left): not yet")
        kiosk.later(hours=73)
        await kiosk.scan(DEMO_TAG)
        await kp.says(f"Saved: plant {DEMO_TAG} destruction completed.")
        await expect(page.locator("#screen")).to_contain_text("No waste on hold.")
        assert len(kiosk.events("plant.destroy_completed")) == 1
        assert not kp.errors


async def test_tag_receipt_on_the_page_asks_the_kind(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in(SAM)
        await kp.tap_id("tile-receive")
        await kp.screen("receive")
        await kiosk.scan(NEW_ROLL[1])
        await kiosk.scan(NEW_ROLL[0])
        await kp.says("numbered before")
        await kp.tap("Start over")
        await kiosk.scan(NEW_ROLL[0])
        await expect(page.get_by_test_id("step")).to_contain_text("Now scan the LAST tag")
        await kiosk.scan(NEW_ROLL[1])
        await expect(page.get_by_test_id("confirm")).to_be_disabled()
        await kp.tap_id("kind-package")
        await expect(page.get_by_test_id("count")).to_have_text("250 package tags")
        await kp.tap_id("confirm")
        await kp.says("Saved: 250 package tags received.")
        await expect(page.get_by_test_id("received")).to_contain_text("250 package tags")
        [event] = kiosk.events("tags.received")
        assert event["data"]["count"] == 250
        assert not kp.errors
