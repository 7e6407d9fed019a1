"""The status bar is always there: online/offline, unsent backlog and age, printer and scale
state, faults in plain words; and the page server answers only its own browser."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from agent.demo import flower_room_1
from agent.testing import KioskRig
from cli.broker import Mosquitto
from tests.ui.pages import open_kiosk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]


async def test_status_bar_offline_backlog_and_device_faults(tmp_path: Path, browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk:  # no broker: offline from the start
        kp = await open_kiosk(browser, kiosk.url)
        page = kp.page
        await expect(page.get_by_test_id("online")).to_have_text("OFFLINE: saving here")
        await kiosk.sign_in()
        for plant in flower_room_1()[:3]:
            await kiosk.scan(plant)
        await expect(page.get_by_test_id("backlog")).to_have_text("Unsent: 3, oldest just now")
        await expect(page.get_by_test_id("printer")).to_have_text("Printer: ready")
        await kiosk.sim(op="printer", fault="no media")
        await kiosk.kiosk.refresh_printer()
        await expect(page.get_by_test_id("printer")).to_have_text("Printer: printer out of labels")
        await expect(page.locator("#faults")).to_contain_text("printer out of labels")
        await kiosk.sim(op="scale", condition="unplug")
        await expect(page.get_by_test_id("scale")).to_contain_text("scale disconnected")
        await expect(page.locator("#faults")).to_contain_text("scale disconnected")
        await kiosk.sim(op="scale", condition="replug")
        await kiosk.sim(op="printer", fault=None)
        await kiosk.kiosk.refresh_printer()
        await expect(page.locator("#faults")).to_be_empty()
        await expect(page.get_by_test_id("ref")).to_have_text("Lists: from just now")
        assert not kp.errors


async def test_online_and_all_sent_once_the_bridge_stores(tmp_path: Path, broker: Mosquitto,
                                                           browser: Browser) -> None:
    async with KioskRig(tmp_path, ui=True, broker_port=broker.port) as kiosk:
        kp = await open_kiosk(browser, kiosk.url)
        await expect(kp.page.get_by_test_id("online")).to_have_text("Online")
        await expect(kp.page.get_by_test_id("backlog")).to_have_text("All sent")


async def test_the_page_server_answers_only_its_own_browser(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ui=True) as kiosk, aiohttp.ClientSession() as http:
        url = kiosk.url
        assert url.startswith("http://127.0.0.1:")
        async with http.get(url) as page:  # the page carries this boot's secret
            token = re.search(r'name="canopy-page" content="([^"]+)"', await page.text())
        assert token is not None
        http.headers["X-Canopy-Page"] = token.group(1)
        async with http.get(url + "api/state") as ok:
            assert ok.status == 200
        async with http.get(url + "api/state", headers={"Host": "evil.example:80"}) as rebound:
            assert rebound.status == 403
        async with http.post(url + "api/act", data="action=signout",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}) as form:
            assert form.status == 415
        async with http.post(url + "api/act", json={"action": "signout"},
                             headers={"Origin": "http://evil.example"}) as cross:
            assert cross.status == 403
        async with http.get(url + "static/../agent.toml") as escape:
            assert escape.status in (403, 404)
