"""The console in Chromium, as each role uses it: every page walked, each CSV and PDF downloaded
and read (the PDF's text extracted, its first page rendered and looked at), and what a role
may not open refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from bridge.reports import REGISTERS
from console.accounts import ROLES, Permission, may
from tests.console.floor_records import ACCOUNTS, HARVEST, LICENSE, LONG_REFUSAL, NAME, rejected_move
from tests.console_ui.walk import (
    Served,
    csv_rows,
    download,
    first_page_png,
    menu,
    pdf_text,
    served,
    signed_in,
)
from tests.ui.pages import launch


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture
async def site(tmp_path: Path) -> AsyncIterator[Served]:
    async with served(tmp_path / "ledger.db") as running:
        yield running


@pytest.mark.parametrize("role", list(ROLES))
async def test_each_role_walks_every_page_and_takes_csv_and_pdf_away(
        browser: Browser, site: Served, role: str, tmp_path: Path) -> None:
    name = next(n for n, r in ACCOUNTS.items() if r == role)
    page = await signed_in(browser, site.url, name)
    offered = await menu(page)
    titles = [t for t, _ in offered]
    assert titles[0] == "Floor status" and titles[-2:] == ["Activity", "Ledger chain"]
    assert len(offered) == len(REGISTERS) + 3  # every register in the table, whatever it holds
    for title, href in offered:
        await page.goto(f"{site.url}{href}")
        if title == "Activity":
            await page.get_by_label("Tag, batch, worker or kiosk").fill(HARVEST)
            await page.get_by_role("button", name="Search").click()
            await expect(page.locator("h1")).to_have_text(f"Everything recorded about {HARVEST}")
            await expect(page.locator("table")).to_contain_text("w-sam")
        await expect(page.locator("table").first).to_be_visible()
        heading = (await page.locator("h1").inner_text()).strip()
        filename, body = await download(page, "Download CSV")
        assert filename.startswith(f"{LICENSE}-") and filename.endswith(".csv")
        rows = csv_rows(body)
        assert rows[0][:2] == [heading, f"{NAME} (licence {LICENSE})"], (title, rows[0])
        assert rows[0][3].endswith(f"by {name} ({ROLES[role].title})")
        filename, body = await download(page, "Download PDF")
        assert filename.endswith(".pdf") and body.startswith(b"%PDF")
        text = pdf_text(body)
        for n, one in enumerate(text, 1):
            assert f"{heading}: {NAME} (licence {LICENSE})" in one
            assert f"page {n} of {len(text)}" in one
            assert f"by {name}" in one
        assert first_page_png(body, tmp_path / f"{href.rsplit('/', 1)[-1]}.png") > 0.01, title
    await page.goto(f"{site.url}/f/{LICENSE}/rejections")
    await expect(page.locator("table")).to_contain_text(LONG_REFUSAL)  # the state's words, whole

    manage = may(role, Permission.MANAGE)
    for path, heading in (("/console/users", "Accounts"), ("/console/console-log", "Console log")):
        response = await page.goto(f"{site.url}{path}")
        assert response is not None and response.status == (200 if manage else 403)
        if manage:
            await expect(page.locator("h1")).to_have_text(heading)
        else:
            await expect(page.locator("body")).to_contain_text("may not do this")
    await page.goto(f"{site.url}/f/{LICENSE}/chain")
    verify = page.get_by_role("button", name="Verify now")
    if may(role, Permission.VERIFY):
        await verify.click()
        await expect(page.locator("table")).to_contain_text("passed")
    else:
        await expect(verify).to_have_count(0)
    await page.goto(f"{site.url}/f/{LICENSE}/rejections")
    dismissing = page.get_by_role("heading", name="Dismiss a rejection")
    await expect(dismissing).to_have_count(1 if may(role, Permission.DISMISS) else 0)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    log = [(e.who, e.action) for e in await site.ledger.console_log()]
    assert (name, "sign-out") in log and (name, "export") in log and (name, "sign-in") in log


async def test_a_compliance_manager_adds_and_disables_an_account_and_reads_the_log(
        browser: Browser, site: Served) -> None:
    page = await signed_in(browser, site.url, "casey")
    await page.get_by_role("link", name="Accounts").click()
    await page.get_by_label("Account name (lower case)").fill("inspector.lee")
    await page.get_by_label("Role").select_option("auditor")
    await page.get_by_label("Password (at least 10 characters)").fill("a long password")
    await page.get_by_role("button", name="Add account").click()
    await expect(page.get_by_role("status")).to_have_text("Account inspector.lee added as Auditor.")
    await expect(page.locator("table")).to_contain_text("inspector.lee")
    await page.get_by_label("Account name", exact=True).fill("inspector.lee")
    await page.get_by_role("button", name="Disable account").click()
    await expect(page.get_by_role("status")).to_have_text("Account inspector.lee disabled and signed out.")
    await page.get_by_role("link", name="Console log").click()
    table = page.locator("table")
    await expect(table).to_contain_text("account added")
    await expect(table).to_contain_text("inspector.lee as auditor")
    await expect(table).to_contain_text("account disabled")
    other = await browser.new_page()
    await other.goto(f"{site.url}/login")
    await other.get_by_label("Account").fill("inspector.lee")
    await other.get_by_label("Password").fill("a long password")
    await other.get_by_role("button", name="Sign in").click()
    await expect(other.get_by_role("alert")).to_have_text(
        "This account is disabled: ask a compliance manager.")


async def test_an_auditor_narrows_a_register_to_days_and_the_pdf_says_so(browser: Browser,
                                                                          site: Served) -> None:
    page = await signed_in(browser, site.url, "ines")
    await page.goto(f"{site.url}/f/{LICENSE}/waste")
    await expect(page.locator("table")).to_contain_text(site.floor.events["destroyed"])
    await page.get_by_label("From").fill("2026-11-23")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("table")).to_contain_text("(none)")
    await page.get_by_label("From").fill("2026-11-22")
    await page.get_by_label("To (inclusive)").fill("2026-11-22")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("table")).to_contain_text(site.floor.events["destroyed"])
    _, body = await download(page, "Download PDF")
    assert "Period: 2026-11-22 to 2026-11-22 (local days, America/Los_Angeles)" in pdf_text(body)[0]


async def test_a_supervisor_dismisses_a_rejection_and_the_register_says_who_and_why(
        browser: Browser, site: Served) -> None:
    rejected = await rejected_move(site.ledger)
    page = await signed_in(browser, site.url, "sam")
    await page.goto(f"{site.url}/f/{LICENSE}/rejections")
    await expect(page.locator("body")).to_contain_text("drops it from its \"To fix\" list once the bridge"
                                                       " has answered the dismissal")
    await page.get_by_label("Rejected record").select_option(rejected)
    await page.get_by_label("Reason").fill("Entered in Metrc by the office")
    await page.get_by_role("button", name="Dismiss the rejection").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Rejection of record {rejected} dismissed")
    row = page.locator("tr", has_text=rejected)
    await expect(row).to_contain_text("dismissed by console:sam on 2026-11-23 10:00:00 PST:"
                                      " Entered in Metrc by the office")
    await expect(page.locator("body")).to_contain_text("Nothing shown here is still to fix.")
    _, body = await download(page, "Download PDF")
    assert "dismissed by console:sam" in "".join(pdf_text(body)).replace("\n", " ")
    log = [(e.who, e.action) for e in await site.ledger.console_log(5)]
    assert ("sam", "rejection dismissed") in log
