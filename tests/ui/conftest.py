"""Headless Chromium (Debian's package, never a downloaded browser) for the kiosk-page tests.

One browser per test module (each test opens its own page on its own kiosk): a
module's tests share one event loop for that, ``pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from tests.ui.pages import launch


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield browser
        finally:
            await browser.close()
