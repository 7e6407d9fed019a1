"""A supervisor or compliance manager dismisses a rejection from the console: recorded in the
ledger as a chained ``rejection.dismissed`` record and in the console log, shown as dismissed
(who, why) by the rejection register; an auditor cannot, and a form without its token does nothing."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.ingest import classify
from bridge.ledger import Ledger, Rejected, open_ledger, verify_and_record
from bridge.office import KIOSKS_NOTE
from canopy import topics
from canopy.events import build_event
from canopy.ids import uuid7
from canopy.mqtt import Message
from tests.console.conftest import Client, Site, csrf_of, csrf_token, sign_in
from tests.console.floor_records import LICENSE, add_accounts, console_for, fill, rejected_move

REJECTIONS = f"/f/{LICENSE}/rejections"
DISMISS = f"{REJECTIONS}/dismiss"
REASON = "Entered in Metrc by the office"


async def console_records(ledger: Ledger) -> list[tuple[object, ...]]:
    """The records the console wrote into the ledger."""
    return await ledger._fetch("SELECT id, type, seq FROM events WHERE device = ?", (topics.CONSOLE_DEVICE,))


@pytest.mark.parametrize("name", ["sam", "casey"])  # a supervisor and a compliance manager
async def test_a_supervisor_dismisses_a_rejection_with_a_reason(site: Site, name: str) -> None:
    rejected = await rejected_move(site.ledger)
    assert await sign_in(site.client, name) == 302
    page = await (await site.client.get(REJECTIONS)).text()
    assert "Dismiss a rejection" in page and html.escape(KIOSKS_NOTE) in page
    options = re.findall(r'<option value="([^"]+)"', page)
    assert options == [rejected]  # the corrected one is not offered
    done = await site.client.post(DISMISS, data={"csrf": csrf_of(page), "event": rejected, "reason": REASON})
    text = await done.text()
    assert done.status == 200 and f"Rejection of record {rejected} dismissed" in text
    [(event_id, type_, seq)] = await console_records(site.ledger)
    assert (type_, seq) == ("rejection.dismissed", 1)
    # The register says who dismissed it and why, in the page and its exports.
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", text) if rejected in r)
    assert f"dismissed by console:{name} on 2026-11-23 10:00:00 PST: {REASON}" in html.unescape(row)
    assert event_id in row
    assert "Nothing shown here is still to fix." in text
    csv_text = await (await site.client.get(f"{REJECTIONS}.csv")).text()
    assert f"dismissed by console:{name}" in csv_text
    # Chained like every record, and the chain still verifies; the console log has it.
    chained = await site.ledger._fetch("SELECT facility, kind FROM chain WHERE ref = ?", (event_id,))
    assert chained == [(LICENSE, "event")]
    assert all(r.mismatch is None for r in await verify_and_record(site.ledger))
    log = [(e.who, e.action, e.what) for e in await site.ledger.console_log(5)]
    assert (name, "rejection dismissed", f"{LICENSE} {rejected} by record {event_id}: {REASON}") in log
    again = await site.client.post(DISMISS, data={"csrf": csrf_of(text), "event": rejected, "reason": REASON})
    said = html.unescape(await again.text())  # who was first, and when
    assert again.status == 400 and f"already dismissed by console:{name} on 2026-11-23 10:00:00 PST" in said
    assert len(await console_records(site.ledger)) == 1


async def test_an_auditor_cannot_dismiss_a_rejection(site: Site) -> None:
    rejected = await rejected_move(site.ledger)
    assert await sign_in(site.client, "ines") == 302
    page = await (await site.client.get(REJECTIONS)).text()
    assert "Dismiss a rejection" not in page and DISMISS not in page
    form = {"csrf": csrf_of(page), "event": rejected, "reason": REASON}
    refused = await site.client.post(DISMISS, data=form)
    assert refused.status == 403 and "may not do this" in await refused.text()
    assert await console_records(site.ledger) == []


async def test_a_dismissal_without_the_sessions_token_does_nothing(site: Site) -> None:
    rejected = await rejected_move(site.ledger)
    assert await sign_in(site.client, "sam") == 302
    for csrf in ({}, {"csrf": "forged"}):
        data = {**csrf, "event": rejected, "reason": REASON}
        assert (await site.client.post(DISMISS, data=data)).status == 403
    assert await console_records(site.ledger) == []


@pytest.mark.parametrize(("form", "said"), [
    ({"reason": REASON}, "there is no record"),
    ({"event": "no-such-record", "reason": REASON}, "there is no record 'no-such-record'"),
    ({"event": "{moved_wrong}", "reason": REASON}, "that rejection is already corrected by"),
    ({"event": "{destroyed}", "reason": REASON}, "was not rejected by the state"),
    ({"event": "{rejected}", "reason": "  "}, "give a reason"),
    ({"event": "{rejected}", "reason": "x" * 121}, "at most 120 characters"),
])
async def test_a_dismissal_that_cannot_be_made_says_why(site: Site, form: dict[str, str], said: str) -> None:
    ids = {**site.floor.events, "rejected": await rejected_move(site.ledger)}
    assert await sign_in(site.client, "sam") == 302
    token = await csrf_token(site.client, REJECTIONS)
    data = {"csrf": token, **{k: v.format(**ids) for k, v in form.items()}}
    response = await site.client.post(DISMISS, data=data)
    assert response.status == 400 and said in html.unescape(await response.text())
    assert await console_records(site.ledger) == []


async def test_no_kiosk_can_send_a_record_as_the_console() -> None:
    event = build_event("rejection.dismissed", {"reason": REASON}, id=uuid7(), facility=LICENSE,
                        device=topics.CONSOLE_DEVICE, user="console:sam",
                        at=datetime(2026, 11, 23, tzinfo=UTC), seq=1, corrects=uuid7())
    [item] = classify(Message(topic=topics.events(LICENSE, topics.CONSOLE_DEVICE), payload=event.to_json(),
                              qos=1, retain=False, mid=1, generation=1))
    assert isinstance(item, Rejected) and "compliance console's" in item.reason


async def test_dismissing_works_the_same_on_both_databases(ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    client: Client = TestClient(TestServer(console_for(ledger).app()))
    try:
        await fill(ledger, moves=3)
        await add_accounts(ledger)
        rejected = await rejected_move(ledger)
        await client.start_server()
        assert await sign_in(client, "sam") == 302
        token = csrf_of(await (await client.get(REJECTIONS)).text())
        done = await client.post(DISMISS, data={"csrf": token, "event": rejected, "reason": REASON})
        assert done.status == 200
        assert f"dismissed by console:sam on 2026-11-23 10:00:00 PST: {REASON}" in html.unescape(
            await done.text())
        assert all(r.mismatch is None for r in await verify_and_record(ledger))
    finally:
        await client.close()
        await ledger.close()
