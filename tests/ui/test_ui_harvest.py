"""The harvest weigh loop on the page: 20 plants, weights from the simulated scale, live
weight, running count and total; refusals (overload, weighed twice, unregistered scale)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import flower_room_1, reference
from agent.testing import KioskRig
from tests.ui.pages import KioskPage, open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]
PLANTS = flower_room_1()


async def start_weighing(kiosk: KioskRig, kp: KioskPage) -> None:
    await kiosk.sign_in()
    await kp.tap_id("tile-harvest")
    await kp.tap_id("new-batch")
    await kp.tap("Dry Room")
    await kp.tap_id("start")
    await expect(kp.page.get_by_test_id("step")).to_have_text("Scan the next plant's tag.")


async def test_harvest_of_20_plants_with_weights_from_the_simulated_scale(
        tmp_path: Path, browser: Browser) -> None:
    weights = [f"{650 + 17 * i}.{(3 * i) % 10}" for i in range(20)]
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await start_weighing(kiosk, kp)
        page = kp.page
        for i, (plant, weight) in enumerate(zip(PLANTS[:20], weights, strict=True), start=1):
            await kiosk.scan(plant)
            await expect(page.get_by_test_id("step")).to_have_text(f"Plant {plant}: put it on the scale.")
            await kiosk.weigh(weight)
            await kp.says(f"Saved {weight} g for plant {plant}. {i} weighed.")
            await expect(page.get_by_test_id("count")).to_have_text(f"{i} plants weighed")
            await expect(page.get_by_test_id("weight")).to_have_text(f"{weight} g")  # the live reading
            await kiosk.empty_scale()
        total = sum(Decimal(w) for w in weights)
        await expect(page.get_by_test_id("total")).to_have_text(f"Total {total} g wet")
        assert [e["data"]["weight"]["value"] for e in kiosk.events("plant.harvested")] == weights
        # The same plant again: flagged, refused, nothing logged.
        await kiosk.scan(PLANTS[3])
        await kp.says("was already weighed")
        await expect(page.get_by_test_id("flagged")).to_contain_text(f"{PLANTS[3]} weighed twice")
        await kiosk.scan(PLANTS[20])
        await kiosk.sim(op="scale", condition="overload")
        await kp.says("Scale overloaded: take weight off. Nothing logged.")
        await expect(page.get_by_test_id("weight")).to_have_text("OVERLOAD")
        assert len(kiosk.events("plant.harvested")) == 20
        assert not kp.errors


async def test_an_unregistered_scale_blocks_weighing_on_screen(tmp_path: Path, browser: Browser) -> None:
    ref = reference()
    ref["scales"] = [{"id": "BENCH-2"}]
    async with KioskRig(tmp_path, ui=True, ref=ref) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await start_weighing(kiosk, kp)
        await expect(kp.page.get_by_test_id("scale-blocked")).to_contain_text(
            "Scale SIM-SCALE-1 is not a registered scale")
        await kiosk.scan(PLANTS[0])
        await kiosk.weigh("700.0")
        await kp.says("is not a registered scale")
        assert "bad" in await kp.band()
        assert kiosk.events("plant.harvested") == []
