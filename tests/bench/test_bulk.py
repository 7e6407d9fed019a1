"""bench/bulk.py writes a ledger that is the ledger ingest would have written: the chain
verifies, and every register, lookup and the submitter's selection answer as they do
on a ledger filled with the same events through ``Ledger.store``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.bulk import bulk_fill
from bench.ledger import WORKERS, Shape, draw, facility_name, fill
from bench.registers import ZONE, Maker, harvest_name
from bridge.ledger import Ledger, event_tag_rows, open_ledger, verify_and_record
from bridge.reports import REGISTERS, Clock, Period, activity


@dataclass(frozen=True)
class Found:
    entries: dict[str, int]  # chain entries per facility
    ids: list[str]
    rows: dict[str, tuple[Any, ...]]  # what a register reads of each event
    keyed: dict[str, str]  # each index key's first event
    tag_rows: list[tuple[Any, ...]]  # the index itself: key, event, the event's time
    answers: dict[str, Any]


SHAPE = Shape(events=5_000, years=1, plants=300)
NOW = 1_796_000_000_000  # a fixed "now" for both ledgers (the overdue register's hours)


@pytest.fixture(params=["sqlite", "postgres"])
def two_ledgers(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Two empty ledgers of one backend: filled through ``store``, and in bulk."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stored.db'}", f"sqlite:///{tmp_path / 'bulk.db'}"
    dsn = str(request.getfixturevalue("pg_dsn"))
    return dsn, f"{dsn}?options=-csearch_path%3Dbulk"  # a second ledger in its own schema


async def _answers(ledger: Ledger, clock: Clock) -> dict[str, Any]:
    """Everything a compliance manager or the submitter can ask, keyed by the question."""
    rng = random.Random(3)
    first = date(2019, 12, 1)
    month = Period.days(first, date(2019, 12, 31), clock.zone(facility_name(0)))
    out: dict[str, Any] = {}
    for f in range(SHAPE.facilities):
        lic = facility_name(f)
        for register in REGISTERS:
            out[f"{register.name} {lic}"] = (await register.build(ledger, lic, clock)).rows
            monthly = await register.build(ledger, lic, clock, period=month)
            out[f"{register.name} {lic} month"] = monthly.rows
        out[f"waiting {lic}"] = sorted(t.id for t in await ledger.to_submit(lic, 10_000))
        out[f"outages {lic}"] = await ledger.outages(lic)
        for key in (rng.choice(WORKERS), "kiosk-03", harvest_name(lic, "2019-12"), f"1A4FF{f:04d}{7:015d}"):
            out[f"activity {key} {lic}"] = (await activity(ledger, key, lic, clock)).rows
            out[f"activity {key} {lic} month"] = (await activity(ledger, key, lic, clock, period=month)).rows
    return out


async def test_a_bulk_filled_ledger_verifies_and_answers_as_one_filled_through_store(
        two_ledgers: tuple[str, str]) -> None:
    batches = list(draw(SHAPE, make=Maker()))
    events = [e for b in batches for e in b.events]
    stored_url, bulk_url = two_ledgers
    if bulk_url.startswith("postgresql"):
        import psycopg

        async with await psycopg.AsyncConnection.connect(stored_url, autocommit=True) as conn:
            await conn.execute("CREATE SCHEMA bulk")
    stored = await open_ledger(stored_url)
    try:
        await fill(stored, SHAPE, batches=batches)
    finally:
        await stored.close()
    filled = await bulk_fill(bulk_url, SHAPE, batches=batches)
    assert filled["events"] == len(events) == SHAPE.events

    clock = Clock({facility_name(f): ZONE for f in range(SHAPE.facilities)})
    found: list[Found] = []
    for url in (stored_url, bulk_url):
        ledger = await open_ledger(url)
        ledger.clock = lambda: NOW
        try:
            reports = await verify_and_record(ledger)
            assert [r.mismatch for r in reports] == [None] * SHAPE.facilities
            ids = await ledger.event_ids()
            found.append(Found({r.facility: r.entries for r in reports}, ids, await ledger.events(ids),
                               await ledger.keyed(sorted({row[0] for row in event_tag_rows(events)})),
                               await ledger._fetch("SELECT tag, event_id, at FROM event_tags ORDER BY 1, 2"),
                               await _answers(ledger, clock)))
        finally:
            await ledger.close()
    by_store, in_bulk = found
    # One entry per event and one per verdict, in each facility's chain.
    assert sum(in_bulk.entries.values()) == len(events) + sum(len(b.answers) for b in batches)
    assert in_bulk.entries == by_store.entries
    assert in_bulk.ids == by_store.ids == sorted(e.id for e in events)
    assert in_bulk.rows == by_store.rows
    assert in_bulk.keyed == by_store.keyed
    assert in_bulk.tag_rows == by_store.tag_rows
    assert all(row[2] for row in in_bulk.tag_rows)  # every key with its event's time
    assert in_bulk.answers.keys() == by_store.answers.keys()
    for question, answer in by_store.answers.items():
        assert in_bulk.answers[question] == answer, question
    # The comparison has something to compare: registers and lookups found rows.
    assert sum(len(a) for a in in_bulk.answers.values()) > SHAPE.events
