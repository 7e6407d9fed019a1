"""A kiosk started on a full disk shows it on the screen and refuses a scan with the reason
(a real filled tmpfs: tests/agent/test_storage_full.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from agent.demo import flower_room_1
from agent.testing import KioskRig
from tests.agent.test_storage_full import fill, small_disk
from tests.ui.pages import open_kiosk

__all__ = ["small_disk"]  # the fixture, shared with the agent's tests
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]


async def test_a_full_disk_is_on_the_screen_and_a_scan_is_refused_with_the_reason(
        small_disk: Path, browser: Browser) -> None:
    root = small_disk / "kiosk"
    async with KioskRig(root) as before:  # a kiosk that ran before, with one record unsent
        await before.sign_in()
        await before.scan(flower_room_1()[0])
    fill(small_disk)
    async with KioskRig(root, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await expect(kp.page.locator("#faults")).to_contain_text("Kiosk storage is full")
        await kiosk.sign_in()
        await kiosk.scan(flower_room_1()[1])
        await kp.says("NOT saved: Kiosk storage is full")
        assert await kp.band() == "bad"
        assert not kp.errors
