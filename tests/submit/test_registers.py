"""Each register an inspector asks for, built from real events in a real ledger (SQLite and
PostgreSQL), row by row, in the facility's local time."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.config import Deadline
from bridge.ingest import mentioned_names, mentioned_tags
from bridge.ledger import Answer, IncomingEvent, Ledger, open_ledger
from bridge.reports import BY_NAME, REGISTERS, Clock, Period, Report, activity
from canopy.events import build_event, format_utc
from canopy.ids import uuid7

LICENSE, OTHER = "CCL24-0000101", "CCL24-0000202"
LA = "America/Los_Angeles"
TAG, TAG2, TAG3 = "1A4FF0100000022000001001", "1A4FF0100000022000001002", "1A4FF0100000022000001003"
HARVEST = "2026-11-20 Dry Room H"
ScaleWeight = dict[str, Any]


def weighed(value: str, unit: str = "g", scale: str = "SCALE-7") -> ScaleWeight:
    return {"value": value, "unit": unit, "scale_id": scale, "raw": f"S S {value} {unit}"}


class Floor:
    """Events as kiosks record them, through the contract and ingest's index keys."""

    def __init__(self) -> None:
        self.seq: dict[tuple[str, str], int] = {}
        self.events: list[IncomingEvent] = []

    def add(self, type_: str, data: dict[str, Any], at: datetime, *, user: str = "w-dana",
            device: str = "kiosk-01", facility: str = LICENSE, **extra: Any) -> str:
        seq = self.seq[(facility, device)] = self.seq.get((facility, device), 0) + 1
        event = build_event(type_, data, id=uuid7(), facility=facility, device=device, user=user, at=at,
                            seq=seq, **extra)
        self.events.append(IncomingEvent(event.id, facility, device, seq, event.type, format_utc(event.at),
                                         event.to_json(), mentioned_tags(event), mentioned_names(event)))
        return event.id

    async def store(self, ledger: Ledger, answers: list[Answer] | None = None) -> None:
        await ledger.store(self.events, [])
        self.events = []
        await ledger.settle(answers or [])


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    opened = await open_ledger(ledger_url)
    yield opened
    await opened.close()


CLOCK = Clock({LICENSE: LA})
NOV22 = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)  # 10:30 PST
DEC2 = datetime(2026, 12, 2, tzinfo=UTC)


def rows(report: Report) -> list[dict[str, Any]]:
    return [dict(zip(report.columns, r, strict=True)) for r in report.rows]


def plain(report: Report) -> bool:
    return all(v is None or isinstance(v, (str, int, float)) for r in report.rows for v in r)


async def test_waste_register_holds_reason_method_weight_mixed_material_witness_and_the_hold(
        ledger: Ledger) -> None:
    floor = Floor()
    plant = floor.add("plant.destroyed", {"tag": TAG, "reason": "Pest infestation", "method": "Grinder",
                                          "material_mixed": "Soil", "weight": weighed("812.4"),
                                          "note": "mites"}, NOV22, witness="w-sam")
    lot = floor.add("plant.destroyed", {"plant_batch": "Clones 11-01", "count": 4, "reason": "Male plants",
                                        "weight": weighed("0.3", "kg")}, NOV22.replace(hour=19))
    trim = floor.add("harvest.waste", {"harvest_name": HARVEST, "waste_type": "Stems",
                                       "weight": weighed("1.5", "lb", "SCALE-9")}, NOV22.replace(hour=20),
                     witness="w-sam")
    done = floor.add("plant.destroy_completed", {"tag": TAG, "scheduled": plant},
                     datetime(2026, 11, 25, 19, 0, tzinfo=UTC), user="w-lee", witness="w-sam")
    floor.add("plant.destroyed", {"tag": TAG2, "reason": "Pest infestation", "weight": weighed("1")}, NOV22,
              facility=OTHER)
    await floor.store(ledger, [Answer(plant, "accepted"), Answer(lot, "rejected", "Plant batch not found."),
                               Answer(done, "accepted")])
    report = await BY_NAME["waste"].build(ledger, LICENSE, CLOCK)
    assert plain(report)
    got = rows(report)
    assert [r["event"] for r in got] == [plant, lot, trim]
    first, second, third = got
    assert (first["when"], first["record"], first["what"]) == ("2026-11-22 10:30:00 PST", "Destroyed",
                                                               f"plant {TAG}")
    assert (first["reason"], first["method"], first["mixed_material"]) == ("Pest infestation", "Grinder",
                                                                          "Soil")
    assert (first["weight"], first["scale"], first["witness"], first["worker"]) == ("812.4 g", "SCALE-7",
                                                                                 "w-sam", "w-dana")
    assert first["note"] == "mites"
    assert first["hold"] == "completed 2026-11-25 11:00:00 PST by w-lee, witness w-sam (accepted)"
    assert (first["status"], first["state_said"]) == ("accepted", "")
    assert (second["what"], second["weight"], second["hold"]) == ("plant batch Clones 11-01 (4 plants)",
                                                                 "0.3 kg", "")
    assert (second["status"], second["state_said"]) == ("rejected", "Plant batch not found.")
    assert (third["record"], third["what"], third["reason"]) == ("Harvest waste", f"harvest {HARVEST}",
                                                                "Stems")
    assert (third["weight"], third["scale"], third["status"]) == ("1.5 lb", "SCALE-9", "stored")
    everywhere = await BY_NAME["waste"].build(ledger, None, CLOCK)
    assert len(everywhere.rows) == 4


