"""Move plants on the page: the room first, then the plants, refusals in red with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import DEMO_TAG, flower_room_1, tag
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]


async def test_move_plants_with_every_refusal_shown(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await kiosk.sign_in()
        await kp.tap_id("tile-move")
        await kp.screen("move")
        await expect(kp.page.get_by_test_id("step")).to_have_text(
            "Scan the room's barcode first, then the plants.")
        await kiosk.scan(DEMO_TAG)
        await kp.says("Scan the room's barcode first")
        assert "bad" in await kp.band()
        await kiosk.scan("Flower Room 2")
        await expect(kp.page.get_by_test_id("step")).to_contain_text("Moving plants to Flower Room 2")
        for i, plant in enumerate(flower_room_1()[:5], start=1):
            await kiosk.scan(plant)
            await expect(kp.page.get_by_test_id("count")).to_have_text(f"{i} moved")
        assert "ok" in await kp.band()
        refusals = {
            "1A4FF0100000022000008888": "Unknown tag 1A4FF0100000022000008888: not a plant of this facility.",
            tag(9, 1): "is a package tag. Scan the plant's tag.",
            tag(1, 1): "is not on a plant yet",
            flower_room_1()[0]: f"Plant {flower_room_1()[0]} is already in Flower Room 2.",
            "HELLO": "Not a plant tag",
        }
        for code, reason in refusals.items():
            await kiosk.scan(code)
            await kp.says(reason)
            assert "bad" in await kp.band()
        await expect(kp.page.get_by_test_id("count")).to_have_text("5 moved")
        assert len(kiosk.events("plant.moved")) == 5
        assert not kp.errors
