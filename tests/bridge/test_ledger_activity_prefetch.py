"""PostgreSQL reads a key's events (a harvest batch: ~900 at 10,000,000 events, one table page
each among the month's others) in one bitmap heap scan, whose table pages are prefetched:
first the keys' event ids from the index alone, then the rows by id. Joined row by row, each
was an index lookup then a table page read in turn. The answer is the join's, row for row."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg.sql
import pytest

from bridge.ingest import worker_key
from bridge.ledger import IncomingEvent, open_ledger
from canopy.ids import uuid7

pytestmark = pytest.mark.timeout(120)

LICENSE = "CA-LIC-0001"
BATCH = "2026-11 0001 Dry Room"
# The activity report's join, as it was: every key's events with their rows.
JOINED = ("SELECT DISTINCT e.id, e.facility, e.device, e.seq, e.type, e.at, e.status,"
          " coalesce(e.message, ''), e.payload FROM event_tags t JOIN events e ON e.id = t.event_id"
          " WHERE t.tag = ANY(%s)"
          " ORDER BY 6, 2, 3, 4")


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
        scattered = ledger._fetch_scattered

        async def recorded(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            asked.append((sql, params))
            return await scattered(sql, params)
        ledger._fetch_scattered = recorded  # type: ignore[method-assign]
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
