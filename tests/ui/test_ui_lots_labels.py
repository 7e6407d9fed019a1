"""New immature lot with its lot labels, tagging for flowering, label preview and room count."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import biotrack_reference, flower_room_1, tag
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]
FRESH = [tag(1, n) for n in range(1, 61)]


async def test_new_lot_and_its_labels_then_tag_it_for_flowering(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in()
        await kp.tap_id("tile-lot")
        await kiosk.scan(tag(0, 301))  # California: the mother plant first (a Gelato)
        await expect(page.get_by_test_id("source")).to_have_text(
            f"Clones from mother plant {tag(0, 301)} (Gelato).")
        await kp.tap("Gelato")
        await kp.tap("Seeds")
        for _ in range(10):
            await kp.tap("+10")
        await expect(page.get_by_test_id("stepper-value")).to_have_text("100")
        await expect(page.locator("#screen").get_by_role("button", name="+1", exact=True)).to_be_disabled()
        for _ in range(9):
            await kp.tap("-10")
        await kp.tap("-1")
        await kp.tap("-1")
        await expect(page.get_by_test_id("stepper-value")).to_have_text("8")
        await kp.tap("Veg Room")
        await kiosk.scan(FRESH[5])
        await expect(page.get_by_test_id("lot-name")).to_have_text(FRESH[5])
        await kp.tap_id("create")
        await kp.says(f"Lot {FRESH[5]} saved: 8 plants.")
        await kp.tap_id("print")
        await kp.says(f"8 label(s) {FRESH[5]} printed on label printer.")
        await expect(page.get_by_test_id("sim-printed").locator("img")).to_have_count(8)
        # Tag its 8 plants for flowering.
        await kp.tap("Done")
        await kp.tap_id("tile-tag")
        await kp.tap(f"{FRESH[5]} — 8 Gelato")
        await kiosk.scan("Flower Room 2")
        for i, fresh in enumerate(FRESH[10:18], start=1):
            await kiosk.scan(fresh)
            await expect(page.get_by_test_id("count")).to_have_text(f"{i} / 8 tagged")
        await kp.says("All plants tagged.")
        await kiosk.scan(FRESH[20])
        await kp.says("All 8 plants of lot")
        assert "bad" in await kp.band()
        assert not kp.errors


async def test_print_labels_with_preview_and_room_count(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in()
        await kp.tap_id("tile-labels")
        await kp.tap_id("kind-harvest")
        await kp.tap("HB-20250520-1")
        preview = page.get_by_test_id("preview")
        await expect(preview).to_be_visible()
        width = await preview.evaluate("img => img.complete && img.naturalWidth")
        assert width == 696  # the 62 mm roll at 300 dpi, dot for dot
        await kp.tap("+1")
        await kp.tap_id("print")
        await kp.says("2 label(s) HB-20250520-1 printed")
        await expect(page.get_by_test_id("print")).to_have_text("Reprint")
        # Room count: missing and extra as they come.
        await kp.tap("Done")
        await kp.tap_id("tile-count")
        await kiosk.scan("Flower Room 1")
        for plant in flower_room_1()[:22]:
            await kiosk.scan(plant)
        await kiosk.scan(tag(0, 205))
        await expect(page.get_by_test_id("count")).to_have_text("22 / 24 found")
        await expect(page.get_by_test_id("missing").locator("li")).to_have_text(flower_room_1()[22:])
        await expect(page.get_by_test_id("extra").locator("li")).to_have_text([tag(0, 205)])
        await kp.tap_id("finish")
        await expect(page.get_by_test_id("result")).to_have_text("Count saved: 2 missing, 1 extra.")
        assert not kp.errors


async def test_biotrack_lot_asks_for_the_source_package_first(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, ref=biotrack_reference()) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in()
        await kp.tap_id("tile-lot")
        await expect(page.get_by_test_id("source")).to_have_text(
            "Scan the clone or seed package the plants come from.")
        await kiosk.scan("6647000000000999")
        await kp.says("6647000000000999 is not a clone or seed package of this facility")
        await kiosk.scan("6647000000000901")
        await expect(page.get_by_test_id("source")).to_have_text(
            "From package 6647000000000901: 30 Gelato left.")
        await kp.tap("+10")
        await kp.tap("Veg Room")
        await kp.tap("Suggest a name")
        await kp.tap_id("create")
        await kp.says("saved: 11 plants.")
        [event] = kiosk.events("plant_batch.created")
        assert (event["data"]["source_package"], event["data"]["strain"]) == ("6647000000000901", "Gelato")
        assert not kp.errors
