"""Packages on the page: the Packages tile, moving packages into a room (plants-only rooms and
plant tags refused), adjusting one by re-weighing it with a reason and a note from buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import DEMO_TAG, tag
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]
PACKAGES = [tag(8, n) for n in range(1, 4)]


async def test_move_packages_refusing_a_plants_only_room_and_a_plant_tag(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in()
        await kp.tap_id("tile-packages")
        await kp.screen("menu")
        await kp.tap_id("tile-package_move")
        await kp.screen("package_move")
        await kiosk.scan("Flower Room 1")
        await kp.says("Room Flower Room 1 holds plants only: packages cannot go there.")
        await kiosk.scan("Vault")
        await expect(page.get_by_test_id("step")).to_have_text("Moving packages to Vault. Scan each package.")
        for i, package in enumerate(PACKAGES, start=1):
            await kiosk.scan(package)
            await kp.says(f"Moved package {package} to Vault. {i} moved.")
        await kiosk.scan(DEMO_TAG)
        await kp.says(f"{DEMO_TAG} is a plant tag")
        assert await kp.band() == "bad"
        await expect(page.get_by_test_id("count")).to_have_text("3 moved")
        await expect(page.get_by_test_id("moved").locator("li")).to_have_text(PACKAGES[::-1])
        assert len(kiosk.events("package.moved")) == 3
        await kp.tap("Done")
        await kp.screen("menu")
        assert not kp.errors


async def test_adjust_a_package_from_the_scale_with_a_reason_and_a_note(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in()
        await kp.tap_id("tile-packages")
        await kp.tap_id("tile-package_adjust")
        await kp.screen("package_adjust")
        await kiosk.scan(tag(9, 1))
        await kp.says("is not on a package yet")
        await kiosk.scan(PACKAGES[0])
        await kiosk.weigh("448.6")
        await expect(page.get_by_test_id("new-total")).to_have_text("Taken: 448.6 g")
        await kp.tap("Entry Error")
        await expect(page.get_by_test_id("missing")).to_have_text("To do: choose a note.")
        await expect(page.get_by_test_id("save")).to_be_disabled()
        await kp.tap("Weighed wrong at packaging")
        await kp.tap_id("save")
        await kp.says(f"Saved: package {PACKAGES[0]} is now 448.6 g (Entry Error).")
        await expect(page.get_by_test_id("saved")).to_contain_text(
            f"{PACKAGES[0]}: now 448.6 g (Entry Error)")
        [event] = kiosk.events("package.adjusted")
        data = event["data"]
        assert (data["reason"], data["note"]) == ("Entry Error", "Weighed wrong at packaging")
        assert not kp.errors


async def test_new_package_from_a_harvest_weighed_saved_and_its_label_printed(
        tmp_path: Path, browser: Browser) -> None:
    new_tag = tag(9, 2)
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await kiosk.sign_in()
        await kp.tap_id("tile-packages")
        await kp.tap_id("tile-package_new")
        await kp.screen("package_new")
        await kp.tap("HB-20250520-1")
        await expect(page.get_by_test_id("step")).to_have_text(
            "Harvest HB-20250520-1: scan an unused package tag.")
        await kiosk.scan(new_tag)
        await kp.tap("Buds")
        await kp.tap("Vault")
        await expect(page.get_by_test_id("missing")).to_have_text("To do: weigh the package on the scale.")
        await expect(page.get_by_test_id("save")).to_be_disabled()
        await kiosk.weigh("226.8")
        await expect(page.get_by_test_id("package-weight")).to_have_text("Taken: 226.8 g")
        await kp.tap_id("save")
        await kp.says(f"Saved: package {new_tag}, 226.8 g Buds from HB-20250520-1. Print its label.")
        await expect(page.get_by_test_id("preview")).to_be_visible()
        await kp.tap_id("print")
        await expect(page.get_by_test_id("made")).to_contain_text("Label printed (1).")
        await expect(page.get_by_test_id("saved")).to_contain_text(
            f"{new_tag}: 226.8 g Buds from HB-20250520-1")
        assert [e["data"]["tag"] for e in kiosk.events("package.created")] == [new_tag]
        assert [e["data"]["kind"] for e in kiosk.events("label.printed")] == ["package"]
        assert not kp.errors
