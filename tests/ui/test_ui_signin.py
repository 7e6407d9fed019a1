"""Sign-in on the touch screen: PIN pad, badge, sign-out, idle sign-out; pushed, never polled."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from agent.demo import WORKERS
from agent.testing import KioskRig
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]
DANA, SAM, ALEX = WORKERS


async def test_sign_in_by_pin_on_the_touch_pad_then_sign_out(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await expect(page.get_by_test_id("workers").get_by_role("button")).to_have_text(
            ["Alex Kim", "Dana Ortiz", "Sam Lee"])
        await kp.tap("Sam Lee")
        await kp.enter_pin("0000")
        await kp.says("Wrong PIN")
        assert "bad" in await kp.band()
        await kp.enter_pin(SAM.pin)
        await kp.says("Signed in: Sam Lee")
        await expect(page.get_by_test_id("worker")).to_have_text("Sam Lee")
        await kp.screen("home")
        await expect(page.get_by_test_id("tile-harvest")).to_be_visible()
        box = await page.get_by_test_id("tile-harvest").bounding_box()
        assert box is not None and box["height"] >= 72  # big enough for a gloved finger
        await kp.tap_id("signout")
        await kp.screen("signin")
        assert kiosk.kiosk.worker is None
        assert not kp.errors


async def test_badge_scan_signs_in_and_scans_appear_without_polling(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await kiosk.scan(ALEX.badge)  # on the scanner, not the page
        await kp.says("Signed in: Alex Kim")
        await kp.screen("home")
        await kiosk.scan("1A4FF0100000022000000123")
        await kp.says("Saved: plant 1A4FF0100000022000000123")
        assert "ok" in await kp.band()
        await expect(kp.page.locator("#screen")).to_contain_text("Blue Dream, Flowering, in Flower Room 1")
        stream = [r for r in kp.requests if r.startswith("GET /api/")]
        assert stream == ["GET /api/stream"]  # one pushed stream; no polling of any kind
        assert not kp.errors


async def test_idle_sign_out_returns_to_the_sign_in_screen(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, config={"workers": {"idle_sign_out_s": 1}}) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await kiosk.sign_in(DANA)
        await kp.screen("home")
        await kp.screen("signin")  # by itself, after a second without use
        await expect(kp.page.locator("#screen")).to_contain_text("Signed out after")


async def test_the_page_api_answers_only_with_this_boots_page_secret(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk, aiohttp.ClientSession() as http:
        url = kiosk.url
        async with http.get(url) as page:
            html = await page.text()
            cookie = page.cookies["canopy_page"].value
        found = re.search(r'name="canopy-page" content="([^"]+)"', html)
        assert found is not None and found.group(1) == cookie
        token = found.group(1)
        for headers in ({}, {"X-Canopy-Page": "not-this-boots-secret"}):
            async with http.get(url + "api/state", headers=headers) as got:
                assert got.status == 401
            async with http.post(url + "api/act", json={"action": "signin.pick", "id": SAM.id},
                                 headers=headers) as act:
                assert act.status == 401
        # A cookie alone (what a cross-site form would carry) does not make a POST.
        async with http.post(url + "api/act", json={"action": "signin.pick", "id": SAM.id},
                             headers={"Cookie": f"canopy_page={token}"}) as cookie_only:
            assert cookie_only.status == 401
        assert kiosk.state()["signin"]["picked"] is None  # nothing refused reached the kiosk
        async with http.get(url + "api/state", headers={"Cookie": f"canopy_page={token}"}) as stream_like:
            assert stream_like.status == 200  # EventSource and <img> send the cookie
        async with http.post(url + "api/act", json={"action": "signin.pick", "id": SAM.id},
                             headers={"X-Canopy-Page": token}) as ok:
            assert ok.status == 200 and (await ok.json())["ok"]
        assert kiosk.state()["signin"]["picked"]["id"] == SAM.id
    async with KioskRig(tmp_path / "again", ui=True) as rebooted, aiohttp.ClientSession() as http, \
            http.get(rebooted.url + "api/state", headers={"X-Canopy-Page": token}) as old:
        assert old.status == 401  # another boot, another secret


async def test_repeated_wrong_pins_show_an_alert_to_a_supervisor(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, config={"workers": {"pin_attempts": 2}}) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await kp.tap("Sam Lee")
        await kp.enter_pin("000000")
        await kp.enter_pin("111111")
        await kp.says("locked")
        await expect(kp.page.get_by_test_id("signin-alert")).to_have_count(0)  # nobody to tell yet
        await kiosk.sign_in(DANA)
        await expect(kp.page.get_by_test_id("signin-alert")).to_contain_text("2 wrong PINs for Sam Lee")
        await kp.tap_id("alerts-dismiss")
        await expect(kp.page.get_by_test_id("signin-alert")).to_have_count(0)
        assert not kp.errors
