"""Driving the kiosk page like a worker: taps on big buttons, scans on the simulated scanner."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, Page, Playwright, Request, ViewportSize, expect

from kiosk_ui import DEFAULT_PANEL, PANELS, Panel

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = PANELS[DEFAULT_PANEL]  # a 10" kiosk panel, the page's default


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class KioskPage:
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    async def tap(self, name: str) -> None:
        """Tap the button whose text is exactly ``name`` on the main screen."""
        await self.page.locator("#screen").get_by_role("button", name=name, exact=True).click()
        await self.settled()

    async def tap_id(self, testid: str) -> None:
        await self.page.get_by_test_id(testid).click()
        await self.settled()

    async def settled(self) -> None:
        """Wait until the kiosk has answered every tap: a scan sent before that would
        reach the screen the worker was leaving (the scanner is a separate channel)."""
        await self.page.wait_for_function("() => window.canopyInFlight === 0")

    async def says(self, text: str) -> None:
        """The feedback band shows ``text`` (waits for it: the page is pushed, not polled)."""
        await expect(self.page.get_by_test_id("message")).to_contain_text(text)

    async def band(self) -> str:
        return await self.page.locator("#feedback").get_attribute("class") or ""

    async def enter_pin(self, pin: str) -> None:
        pad = self.page.get_by_test_id("pin-pad")
        for digit in pin:
            await pad.get_by_role("button", name=digit, exact=True).click()
        await expect(self.page.get_by_test_id("pin-dots")).to_have_text("●" * len(pin))
        await self.tap_id("pin-ok")

    async def screen(self, name: str) -> None:
        await expect(self.page.locator("#screen")).to_have_attribute("data-screen", name)

    async def shot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path))


async def open_kiosk(browser: Browser, url: str, panel: Panel = DESKTOP) -> KioskPage:
    """The kiosk page in a window the size of ``panel`` (as the kiosk browser unit starts it)."""
    page = await browser.new_page(viewport=ViewportSize(width=panel.css_width, height=panel.css_height),
                                  device_scale_factor=panel.scale)
    kp = KioskPage(page)
    page.on("pageerror", lambda exc: kp.errors.append(str(exc)))
    page.on("console", lambda msg: kp.errors.append(msg.text) if msg.type == "error" else None)

    def seen(request: Request) -> None:
        kp.requests.append(f"{request.method} {request.url.removeprefix(url.rstrip('/'))}")

    page.on("request", seen)
    await page.goto(url)
    await expect(page.locator("#screen")).to_have_attribute("data-screen", re.compile(r"\w+"))
    return kp
