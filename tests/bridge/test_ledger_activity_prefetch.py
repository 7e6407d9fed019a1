"""PostgreSQL reads a key's events (a harvest batch: ~900 at 10,000,000 events, one table page
each among the month's others) in one bitmap heap scan, whose table pages are prefetched:
first the keys' event ids from the index alone, then the rows by id. Joined row by row, each
was an index lookup then a table page read in turn. The answer is the join's, row for row."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import pytest

from bridge.ingest import worker_key
from bridge.ledger import IncomingEvent, Ledger, open_ledger
from canopy.ids import uuid7
from tests.bridge.test_ledger_register_cover import plan_of

pytestmark = pytest.mark.timeout(120)

LICENSE = "CA-LIC-0001"
BATCH = "2026-11 0001 Dry Room"
# The activity report's join, as it was: every key's events with their rows.
JOINED = ("SELECT DISTINCT e.id, e.facility, e.device, e.seq, e.type, e.at, e.status,"
          " coalesce(e.message, ''), e.payload FROM event_tags t JOIN events e ON e.id = t.event_id"
          " WHERE t.tag = ANY(%s)"
          " ORDER BY 6, 2, 3, 4")


def record_scattered(ledger: Ledger, asked: list[tuple[str, Sequence[Any]]]) -> None:
    """From now on, each query ``activity`` reads its rows with (SQL and parameters) lands in ``asked``."""
    scattered = ledger._fetch_scattered

    async def recording(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        asked.append((sql, params))
        return await scattered(sql, params)
    ledger._fetch_scattered = recording  # type: ignore[method-assign]


def event(seq: int, batch: str, device: str = "kiosk-01") -> IncomingEvent:
    at = f"2026-11-{1 + seq % 28:02d}T16:00:{seq % 60:02d}.000Z"
    return IncomingEvent(uuid7(), LICENSE, device, seq, "harvest.waste", at,
                         f'{{"user": "w-{seq % 3}", "data": {{"harvest_name": "{batch}"}}}}'.encode(),
                         "", (batch, worker_key(LICENSE, f"w-{seq % 3}")))


async def test_a_keys_events_are_read_in_one_bitmap_scan_and_answer_as_the_join(pg_dsn: str) -> None:
    ledger = await open_ledger(pg_dsn)
    asked: list[tuple[str, Sequence[Any]]] = []
    try:
        await ledger.store([event(n, BATCH if n % 4 else "2026-11 0002 Dry Room", f"kiosk-{n % 3:02d}")
                            for n in range(1, 200)], [])
        record_scattered(ledger, asked)
        # As the activity report asks: the batch as a key, as a worker's id, and as a kiosk.
        keys = [BATCH, worker_key(LICENSE, BATCH)]
        found = await ledger.activity(keys, device=BATCH)
    finally:
        await ledger.close()
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        cursor = await conn.execute(JOINED, (keys,))
        assert [tuple(r) for r in found] == [tuple(r) for r in await cursor.fetchall()]
        assert len(found) == 150
        await conn.execute("VACUUM ANALYZE events")  # as autovacuum keeps a ledger
        sql, params = asked[0]
        numbered = itertools.count(1)
        query = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)  # the ledger's ``?`` placeholders
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_indexscan = off")  # as the ledger reads it
            await conn.execute("SET LOCAL enable_seqscan = off")  # a few rows: a scan would do, years not
            values = psycopg.sql.SQL(", ").join(map(psycopg.sql.Literal, params))
            await conn.execute(f"PREPARE activity AS {query}")
            cursor = await conn.execute(psycopg.sql.SQL("EXPLAIN EXECUTE activity ({})").format(values))
            plan = "\n".join(str(r[0]) for r in await cursor.fetchall())
    assert "event_tags" not in plan, plan  # the ids were read before, from the index
    assert "Bitmap Heap Scan on events e" in plan and "Bitmap Index Scan on events_pkey" in plan, plan


# --- SQLite: a batch's register rows as one range of the covering index ----------------------

OTHER = "CA-LIC-0002"
# The batch's events: register types (kept whole in events_register) and one that is not.
BATCH_TYPES = ("plant.harvested", "harvest.waste", "package.created")


def recorded(seq: int, facility: str, type_: str, names: tuple[str, ...], day: int = 0) -> IncomingEvent:
    at = f"2026-11-{1 + (day or seq % 28):02d}T16:{seq % 60:02d}:{seq // 60 % 60:02d}.000Z"
    return IncomingEvent(uuid7(), facility, f"kiosk-{seq % 3:02d}", seq, type_, at,
                         f'{{"user": "w-{seq % 3}", "seq": {seq}}}'.encode(), "", names)


def sqlite_joined(path: Path, keys: Sequence[str], facility: str | None = None, since: str | None = None,
                  until: str | None = None) -> list[tuple[Any, ...]]:
    """The activity report's join, as it was, over SQLite (with the report's period bounds)."""
    bounds = [("e.facility = ?", facility), ("e.at >= ?", since), ("e.at < ?", until)]
    where = "".join(f" AND {sql}" for sql, value in bounds if value)
    params = [value for _, value in bounds if value]
    with closing(sqlite3.connect(path)) as db:
        return [tuple(r) for r in db.execute(
            JOINED.replace("t.tag = ANY(%s)", f"t.tag IN ({','.join('?' * len(keys))}){where}"),
            [*keys, *params])]


async def test_sqlite_reads_a_batchs_register_rows_from_one_range_and_answers_as_the_join(
        tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await open_ledger(f"sqlite:///{path}")
    asked: list[tuple[str, Sequence[Any]]] = []
    keys = [BATCH, worker_key(LICENSE, BATCH)]
    try:
        events = [recorded(n, LICENSE, BATCH_TYPES[n % 3], (BATCH,)) for n in range(1, 301)]
        # In the batch's span: the facility's other register rows, another batch's, and the
        # batch's name at another facility (read by id); a plant's tag over months, a few events.
        events += [recorded(n, LICENSE, "plant.destroyed", ("1A4FF01",)) for n in range(301, 360)]
        events += [recorded(n, LICENSE, "harvest.waste", ("2026-11 0002 Dry Room",)) for n in range(360, 400)]
        events += [recorded(n, OTHER, "plant.harvested", (BATCH,)) for n in range(400, 420)]
        events += [recorded(n, LICENSE, "plant.moved", ("1A4FF02",), day=n % 20) for n in range(420, 500)]
        await ledger.store(events, [])
        record_scattered(ledger, asked)
        found = await ledger.activity(keys, device=BATCH)
        november = ("2026-11-05T00:00:00.000Z", "2026-11-20T00:00:00.000Z")
        month = await ledger.activity(keys, LICENSE, *november)
        elsewhere = await ledger.activity(keys, OTHER)
        tags = [await ledger.activity(tag) for tag in ("1A4FF01", "1A4FF02")]
    finally:
        await ledger.close()
    assert [tuple(r) for r in found] == sqlite_joined(path, keys)
    assert len(found) == 320
    assert [tuple(r) for r in month] == sqlite_joined(path, keys, LICENSE, *november)
    assert 0 < len(month) < 300
    assert [tuple(r) for r in elsewhere] == sqlite_joined(path, keys, OTHER) != []
    assert [[tuple(r) for r in rows] for rows in tags] == [sqlite_joined(path, [t])
                                                           for t in ("1A4FF01", "1A4FF02")]
    plan = plan_of(path, *asked[0])
    assert "event_tags" not in plan, plan  # the ids were read before, from the index
    assert "COVERING INDEX events_register" in plan, plan  # the register rows: a range per type
    assert "INDEX events_type" in plan, plan  # the packages: their type's range is the batch's
    assert "sqlite_autoindex_events_1" in plan, plan  # the rest by id


async def test_sqlite_reads_a_key_spread_over_many_others_by_id(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await open_ledger(f"sqlite:///{path}")
    asked: list[tuple[str, Sequence[Any]]] = []
    try:
        # 300 of the batch's events among 3,000 register rows of the same facility and days.
        events = [recorded(n, LICENSE, "plant.harvested", (BATCH,) if n % 10 == 0 else ("1A4FF03",))
                  for n in range(1, 3001)]
        await ledger.store(events, [])
        record_scattered(ledger, asked)
        found = await ledger.activity([BATCH])
        november = ("2026-11-05T00:00:00.000Z", "2026-11-20T00:00:00.000Z")
        month = await ledger.activity([BATCH], LICENSE, *november)
    finally:
        await ledger.close()
    assert [tuple(r) for r in found] == sqlite_joined(path, [BATCH])
    assert len(found) == 300
    assert [tuple(r) for r in month] == sqlite_joined(path, [BATCH], LICENSE, *november) != []
    assert "events_register" not in asked[0][0]
    # By id even with a facility and period (not the facility's years by its kiosks' index).
    plan = plan_of(path, *asked[1])
    assert "SEARCH e USING INDEX sqlite_autoindex_events_1 (id=?)" in plan, plan
