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
    assert [(r["event"], r["state_said"]) for r in rejected] == [
        (ids[1], "Location Flower Room Z does not exist.")]
    table = report(tmp_path, ledger_url, "activity", TAG)
    assert table.splitlines()[0] == f"Everything recorded about {TAG}"
    assert ids[0] in table
    assert ids[1] in table
    assert ids[2] not in table  # another tag


LICENSE = "CCL24-0000101"
HARVEST = "2026-11-20-Dry Room-H"
SCALE_WEIGHT = {"value": "812.4", "unit": "g", "scale_id": "SCALE-7", "raw": "S S     812.4 g"}


def profile_config(tmp: Path, url: str) -> Path:
    conf = tmp / "bridge-with-profile.toml"
    conf.write_text(
        f'[ledger]\nurl = "{url}"\n\n[[facilities]]\nlicense = "{LICENSE}"\nstate = "CA"\n'
        'system = "metrc"\nbase_url = "http://127.0.0.1:9"\ntimezone = "America/Los_Angeles"\n'
        '[facilities.metrc]\nvendor_key = "v"\nuser_key = "u"\n')
    return conf


async def store_all(url: str, events: list[tuple[str, dict[str, object], dict[str, str]]]) -> list[str]:
    from bridge.ingest import mentioned_names

    ledger = await open_ledger(url)
    ids = []
    for seq, (type_, data, extra) in enumerate(events, start=1):
        event = build_event(type_, data, id=uuid7(), facility=LICENSE, device="kiosk-01", user="w-dana",
                            at=datetime(2026, 11, 22, 18, 30, tzinfo=UTC), seq=seq, **extra)
        await ledger.store([IncomingEvent(event.id, event.facility, event.device, seq, event.type,
                                          "2026-11-22T18:30:00.000Z", event.to_json(),
                                          mentioned_tags(event), mentioned_names(event))], [])
        ids.append(event.id)
    await ledger.close()
    return ids


def run_report(conf: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cli", "bridge", "-c", str(conf), "report", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_activity_says_who_witness_weight_reason_and_method_in_local_time(
        tmp_path: Path, ledger_url: str) -> None:
    destroyed, harvested = await store_all(ledger_url, [
        ("plant.destroyed", {"tag": TAG, "reason": "Pest infestation", "method": "Grinder",
                             "material_mixed": "Soil", "weight": SCALE_WEIGHT}, {"witness": "w-sam"}),
        ("plant.harvested", {"tag": "1A4FF0100000022000001002", "harvest_name": HARVEST,
                             "drying_location": "Dry Room", "weight": SCALE_WEIGHT}, {}),
    ])
    conf = profile_config(tmp_path, ledger_url)
    [row] = json.loads(run_report(conf, "activity", TAG, "--json"))
    assert row["event"] == destroyed
    assert row["when"] == "2026-11-22 10:30:00 PST"  # 18:30 UTC is 10:30 in California
    assert (row["record"], row["worker"], row["witness"]) == ("Destroyed", "w-dana", "w-sam")
    assert (row["weight"], row["scale"]) == ("812.4 g", "SCALE-7")
    assert (row["reason"], row["method"]) == ("Pest infestation", "Grinder / Soil")
    # A harvest batch is found by its name, spaces and all; literally, and per facility.
    [by_name] = json.loads(run_report(conf, "activity", HARVEST, "--json"))
    assert by_name["event"] == harvested and by_name["where"] == ""
    assert json.loads(run_report(conf, "activity", "%", "--json")) == []
    assert json.loads(run_report(conf, "activity", HARVEST, "--facility", "OTHER-LIC", "--json")) == []


async def test_a_rejection_says_whether_and_by_what_it_was_corrected(tmp_path: Path, ledger_url: str) -> None:
    wrong, other = await store_all(ledger_url, [
        ("plant.moved", {"tag": TAG, "location": "Flower Room Z"}, {}),
        ("plant.moved", {"tag": "1A4FF0100000022000001002", "location": "Flower Room Z"}, {}),
    ])
    [fix] = await store_all(ledger_url, [("record.corrected", {"reason": "Wrong room"},
                                          {"corrects": wrong})])
    ledger = await open_ledger(ledger_url)
    await ledger.settle([Answer(wrong, "rejected", "Location Flower Room Z does not exist."),
                         Answer(other, "rejected", "Location Flower Room Z does not exist.")])
    await ledger.close()
    rows = list(csv.DictReader(io.StringIO(run_report(profile_config(tmp_path, ledger_url),
                                                      "rejections", "--csv"))))
    assert {r["event"]: r["corrected_by"] for r in rows} == {wrong: fix, other: ""}
    assert {r["worker"] for r in rows} == {"w-dana"}
