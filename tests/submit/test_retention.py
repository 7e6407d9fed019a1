"""Nothing the bridge runs deletes a record within retention: seven years for every record,
and at least six months after retirement for a retired tag (CDFA §8400(a), (d)(5))."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.ingest import mentioned_names, mentioned_tags
from bridge.ledger import Answer, IncomingEvent, open_ledger
from bridge.reports import BY_NAME, RETIRED_TAGS_KEPT, Clock, activity
from canopy.events import build_event, format_utc
from canopy.ids import uuid7

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"
LICENSE, TAG = "CCL24-0000101", "1A4FF0100000022000001001"
# Tables a statement may delete from: none holds a record (a read-back picture is a
# scratch copy of the state's answer, kept only until its event is settled; a console
# session lasts until sign-out or idleness, and the console log keeps both).
MAY_DELETE = {"readbacks", "console_sessions"}


def test_no_statement_in_the_bridge_deletes_records() -> None:
    deletes: set[str] = set()
    for source in BRIDGE.rglob("*.py"):
        text = source.read_text()
        # The ledger's SQL is written in capitals, as everywhere in bridge/.
        deletes |= set(re.findall(r"DELETE\s+FROM\s+(\w+)", text))
        assert not re.search(r"\bTRUNCATE\b|\bDROP\s+TABLE\b", text), source
    assert deletes == MAY_DELETE


def test_a_retired_tag_is_kept_at_least_six_months() -> None:
    assert timedelta(days=183) <= RETIRED_TAGS_KEPT


async def test_a_retired_tag_is_still_on_record_after_the_bridge_runs_for_months(ledger_url: str) -> None:
    at = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)
    event = build_event("plant.destroyed", {"tag": TAG, "reason": "Pest infestation",
                                            "weight": {"value": "5", "unit": "g"}},
                        id=uuid7(), facility=LICENSE, device="kiosk-01", user="w-dana", at=at, seq=1)
    ledger = await open_ledger(ledger_url)
    await ledger.store([IncomingEvent(event.id, LICENSE, "kiosk-01", 1, event.type, format_utc(at),
                                      event.to_json(), mentioned_tags(event), mentioned_names(event))], [])
    # What the bridge does over the months: read-back pictures kept and dropped, verdicts,
    # outages, verification; the ledger closed and opened again.
    later = at + RETIRED_TAGS_KEPT + timedelta(days=30)
    ledger.clock = lambda: int(later.timestamp() * 1000)
    await ledger.keep_readback(event.id, "{}")
    await ledger.settle([Answer(event.id, "accepted")])
    await ledger.keep_readback(uuid7(), "{}")
    await ledger.outage_begins(LICENSE, "timeout")
    await ledger.outage_ends(LICENSE)
    await ledger.close()
    ledger = await open_ledger(ledger_url)
    try:
        clock = Clock({LICENSE: "America/Los_Angeles"})
        rows = (await BY_NAME["tags"].build(ledger, LICENSE, clock)).rows
        assert [(r[2], r[4], r[8]) for r in rows] == [("retired: plant destroyed", TAG, "2026-11-03")]
        assert [r[-1] for r in (await activity(ledger, TAG, LICENSE, clock)).rows] == [event.id]
    finally:
        await ledger.close()
