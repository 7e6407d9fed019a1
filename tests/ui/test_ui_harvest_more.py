"""Harvest work on the page besides whole plants: manicure (a mode of the weigh loop), harvest
waste with a witness signing in, and the cure's dry weight; each with a refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import WORKERS, flower_room_1, reference
from agent.testing import KioskRig
from tests.ui.pages import KioskPage, open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]
PLANTS = flower_room_1()
DANA, SAM, _ = WORKERS
BATCH = "HB-20250520-1"


async def harvest_screen(kiosk: KioskRig, kp: KioskPage) -> None:
    await kiosk.sign_in(SAM)
    await kp.tap_id("tile-harvest")
    await kp.screen("harvest")


async def test_manicure_weighs_flower_off_plants_that_stay_alive(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await harvest_screen(kiosk, kp)
        await kp.tap_id("mode-manicure")
        await expect(page.get_by_test_id("mode-manicure")).to_have_class("chosen")
        await kp.tap(BATCH)
        await kp.tap_id("start")
        await expect(page.locator("h1")).to_have_text("Manicure: weigh what is taken from each plant")
        for i, (plant, weight) in enumerate(zip(PLANTS[:2], ("121.4", "99.0"), strict=True), start=1):
            await kiosk.scan(plant)
            await kiosk.weigh(weight)
            await kp.says(f"Saved {weight} g manicured from plant {plant}. {i} weighed.")
            await kiosk.empty_scale()
        await expect(page.get_by_test_id("total")).to_have_text("Total 220.4 g wet")
        await kiosk.scan(PLANTS[0])
        await kp.says(f"Plant {PLANTS[0]} was already manicured (121.4 g into {BATCH})")
        assert await kp.band() == "bad"
        await expect(page.get_by_test_id("flagged")).to_contain_text(PLANTS[0])
        assert [e["data"]["tag"] for e in kiosk.events("plant.manicured")] == PLANTS[:2]
        assert kiosk.events("plant.harvested") == []
        assert not kp.errors


async def test_harvest_waste_with_a_witness_then_a_refusal_without_the_state_list(
        tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await harvest_screen(kiosk, kp)
        await kp.tap_id("go-harvest_waste")
        await kp.screen("harvest_waste")
        await kiosk.scan(PLANTS[0])
        await kp.says("Scan the harvest batch's label, or tap the batch.")
        await kp.tap(BATCH)
        await expect(page.get_by_test_id("step")).to_have_text(f"Waste from {BATCH}")
        await kp.tap("Stems")
        await kiosk.weigh("2.140", "kg")
        await expect(page.get_by_test_id("waste-weight")).to_have_text("Taken: 2.140 kg")
        await expect(page.get_by_test_id("save")).to_be_disabled()
        await kp.tap_id("witness-start")
        await kp.tap("Dana Ortiz")
        await kp.enter_pin(DANA.pin)
        await expect(page.get_by_test_id("witness")).to_have_text("Witness: Dana Ortiz")
        await kp.tap_id("save")
        await kp.says(f"Saved: 2.140 kg Stems waste from {BATCH}.")
        await expect(page.get_by_test_id("saved")).to_contain_text(
            f"{BATCH}: 2.140 kg Stems, witness Dana Ortiz")
        [event] = kiosk.events("harvest.waste")
        assert (event["user"], event["witness"]) == (SAM.id, DANA.id)
        assert not kp.errors
    ref = reference()
    del ref["harvest_waste_types"]
    async with KioskRig(tmp_path / "no-list", ui=True, ref=ref) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await kiosk.sign_in(SAM)
        await kp.tap_id("tile-harvest")
        await kp.tap_id("go-harvest_waste")
        await kp.tap(BATCH)
        await kp.says("cannot be checked offline")
        await expect(kp.page.get_by_test_id("types")).to_contain_text("cannot be checked offline")
        await expect(kp.page.get_by_test_id("save")).to_be_disabled()


async def test_cure_a_harvested_plant_and_refuse_one_still_growing(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await harvest_screen(kiosk, kp)
        await kp.tap_id("new-batch")
        await kp.tap_id("start")
        await kiosk.scan(PLANTS[0])
        await kiosk.weigh("815.0")
        await kiosk.empty_scale()
        await kp.tap("Done")
        await kp.tap_id("tile-harvest")
        await kp.tap_id("go-cure")
        await kp.screen("cure")
        await expect(page.get_by_test_id("rooms").locator("button.chosen")).to_have_text("Vault")
        await kiosk.scan(PLANTS[1])
        await kp.says(f"Plant {PLANTS[1]} is not harvested yet (flowering)")
        await kiosk.scan(PLANTS[0])
        await expect(page.get_by_test_id("step")).to_have_text(
            f"Plant {PLANTS[0]}: put its dry flower on the scale.")
        await kiosk.weigh("171.3")
        await kp.says(f"Saved 171.3 g dry for plant {PLANTS[0]}. 1 cured.")
        await expect(page.get_by_test_id("count")).to_have_text("1 plants cured")
        await kiosk.empty_scale()
        await kiosk.scan(PLANTS[0])
        await kp.says("already cured (171.3 g dry)")
        await expect(page.get_by_test_id("flagged")).to_contain_text(f"{PLANTS[0]} cured twice")
        [event] = kiosk.events("plant.cured")
        assert (event["data"]["location"], event["data"]["weight"]["value"]) == ("Vault", "171.3")
        assert not kp.errors
