"""Screenshots of the compliance console for the README, taken from a real run.

    .venv/bin/python tests/console_ui/screenshots.py [--out docs]

The same rig as the browser tests: a console on a ledger filled like a week on
the floor, in headless Chromium; the PDF's first page rendered as the tests do.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright, expect  # noqa: E402

from tests.console.floor_records import HARVEST, LICENSE  # noqa: E402
from tests.console_ui.walk import download, first_page_png, served, signed_in  # noqa: E402
from tests.ui.pages import launch  # noqa: E402


async def shoot(out: Path, work: Path) -> list[Path]:
    taken: list[Path] = []
    async with served(work / "ledger.db") as site, async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            page = await signed_in(browser, site.url, "casey", out / "console-1-sign-in.png")
            taken.append(out / "console-1-sign-in.png")
            for name, path in (("2-floor", f"/f/{LICENSE}/floor"),
                               ("3-rejections", f"/f/{LICENSE}/rejections"),
                               ("4-activity", f"/f/{LICENSE}/activity?q={HARVEST}"),
                               ("5-chain", f"/f/{LICENSE}/chain"), ("6-accounts", "/console/users"),
                               ("7-console-log", "/console/console-log"),
                               ("9-waste", f"/f/{LICENSE}/waste?from=2026-11-22&to=2026-11-22")):
                await page.goto(f"{site.url}{path}")
                await expect(page.locator("table").first).to_be_visible()
                taken.append(out / f"console-{name}.png")
                await page.screenshot(path=str(taken[-1]), full_page=name != "7-console-log")
            await page.goto(f"{site.url}/f/{LICENSE}/activity?q=1A4FF0100000022000001001")
            _, pdf = await download(page, "Download PDF")
            taken.append(out / "console-8-pdf.png")
            first_page_png(pdf, taken[-1])
        finally:
            await browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="canopy-console-shots-") as work:
        for path in asyncio.run(shoot(args.out, Path(work))):
            print(path)


if __name__ == "__main__":
    main()