async def test_corrections_say_what_was_corrected_why_and_who_signed_off(ledger: Ledger) -> None:
    floor = Floor()
    wrong = floor.add("plant.moved", {"tag": TAG, "location": "Flower Room Z"}, NOV22, user="w-kim")
    fix = floor.add("record.corrected", {"reason": "Wrong room", "note": "was Flower Room A"},
                    NOV22.replace(hour=21), user="w-kim", witness="w-dana", corrects=wrong)
    await floor.store(ledger, [Answer(wrong, "rejected", "Location Flower Room Z does not exist.")])
    [row] = rows(await BY_NAME["corrections"].build(ledger, LICENSE, CLOCK))
    assert row == {
        "when": "2026-11-22 13:30:00 PST", "facility": LICENSE, "worker": "w-kim", "signed_off_by": "w-dana",
        "reason": "Wrong room", "note": "was Flower Room A", "corrected_record": "Plant moved",
        "corrected_when": "2026-11-22 10:30:00 PST", "corrected_worker": "w-kim",
        "corrected_state_said": "rejected: Location Flower Room Z does not exist.", "corrected_event": wrong,
        "device": "kiosk-01", "seq": 2, "event": fix}


async def test_harvests_add_wet_and_dry_weight_and_moisture_loss_per_batch(ledger: Ledger) -> None:
    floor = Floor()
    room = {"harvest_name": HARVEST, "drying_location": "Dry Room"}
    floor.add("plant.harvested", {**room, "tag": TAG, "weight": weighed("1000")}, NOV22)
    floor.add("plant.harvested", {**room, "tag": TAG2, "weight": weighed("0.5", "kg")},
              NOV22.replace(hour=19))
    floor.add("plant.manicured", {**room, "tag": TAG, "weight": weighed("200")}, NOV22.replace(hour=20))
    floor.add("harvest.waste", {"harvest_name": HARVEST, "waste_type": "Stems", "weight": weighed("100")},
              NOV22.replace(hour=21))
    cure = {"location": "Vault"}
    floor.add("plant.cured", {**cure, "tag": TAG, "weight": weighed("300")}, DEC2)
    floor.add("plant.cured", {**cure, "tag": TAG2, "weight": weighed("120")}, DEC2.replace(day=3))
    floor.add("plant.harvested", {"harvest_name": "Other", "drying_location": "Dry Room", "tag": TAG3,
                                  "weight": weighed("50")}, NOV22)
    await floor.store(ledger)
    report = await BY_NAME["harvests"].build(ledger, LICENSE, CLOCK)
    assert plain(report)
    by_name = {r["harvest"]: r for r in rows(report)}
    main = by_name[HARVEST]
    assert (main["plants"], main["wet_weight_g"], main["waste_g"], main["dry_weight_g"]) == (
        2, "1700.0", "100.0", "420.0")
    assert main["moisture_loss_pct"] == "75.3"  # (1700 - 420) / 1700
    assert (main["started"], main["last_weighed"]) == ("2026-11-22 10:30:00 PST", "2026-12-02 16:00:00 PST")
    assert main["state_said"] == "6 stored"
    assert (by_name["Other"]["dry_weight_g"], by_name["Other"]["moisture_loss_pct"]) == ("", "")


