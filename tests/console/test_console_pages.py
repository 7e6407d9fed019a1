"""What the console's pages and exports say, on a ledger filled like a week on the floor."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from bridge.ledger import Ledger, open_ledger, verify_and_record
from bridge.reports import REGISTERS, Clock, Register, Report
from tests.console.conftest import Client, Site, sign_in
from tests.console.floor_records import (
    HARVEST,
    LICENSE,
    LONG_REFUSAL,
    NAME,
    add_accounts,
    bridge_toml,
    console_for,
    fill,
)

# The pages' default period at the tests' clock (FLOOR_NOW): 30 local days up to 2026-11-23.
LAST_30_DAYS = "from=2026-10-25 to=2026-11-23"


async def test_the_floor_status_shows_the_open_outage_the_backlog_and_the_kiosks(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    page = await (await site.client.get(f"/f/{LICENSE}/floor")).text()
    assert "no: outage open" in page and "timeout: api-ca.metrc.com did not answer in 30 s" in page
    assert "oldest waiting for the state" in page
    assert "<td>rejected by the state</td><td>1</td>" in page
    assert "kiosk-02</td><td>offline" in page and "scanner unplugged" in page
    assert " PST" in page  # the facility's own time


def a_register(name: str, report: Callable[[str | None], Report]) -> Register:
    """A register as another module would add one to ``REGISTERS``."""
    async def build(ledger: Ledger, facility: str | None, clock: Clock | None = None,
                    **period: Any) -> Report:
        return report(facility)
    return Register(name, f"the {name} register", build)


async def test_every_register_in_the_table_has_a_page(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    later = a_register("added_later", lambda f: Report("A register added later", ("what",), [(f"for {f}",)]))
    monkeypatch.setattr("bridge.reports.REGISTERS", (*REGISTERS, later))
    assert await sign_in(site.client, "sam") == 302
    floor = await (await site.client.get(f"/f/{LICENSE}/floor")).text()
    for one in (*REGISTERS, later):
        assert f'href="/f/{LICENSE}/{one.name}"' in floor
    page = await (await site.client.get(f"/f/{LICENSE}/added_later")).text()
    assert "A register added later" in page and f"for {LICENSE}" in page


async def test_a_long_register_shows_its_first_rows_and_exports_all(site: Site,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    many = a_register("many", lambda f: Report("Many", ("n",), [(n,) for n in range(2500)]))
    monkeypatch.setattr("bridge.reports.REGISTERS", (many,))
    assert await sign_in(site.client, "ines") == 302
    page = await (await site.client.get(f"/f/{LICENSE}/many")).text()
    assert page.count("<tr>") == 1 + 1000 and "The first 1000 of 2500 rows" in page
    exported = await (await site.client.get(f"/f/{LICENSE}/many.csv")).text()
    assert len(exported.splitlines()) == 4 + 2500


async def test_rejections_show_the_states_words_and_the_correction(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    page = await (await site.client.get(f"/f/{LICENSE}/rejections")).text()
    assert html.escape(LONG_REFUSAL) in page
    assert site.floor.events["correction"] in page


async def test_activity_finds_a_harvest_batch_with_who_witness_and_weight(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    page = await (await site.client.get(f"/f/{LICENSE}/activity", params={"q": HARVEST})).text()
    assert site.floor.events["harvested"] in page and site.floor.events["waste"] in page
    assert "w-sam" in page and "812.4 g" in page and "SCALE-7" in page
    assert "Harvest waste" in page
    empty = await (await site.client.get(f"/f/{LICENSE}/activity", params={"q": "%"})).text()
    assert "(none)" in empty  # literally


async def test_the_chain_page_says_when_it_was_verified_and_verify_now_records_it(site: Site) -> None:
    assert await sign_in(site.client, "sam") == 302
    page = await (await site.client.get(f"/f/{LICENSE}/chain")).text()
    assert "passed" in page and f"{LICENSE}: " in page
    await site.ledger._exec("UPDATE events SET message = 'edited' WHERE id = ?",
                            (site.floor.events["moved_wrong"],))
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    page = await (await site.client.post(f"/f/{LICENSE}/chain/verify", data={"csrf": token.group(1)})).text()
    assert "FAILED" in page and site.floor.events["moved_wrong"] in page


async def test_a_csv_export_has_the_heading_and_every_row(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    response = await site.client.get(f"/f/{LICENSE}/rejections.csv")
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{LICENSE}-rejections-')
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][:2] == ["Records the state rejected", f"{NAME} (licence {LICENSE})"]
    assert rows[0][3].startswith("generated ") and rows[0][3].endswith("by ines (Auditor)")
    header = rows[3]
    found = [dict(zip(header, r, strict=True)) for r in rows[4:]]
    assert [(r["event"], r["state_said"]) for r in found] == [
        (site.floor.events["moved_wrong"], LONG_REFUSAL)]
    log = [(e.who, e.action, e.what) for e in await site.ledger.console_log()]
    assert ("ines", "export", f"{LICENSE} rejections csv {LAST_30_DAYS}") in log


async def test_a_csv_cell_never_becomes_a_spreadsheet_formula(site: Site,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    typed = [('=HYPERLINK("http://x.example","open")', -3), ("@SUM(A1)", 1)]
    notes = a_register("notes", lambda f: Report("Notes", ("note", "count"), list(typed)))
    monkeypatch.setattr("bridge.reports.REGISTERS", (notes,))
    assert await sign_in(site.client, "ines") == 302
    rows = list(csv.reader(io.StringIO(await (await site.client.get(f"/f/{LICENSE}/notes.csv")).text())))
    assert rows[4:] == [["'=HYPERLINK(\"http://x.example\",\"open\")", "-3"], ["'@SUM(A1)", "1"]]


async def test_a_pdf_export_has_heading_page_numbers_and_a_repeated_header(site: Site) -> None:
    assert await sign_in(site.client, "casey") == 302
    response = await site.client.get(f"/f/{LICENSE}/activity.pdf", params={"q": "1A4FF0100000022000001001"})
    body = await response.read()
    assert response.headers["Content-Type"] == "application/pdf"
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(body)).pages]
    assert len(pages) >= 2  # one plant moved 20 times: its rows fill more than a page
    for n, text in enumerate(pages, 1):
        assert f"{NAME} (licence {LICENSE})" in text
        assert f"page {n} of {len(pages)}" in text
        assert "by casey (Compliance manager)" in text
        assert "Period: 2026-10-25 to 2026-11-23 (local days, America/Los_Angeles)" in text  # the default
        assert "when" in text and "state_said" in text  # the header row, on every page



async def test_pdfs_asked_for_at_once_are_each_whole_and_pages_answer_meanwhile(site: Site) -> None:
    # PDFs are laid out in the renderer's process, one after another, while the console's
    # loop answers pages: each export comes back whole, as its own request asked.
    assert await sign_in(site.client, "casey") == 302
    params = {"q": "1A4FF0100000022000001001"}
    alone = pdf_text(await (await site.client.get(f"/f/{LICENSE}/activity.pdf", params=params)).read())
    exports = [site.client.get(f"/f/{LICENSE}/{name}.pdf", params=params if name == "activity" else None)
               for name in ("activity", "waste", "activity", "rejections", "activity")]
    pages = [site.client.get(f"/f/{LICENSE}/floor") for _ in range(3)]
    responses = await asyncio.gather(*exports, *pages)
    assert [r.status for r in responses] == [200] * len(responses)
    texts = [pdf_text(await r.read()) for r in responses[:len(exports)]]
    stamp = re.compile(r"Generated [^\n]*")  # each export's time of making
    assert [stamp.sub("", t) for t in texts[::2]] == [stamp.sub("", alone)] * 3
    assert texts[1].startswith("Waste and destruction: ") and texts[1].endswith("page 1 of 1\n")
    assert texts[3].startswith("Records the state rejected: ") and texts[3].endswith("page 1 of 1\n")
    for page in responses[len(exports):]:
        assert NAME in await page.text()

def bridge_verify(tmp: Path, url: str) -> subprocess.CompletedProcess[str]:
    conf = tmp / "bridge.toml"
    conf.write_text(f'[ledger]\nurl = "{url}"\n')
    return subprocess.run([sys.executable, "-m", "cli", "bridge", "verify", "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)


async def test_the_console_log_is_chained_and_an_edit_is_named(tmp_path: Path, ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    try:
        for n in range(1, 6):
            await ledger.console_record("casey", "view", f"{LICENSE} floor {n}" + "x" * 1000 * (n == 2),
                                        "10.0.0.5")
        report = await ledger.verify_console_log()
        assert (report.entries, report.mismatch) == (5, None)
        [*_, last] = await verify_and_record(ledger)
        assert last.facility == "console log" and last.mismatch is None
    finally:
        await ledger.close()
    edit = "UPDATE console_log SET who = 'someone' WHERE n = 3"
    if ledger_url.startswith("sqlite:///"):
        with sqlite3.connect(ledger_url.removeprefix("sqlite:///")) as db:
            db.execute(edit)
    else:
        with psycopg.connect(ledger_url, autocommit=True) as conn:
            conn.execute(edit)
    done = bridge_verify(tmp_path, ledger_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL console: entry 3 (console 3): its hash does not match its contents" in done.stdout


async def test_the_ledger_keeps_accounts_on_both_databases(ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    try:
        await fill(ledger, moves=3)
        await add_accounts(ledger)
        assert [(u.name, u.role, u.active) for u in await ledger.console_users()] == [
            ("casey", "compliance", True), ("ines", "auditor", True), ("sam", "supervisor", True)]
        assert await ledger.disable_console_user("sam")
        assert not await ledger.disable_console_user("sam")
        user = await ledger.console_user("sam")
        assert user is not None and not user.active
    finally:
        await ledger.close()
    again = await open_ledger(ledger_url)  # reopened: the schema is current, nothing lost
    try:
        assert len(await again.console_users()) == 3
    finally:
        await again.close()


def canopy(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "console", *args], capture_output=True, text=True,
                          timeout=60, input=stdin)


async def test_accounts_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = await open_ledger(url)
    await ledger.close()
    conf = str(bridge_toml(tmp_path / "bridge.toml", url))
    done = canopy("user", "add", "Casey", "--role", "compliance", "--password-stdin", "-c", conf,
                  stdin="a long password\n")
    assert done.returncode == 0, done.stderr
    assert "casey may sign in to the console as Compliance manager" in done.stdout
    again = canopy("user", "add", "casey", "--role", "auditor", "--password-stdin", "-c", conf,
                   stdin="a long password\n")
    assert again.returncode == 2 and "already an account 'casey'" in again.stderr
    short = canopy("user", "add", "dora", "--role", "auditor", "--password-stdin", "-c", conf,
                   stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters: nothing was added" in short.stderr
    assert canopy("user", "disable", "casey", "-c", conf).returncode == 0
    listing = canopy("user", "list", "-c", conf)
    assert listing.stdout.split() == ["NAME", "ROLE", "STATUS", "casey", "Compliance", "manager", "disabled"]
    missing = canopy("user", "disable", "nobody", "-c", conf)
    assert missing.returncode == 2 and "no active account 'nobody'" in missing.stderr
    ledger = await open_ledger(url)
    try:
        log = [(e.action, e.what, e.address) for e in reversed(await ledger.console_log())]
        assert log == [("account added", "casey as compliance", "command line"),
                       ("account disabled", "casey", "command line")]
    finally:
        await ledger.close()


async def test_the_console_works_the_same_on_both_databases(ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    client: Client = TestClient(TestServer(console_for(ledger).app()))
    try:
        await fill(ledger, moves=3)
        await add_accounts(ledger)
        await client.start_server()
        assert await sign_in(client, "ines") == 302
        page = await (await client.get(f"/f/{LICENSE}/rejections")).text()
        assert html.escape(LONG_REFUSAL) in page
        pdf = await (await client.get(f"/f/{LICENSE}/rejections.pdf")).read()
        assert NAME in pdf_text(pdf)
        log = [(e.who, e.action, e.what) for e in reversed(await ledger.console_log())]
        assert log[-3:] == [("ines", "sign-in", "role auditor"),
                            ("ines", "view", f"{LICENSE} rejections {LAST_30_DAYS}"),
                            ("ines", "export", f"{LICENSE} rejections pdf {LAST_30_DAYS}")]
        assert (await ledger.verify_console_log()).mismatch is None
    finally:
        await client.close()
        await ledger.close()


def pdf_text(body: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


async def test_a_register_and_the_activity_search_take_a_period_of_local_days(site: Site) -> None:
    # Every record of the floor is on 2026-11-22, Los Angeles time (16:00 to 23:00 UTC).
    assert await sign_in(site.client, "ines") == 302
    pages = {days: await (await site.client.get(f"/f/{LICENSE}/waste", params=dict(days))).text()
             for days in ((), (("from", "2026-11-22"), ("to", "2026-11-22")), (("from", "2026-11-23"),),
                          (("to", "2026-11-21"),))}
    shown = {days: site.floor.events["destroyed"] in page for days, page in pages.items()}
    assert list(shown.values()) == [True, True, False, False]
    assert 'name="from" type="date" value="2026-11-22"' in list(pages.values())[1]
    one_day = {"q": HARVEST, "from": "2026-11-22", "to": "2026-11-22"}
    page = await (await site.client.get(f"/f/{LICENSE}/activity", params=one_day)).text()
    assert site.floor.events["harvested"] in page
    assert f'href="/f/{LICENSE}/activity.csv?q=' in page and "from=2026-11-22&amp;to=2026-11-22" in page
    later = await (await site.client.get(f"/f/{LICENSE}/activity", params={**one_day, "from": "2026-11-23",
                                                                            "to": "2026-11-30"})).text()
    assert site.floor.events["harvested"] not in later and "(none)" in later
    log = [(e.action, e.what) for e in await site.ledger.console_log()]
    assert ("view", f"{LICENSE} waste from=2026-11-23") in log


async def test_the_exports_hold_the_period_asked_for_and_say_it(site: Site) -> None:
    assert await sign_in(site.client, "casey") == 302
    days = {"from": "2026-11-23", "to": "2026-11-30"}
    rows = list(csv.reader(io.StringIO(await (await site.client.get(f"/f/{LICENSE}/rejections.csv",
                                                                     params=days)).text())))
    assert rows[0][2] == "period: 2026-11-23 to 2026-11-30 (local days, America/Los_Angeles)"
    assert rows[4:] == []
    rows = list(csv.reader(io.StringIO(await (await site.client.get(f"/f/{LICENSE}/rejections.csv",
                                                                     params={"to": "2026-11-22"})).text())))
    assert rows[0][2] == "period: up to and including 2026-11-22 (local days, America/Los_Angeles)"
    assert [r[-1] for r in rows[4:]] == [site.floor.events["moved_wrong"]]
    body = await (await site.client.get(f"/f/{LICENSE}/waste.pdf", params={"from": "2026-11-22"})).read()
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert "Period: from 2026-11-22 on (local days, America/Los_Angeles)" in text
    assert site.floor.events["destroyed"] in text.replace("\n", "")


async def test_a_register_of_now_offers_no_period_and_says_so(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    page = await (await site.client.get(f"/f/{LICENSE}/held", params={"from": "2026-11-23"})).text()
    assert 'name="from"' not in page and "it takes no period" in page
    assert site.floor.events["ahead"] in page  # the period is not applied


@pytest.mark.parametrize(("days", "said"), [
    ({"from": "22/11/2026"}, "'from' takes a day as YYYY-MM-DD"),
    ({"to": "0001-01-01"}, "'to' takes a day as YYYY-MM-DD between 1900 and 9998"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "'from' (2026-11-30) is after 'to' (2026-11-01): swap them"),
])
async def test_a_wrong_period_is_refused_saying_what_to_type(site: Site, days: dict[str, str],
                                                             said: str) -> None:
    assert await sign_in(site.client, "ines") == 302
    response = await site.client.get(f"/f/{LICENSE}/waste.csv", params=days)
    assert response.status == 400 and said in await response.text()


async def test_a_dated_page_defaults_to_the_last_30_local_days_and_its_exports_follow(site: Site) -> None:
    site.later(40 * 86400)  # 2027-01-02 in Los Angeles: the floor's records are older than 30 days
    assert await sign_in(site.client, "ines") == 302
    destroyed = site.floor.events["destroyed"]
    page = await (await site.client.get(f"/f/{LICENSE}/waste")).text()
    assert destroyed not in page and "(none)" in page
    assert "The last 30 days, 2026-12-04 to 2027-01-02" in page
    assert 'name="from" type="date" value="2026-12-04"' in page and 'value="2027-01-02"' in page
    assert f'href="/f/{LICENSE}/waste.csv?from=2026-12-04&amp;to=2027-01-02"' in page
    response = await site.client.get(f"/f/{LICENSE}/waste.csv")
    assert "-waste-2026-12-04_2027-01-02-" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][2] == "period: 2026-12-04 to 2027-01-02 (local days, America/Los_Angeles)"
    assert rows[4:] == []
    # Emptying both days asks for every record; the export links keep asking for them.
    everything = await (await site.client.get(f"/f/{LICENSE}/waste", params={"from": "", "to": ""})).text()
    assert destroyed in everything and "The last 30 days" not in everything
    assert f'href="/f/{LICENSE}/waste.pdf?from=&amp;to="' in everything
    body = await (await site.client.get(f"/f/{LICENSE}/waste.pdf", params={"from": "", "to": ""})).read()
    text = pdf_text(body)
    assert "Period: 2026-11-22" in text and destroyed in text.replace("\n", "")
    log = [e.what for e in await site.ledger.console_log()]
    assert f"{LICENSE} waste from=2026-12-04 to=2027-01-02" in log and f"{LICENSE} waste all records" in log
    # The activity search too.
    found = await (await site.client.get(f"/f/{LICENSE}/activity", params={"q": HARVEST})).text()
    assert site.floor.events["harvested"] not in found and "The last 30 days" in found


async def test_a_pdf_heading_never_overlaps_the_generated_line(site: Site) -> None:
    """The title (a tag, the facility and its licence) and "Generated … by …" are drawn apart:
    on one line, a long title ran into the generated time (text positions from the PDF)."""
    assert await sign_in(site.client, "casey") == 302
    response = await site.client.get(f"/f/{LICENSE}/activity.pdf", params={"q": "1A4FF0100000022000001001"})
    page = PdfReader(io.BytesIO(await response.read())).pages[0]
    runs: list[tuple[str, float, float, float]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            runs.append((text, float(tm[4]), float(tm[5]), float(tm[0]) * size))

    page.extract_text(visitor_text=visit)
    title = next(r for r in runs if r[0].startswith("Everything recorded about") and LICENSE in r[0])
    made = next(r for r in runs if r[0].startswith("Generated "))
    width = stringWidth(title[0], "Helvetica-Bold", title[3])
    assert made[2] != title[2] or made[1] > title[1] + width, (title, made)
