"""`canopy bridge report …` over a real ledger, in each output format."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.ingest import mentioned_tags
from bridge.ledger import Answer, IncomingEvent, open_ledger
from canopy.events import build_event
from canopy.ids import uuid7

TAG = "1A4FF0100000022000001001"


async def seeded(url: str) -> list[str]:
    ledger = await open_ledger(url)
    ids = []
    for seq, (type_, data) in enumerate([
        ("plant.moved", {"tag": TAG, "location": "Flower Room A"}),
        ("plant.moved", {"tag": TAG, "location": "Flower Room Z"}),
        ("plant.scanned", {"tag": "1A4FF0100000022000009999"}),
    ], start=1):
        event = build_event(type_, data, id=uuid7(), facility="CCL24-0000101", device="kiosk-01",
                            user="worker-1", at=datetime.now(UTC), seq=seq)
        await ledger.store([IncomingEvent(event.id, event.facility, event.device, seq, event.type,
                                          "2026-11-22T10:00:00.000Z", event.to_json(),
                                          mentioned_tags(event))], [])
        ids.append(event.id)
    await ledger.settle([Answer(ids[0], "accepted"),
                         Answer(ids[1], "rejected", "Location Flower Room Z does not exist.")])
    assert await ledger.outage_begins("CCL24-0000101", "unavailable: Metrc not reachable")
    assert not await ledger.outage_begins("CCL24-0000101", "again")  # one open outage per licence
    assert await ledger.outage_ends("CCL24-0000101")
    await ledger.close()
    return ids


def report(tmp: Path, url: str, *args: str) -> str:
    conf = tmp / "bridge.toml"
    conf.write_text(f'[ledger]\nurl = "{url}"\n')
    done = subprocess.run([sys.executable, "-m", "cli", "bridge", "report", *args, "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_reports_in_every_format(tmp_path: Path, ledger_url: str) -> None:
    ids = await seeded(ledger_url)
    outages = json.loads(report(tmp_path, ledger_url, "outages", "--json"))
    assert len(outages) == 1
    assert outages[0]["cause"] == "unavailable: Metrc not reachable"
    assert outages[0]["ended"] != "ongoing"
    rejected = list(csv.DictReader(io.StringIO(report(tmp_path, ledger_url, "rejections", "--csv"))))
    assert [(r["event"], r["message"]) for r in rejected] == [
        (ids[1], "Location Flower Room Z does not exist.")]
    table = report(tmp_path, ledger_url, "activity", TAG)
    assert table.splitlines()[0] == f"Everything recorded about {TAG}"
    assert ids[0] in table
    assert ids[1] in table
    assert ids[2] not in table  # another tag