async def test_scale_register_gives_each_days_zero_and_test_weight_check(ledger: Ledger) -> None:
    floor = Floor()
    check = {"scale_id": "SCALE-7", "unit": "g", "zero": "0.0", "reference": "500.0", "tolerance": "0.2"}
    ok = floor.add("scale.checked", {**check, "reading": "500.1", "passed": True, "legal_for_trade": True},
                   datetime(2026, 11, 23, 5, 0, tzinfo=UTC))  # still the 22nd in California
    bad = floor.add("scale.checked", {**check, "reading": "503.0", "passed": False}, NOV22.replace(day=23),
                    user="w-lee")
    await floor.store(ledger)
    got = rows(await BY_NAME["scales"].build(ledger, LICENSE, CLOCK))
    assert [(r["day"], r["scale"], r["zero"], r["test_weight"], r["reading"], r["tolerance"], r["result"],
             r["legal_for_trade"], r["worker"], r["event"]) for r in got] == [
        ("2026-11-22", "SCALE-7", "0.0", "500.0", "500.1", "0.2", "passed", "on", "w-dana", ok),
        ("2026-11-23", "SCALE-7", "0.0", "500.0", "503.0", "0.2", "FAILED", "not reported", "w-lee", bad),
    ]


async def test_tags_register_lists_rolls_received_and_tags_retired_with_their_keeping_date(
        ledger: Ledger) -> None:
    floor = Floor()
    roll = floor.add("tags.received", {"kind": "plant", "first": TAG, "last": "1A4FF0100000022000001100",
                                       "count": 100}, NOV22)
    gone = floor.add("plant.destroyed", {"tag": TAG, "reason": "Pest infestation", "weight": weighed("5")},
                     NOV22.replace(hour=19))
    swapped = floor.add("plant.phase_changed", {"tag": TAG2, "new_tag": TAG3, "phase": "Flowering",
                                                "location": "Flower Room A"}, NOV22.replace(hour=20))
    await floor.store(ledger)
    got = rows(await BY_NAME["tags"].build(ledger, LICENSE, CLOCK))
    assert [(r["what"], r["first"], r["last"], r["count"], r["worker"], r["keep_until"], r["event"])
            for r in got] == [
        ("received", TAG, "1A4FF0100000022000001100", 100, "w-dana", "", roll),
        ("retired: plant destroyed", TAG, TAG, 1, "w-dana", "2027-05-24", gone),
        (f"retired: replaced by {TAG3}", TAG2, TAG2, 1, "w-dana", "2027-05-24", swapped),
    ]


