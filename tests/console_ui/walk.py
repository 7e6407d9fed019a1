"""Walking the console in Chromium as a person would: sign in, open every page, download
CSV and PDF. Shared by the browser tests and the README's screenshots (screenshots.py)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect
from pypdf import PdfReader

from bridge.ledger import Ledger, open_ledger
from tests.console.floor_records import PASSWORD, Floor, add_accounts, console_for, fill

VIEWPORT = {"width": 1400, "height": 900}  # an office screen


@dataclass
class Served:
    url: str
    ledger: Ledger
    floor: Floor


@asynccontextmanager
async def served(path: Path) -> AsyncIterator[Served]:
    """A console on a filled SQLite ledger, on a random port of 127.0.0.1."""
    ledger = await open_ledger(f"sqlite:///{path}")
    floor = await fill(ledger)
    await add_accounts(ledger)
    server = TestServer(console_for(ledger).app())
    await server.start_server()
    try:
        yield Served(str(server.make_url("/")).rstrip("/"), ledger, floor)
    finally:
        await server.close()
        await ledger.close()


async def signed_in(browser: Browser, url: str, name: str, shot: Path | None = None) -> Page:
    page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    page.on("pageerror", lambda exc: (_ for _ in ()).throw(AssertionError(str(exc))))
    await page.goto(f"{url}/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Account").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    if shot is not None:
        await page.screenshot(path=str(shot))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("header .who")).to_contain_text(name)
    return page


async def menu(page: Page) -> list[tuple[str, str]]:
    """(title, href) of the facility's pages the menu offers."""
    links = page.locator("nav a")
    return [((await links.nth(i).inner_text()).strip(), str(await links.nth(i).get_attribute("href")))
            for i in range(await links.count())]


async def download(page: Page, name: str) -> tuple[str, bytes]:
    """Click a download link; (suggested file name, bytes)."""
    async with page.expect_download() as info:
        await page.get_by_role("link", name=name).click()
    got = await info.value
    where = await got.path()
    return got.suggested_filename, await asyncio.to_thread(Path(where).read_bytes)


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def pdf_text(body: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(body)).pages]


def first_page_png(body: bytes, path: Path) -> float:
    """Render the PDF's first page to ``path``; the share of its pixels that are not white."""
    doc = pdfium.PdfDocument(body)
    image = doc[0].render(scale=1.5).to_pil().convert("L")
    image.save(path)
    inked: int = sum(image.histogram()[:200])  # grey levels darker than paper
    return float(inked) / float(image.width * image.height)