async def test_a_period_is_whole_local_days_of_the_facility(ledger: Ledger) -> None:
    floor = Floor()
    check = {"scale_id": "SCALE-7", "unit": "g", "zero": "0.0", "reference": "500.0", "tolerance": "0.2",
             "reading": "500.0", "passed": True}
    late = floor.add("scale.checked", check, datetime(2026, 11, 23, 7, 59, tzinfo=UTC))  # 23:59 on the 22nd
    floor.add("scale.checked", check, datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # midnight: the 23rd
    early = floor.add("scale.checked", check, datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    floor.add("scale.checked", check, datetime(2026, 11, 22, 7, 59, tzinfo=UTC))
    await floor.store(ledger)
    day = Period.days(date(2026, 11, 22), date(2026, 11, 22), ZoneInfo(LA))
    got = await BY_NAME["scales"].build(ledger, LICENSE, CLOCK, period=day)
    assert [r[-1] for r in got.rows] == [early, late]
    utc_days = Period.days(date(2026, 11, 23), None, None)
    since = await BY_NAME["scales"].build(ledger, LICENSE, CLOCK, period=utc_days)
    assert len(since.rows) == 2  # from midnight UTC: both on the 23rd UTC


def test_three_business_days_skip_the_weekend_and_holidays() -> None:
    la = ZoneInfo(LA)
    friday = datetime(2026, 11, 20, 23, 0, tzinfo=la)
    assert Deadline(business_days=3).due(friday, la) == datetime(2026, 11, 26, 0, 0, tzinfo=la)  # end of Wed
    closed = Deadline(business_days=3, holidays=[date(2026, 11, 24)])
    assert closed.due(friday, la) == datetime(2026, 11, 27, 0, 0, tzinfo=la)  # Mon, Wed, Thu
    assert Deadline(hours=24).due(friday, la) == datetime(2026, 11, 21, 23, 0, tzinfo=la)
    with pytest.raises(ValueError, match="business_days or as hours"):
        Deadline(business_days=3, hours=24)


async def test_overdue_lists_what_waits_past_each_facilitys_deadline(ledger: Ledger) -> None:
    friday = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 10:00 PST
    floor = Floor()
    waiting = floor.add("plant.moved", {"tag": TAG, "location": "Flower Room A"}, friday)
    answered = floor.add("plant.moved", {"tag": TAG2, "location": "Flower Room A"}, friday)
    strict = floor.add("plant.moved", {"tag": TAG3, "location": "Flower Room A"}, friday, facility=OTHER)
    await floor.store(ledger, [Answer(answered, "accepted")])
    clock = Clock({LICENSE: LA, OTHER: LA}, {OTHER: Deadline(hours=24)})
    tuesday = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 3 business days end Wednesday night
    ledger.clock = lambda: int(tuesday.timestamp() * 1000)
    got = rows(await BY_NAME["overdue"].build(ledger, None, clock))
    assert [(r["event"], r["deadline"], r["due"], r["overdue_hours"]) for r in got] == [
        (strict, "24 h", "2026-11-21 10:00:00 PST", 74.0)]
    thursday = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 01:00 Thursday in California
    ledger.clock = lambda: int(thursday.timestamp() * 1000)
    got = rows(await BY_NAME["overdue"].build(ledger, LICENSE, clock))
    assert [(r["event"], r["deadline"], r["due"], r["overdue_hours"], r["status"]) for r in got] == [
        (waiting, "3 business days", "2026-11-26 00:00:00 PST", 1.0, "waiting for the state")]


async def test_activity_finds_a_worker_a_kiosk_and_a_batch_literally_per_facility(ledger: Ledger) -> None:
    floor = Floor()
    by_kim = floor.add("plant.moved", {"tag": TAG, "location": "Flower Room A"}, NOV22, user="w-kim")
    at_two = floor.add("plant.moved", {"tag": TAG2, "location": "Flower Room A"}, NOV22, device="kiosk-02")
    there = floor.add("plant.moved", {"tag": TAG3, "location": "Flower Room A"}, NOV22, user="w-kim",
                      facility=OTHER)
    batch = floor.add("plant_batch.created", {"name": "Clones 100%", "type": "Clone", "count": 5,
                                              "strain": "Blue Dream", "location": "Veg Room"}, NOV22)
    await floor.store(ledger)
    assert [r[-1] for r in (await activity(ledger, "w-kim", None, CLOCK)).rows] == [by_kim, there]
    assert [r[-1] for r in (await activity(ledger, "w-kim", LICENSE, CLOCK)).rows] == [by_kim]
    assert [r[-1] for r in (await activity(ledger, "kiosk-02", LICENSE, CLOCK)).rows] == [at_two]
    at_one = {r[-1] for r in (await activity(ledger, "kiosk-01", None, CLOCK)).rows}
    assert at_one == {by_kim, there, batch}  # the kiosk of that id at every facility
    assert await ledger.facilities() == [LICENSE, OTHER]
    assert [r[-1] for r in (await activity(ledger, "Clones 100%", LICENSE, CLOCK)).rows] == [batch]
    assert (await activity(ledger, "Clones 100_", LICENSE, CLOCK)).rows == []
    assert (await activity(ledger, "%", None, CLOCK)).rows == []


async def test_every_register_builds_on_an_empty_ledger_with_its_columns(ledger: Ledger) -> None:
    for register in REGISTERS:
        report = await register.build(ledger, LICENSE, CLOCK)
        assert report.rows == [] and report.columns
        assert report.as_csv().splitlines() == [",".join(report.columns)]


def bridge_report(conf: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli", "bridge", "-c", str(conf), "report", *args],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) is ok, done.stderr
    return done


def config_with_deadline(tmp: Path, url: str, deadline: str) -> Path:
    conf = tmp / "bridge.toml"
    conf.write_text(
        f'[ledger]\nurl = "{url}"\n\n[[facilities]]\nlicense = "{LICENSE}"\nstate = "CA"\n'
        f'system = "metrc"\nbase_url = "http://127.0.0.1:9"\ntimezone = "{LA}"\n'
        f"report_deadline = {deadline}\n"
        '[facilities.metrc]\nvendor_key = "v"\nuser_key = "u"\n')
    return conf


async def test_the_command_lists_and_prints_every_register_in_local_time(tmp_path: Path,
                                                                          ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    floor = Floor()
    gone = floor.add("plant.destroyed", {"tag": TAG, "reason": "Pest infestation", "method": "Grinder",
                                         "weight": weighed("812.4")}, NOV22, witness="w-sam")
    old = floor.add("plant.moved", {"tag": TAG2, "location": "Flower Room A"},
                    datetime(2026, 1, 5, tzinfo=UTC))
    await floor.store(ledger, [Answer(gone, "accepted")])
    await ledger.close()
    conf = config_with_deadline(tmp_path, ledger_url, "{ hours = 24 }")
    listed = bridge_report(conf, "list").stdout
    assert [line.split()[0] for line in listed.splitlines()] == [r.name for r in REGISTERS] + ["activity"]
    [row] = list(csv.DictReader(io.StringIO(bridge_report(conf, "waste", "--csv").stdout)))
    assert (row["when"], row["what"], row["witness"], row["weight"]) == (
        "2026-11-22 10:30:00 PST", f"plant {TAG}", "w-sam", "812.4 g")
    [late] = json.loads(bridge_report(conf, "overdue", "--json", "--facility", LICENSE).stdout)
    assert (late["event"], late["deadline"], late["due"]) == (old, "24 h", "2026-01-05 16:00:00 PST")
    assert json.loads(bridge_report(conf, "overdue", "--json", "--facility", OTHER).stdout) == []
    assert "Tags received, used and retired" in bridge_report(conf, "tags").stdout
    one_day = ("--facility", LICENSE, "--since", "2026-11-22", "--until", "2026-11-22", "--json")
    assert [r["event"] for r in json.loads(bridge_report(conf, "waste", *one_day).stdout)] == [gone]
    assert json.loads(bridge_report(conf, "waste", "--since", "2026-11-23", "--json").stdout) == []
    bad_day = bridge_report(conf, "waste", "--since", "22/11", ok=False)
    assert "--since takes a day as YYYY-MM-DD" in bad_day.stderr
    of_now = bridge_report(conf, "held", "--since", "2026-11-22", ok=False)
    assert "held lists the records as they stand now: it takes no --since/--until" in of_now.stderr
    refused = bridge_report(conf, "wastes", ok=False)
    assert "no report called 'wastes': the reports are outages, rejections, held, overdue" in refused.stderr


def test_a_deadline_is_business_days_or_hours_and_the_config_says_which(tmp_path: Path) -> None:
    conf = config_with_deadline(tmp_path, f"sqlite:///{tmp_path / 'l.db'}",
                                "{ business_days = 3, hours = 24 }")
    refused = bridge_report(conf, "overdue", ok=False)
    assert "give the deadline as business_days or as hours, not both" in refused.stderr


async def test_activity_finds_a_worker_by_the_name_in_the_workers_file(tmp_path: Path,
                                                                      ledger_url: str) -> None:
    from canopy.workerfile import add_worker

    workers = tmp_path / "workers.json"
    add_worker(workers, worker_id="w-kim", name="Kim Lee", pin="482913")
    ledger = await open_ledger(ledger_url)
    floor = Floor()
    by_kim = floor.add("plant.moved", {"tag": TAG, "location": "Flower Room A"}, NOV22, user="w-kim")
    floor.add("plant.moved", {"tag": TAG2, "location": "Flower Room A"}, NOV22, user="w-dana")
    await floor.store(ledger)
    await ledger.close()
    conf = config_with_deadline(tmp_path, ledger_url, "{ business_days = 3 }")
    with_file = conf.read_text().replace("report_deadline", f'workers_file = "{workers}"\nreport_deadline')
    conf.write_text(with_file)
    found = json.loads(bridge_report(conf, "activity", "kim lee", "--json").stdout)
    assert [(r["event"], r["worker"]) for r in found] == [(by_kim, "w-kim")]
    assert json.loads(bridge_report(conf, "activity", "Kim", "--json").stdout) == []  # a name, not a part


def test_the_readme_table_lists_every_register_in_order() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| register | what each row holds |", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.M) == [r.name for r in REGISTERS]


async def test_a_ledger_from_before_worker_keys_gets_them_when_opened(ledger_url: str) -> None:
    floor = Floor()
    by_kim = floor.add("plant.moved", {"tag": TAG, "location": "Flower Room A"}, NOV22, user="w-kim")
    floor.add("plant.moved", {"tag": TAG2, "location": "Flower Room A"}, NOV22, user="w-dana")
    # As the previous version stored them: no worker keys; and one record that is not JSON.
    before = [replace(e, names=()) for e in floor.events]
    before.append(replace(before[0], id=uuid7(), seq=3, payload=b"\xff not json"))
    ledger = await open_ledger(ledger_url)
    await ledger.store(before, [])
    await ledger.close()
    if ledger_url.startswith("postgres"):  # a schema of the previous version: migrated when opened
        import psycopg

        async with await psycopg.AsyncConnection.connect(ledger_url, autocommit=True) as conn:
            await conn.execute("UPDATE ledger_schema SET digest = 'the previous version'")
    ledger = await open_ledger(ledger_url)
    try:
        assert [r[-1] for r in (await activity(ledger, "w-kim", LICENSE, CLOCK)).rows] == [by_kim]
        assert await ledger.index_workers() == 2  # idempotent: nothing is added twice
        assert [r[-1] for r in (await activity(ledger, "w-kim", None, CLOCK)).rows] == [by_kim]
    finally:
        await ledger.close()
