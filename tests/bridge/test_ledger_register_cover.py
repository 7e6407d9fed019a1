"""PostgreSQL and SQLite keep the registers' rows whole in a covering index (``events_register``),
so a month's register reads a few index pages instead of one table page a row. On PostgreSQL,
rows too large for an index entry (a kiosk's payload up to 64 KiB, a state's long message) stay
out of it, are still stored and settled, and every register still finds them, in the same order
as before. SQLite keeps entries of any size; an older SQLite ledger gets the index when opened."""

from __future__ import annotations

import itertools
import re
import secrets
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import pytest

from bridge.ledger import REGISTER_TYPES, Answer, IncomingEvent, Ledger, open_ledger
from bridge.reports import REGISTERS, Clock
from canopy.ids import uuid7

LICENSE = "CCL24-0000101"

pytestmark = pytest.mark.timeout(120)


class TypesAsked:
    """A ledger that records the event types each register asks ``of_types`` for."""

    def __init__(self) -> None:
        self.types: set[str] = set()

    def clock(self) -> int:
        return 0

    async def of_types(self, types: Sequence[str], *_: Any) -> list[tuple[Any, ...]]:
        self.types.update(types)
        return []

    async def events(self, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        return {}

    async def keyed(self, keys: Sequence[str]) -> dict[str, str]:
        return {}

    async def outages(self, *_: Any) -> list[Any]:
        return []

    async def rejections(self, *_: Any) -> list[Any]:
        return []

    held = waiting = rejections


async def test_every_type_a_register_reads_is_kept_in_the_covering_index() -> None:
    asked = TypesAsked()
    for register in REGISTERS:
        await register.build(asked, LICENSE, Clock())  # type: ignore[arg-type]
    assert asked.types
    assert asked.types <= set(REGISTER_TYPES)


def event(seq: int, type_: str, payload: bytes) -> IncomingEvent:
    at = f"2026-11-22T16:00:{seq:02d}.000Z"
    return IncomingEvent(uuid7(), LICENSE, "kiosk-01", seq, type_, at, payload)


def large(type_: str) -> bytes:
    # Random hex does not compress: an index entry of it would exceed PostgreSQL's ~2.7 kB.
    note = secrets.token_hex(30_000)
    return f'{{"type": "{type_}", "user": "w-dana", "data": {{"note": "{note}"}}}}'.encode()


async def test_rows_of_any_size_are_stored_settled_and_read_in_order(pg_dsn: str) -> None:
    ledger = await open_ledger(pg_dsn)
    try:
        small = event(1, "plant.destroyed", b'{"user": "w-dana", "data": {"tag": "1A4FF01"}}')
        events = [small, event(2, "plant.destroyed", large("plant.destroyed")),
                  event(3, "scale.checked", b'{"user": "w-eli"}'), event(4, "harvest.waste", large("x")),
                  event(5, "plant.moved", b'{"user": "w-eli"}')]
        stored = await ledger.store(events, [])
        assert stored.new == [e.id for e in events]
        # A state's answer too long for an index entry moves its row out of the covering index.
        said = secrets.token_hex(2_000)
        await ledger.settle([Answer(small.id, "rejected", said), Answer(events[2].id, "accepted")])
        types = ["plant.destroyed", "scale.checked", "harvest.waste", "plant.moved"]
        rows = await ledger.of_types(types, LICENSE)
        assert [r[0] for r in rows] == [e.id for e in events]
        assert rows[0][7] == said and bytes(rows[1][8]) == events[1].payload
        async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
            cursor = await conn.execute(
                "SELECT id, facility, device, seq, type, at, status, coalesce(message, ''), payload"
                " FROM events WHERE type = ANY(%s) ORDER BY at, device, seq", (types,))
            assert [tuple(r) for r in await cursor.fetchall()] == [tuple(r) for r in rows]
    finally:
        await ledger.close()


def record_queries(ledger: Ledger, asked: list[tuple[str, Sequence[Any]]]) -> None:
    """From now on, each query the ledger reads with (SQL and parameters) lands in ``asked``."""
    fetch = ledger._fetch

    async def recorded(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        asked.append((sql, params))
        return await fetch(sql, params)
    ledger._fetch = recorded  # type: ignore[method-assign]


async def test_a_registers_month_is_read_from_the_index_alone(pg_dsn: str) -> None:
    ledger = await open_ledger(pg_dsn)
    asked: list[tuple[str, Sequence[Any]]] = []
    try:
        await ledger.store([event(n, "plant.destroyed", b'{"user": "w-dana"}') for n in range(1, 60)], [])
        record_queries(ledger, asked)
        await ledger.of_types(["plant.destroyed", "tags.received"], LICENSE, "2026-11-22T00:00:00.000Z",
                              "2026-11-23T00:00:00.000Z")
    finally:
        await ledger.close()
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE events")  # as autovacuum keeps a ledger: pages all visible
        await conn.execute("SET enable_seqscan = off")  # a few rows: a scan would do, years would not
        # As a prepared statement is planned after a few runs: generic, without the parameters.
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        sql, params = asked[0]
        numbered = itertools.count(1)
        query = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)  # the ledger's ``?`` placeholders
        await conn.execute(f"PREPARE register ({', '.join(['text'] * len(params))}) AS {query}")
        values = psycopg.sql.SQL(", ").join(map(psycopg.sql.Literal, params))
        cursor = await conn.execute(psycopg.sql.SQL("EXPLAIN EXECUTE register ({})").format(values))
        plan = "\n".join(str(r[0]) for r in await cursor.fetchall())
    assert "Index Only Scan using events_register on events" in plan, plan


# --- SQLite: the same covering index (no size bound: SQLite keeps any entry) ---------------


def plan_of(path: Path, sql: str, params: Sequence[Any]) -> str:
    with closing(sqlite3.connect(path)) as db:
        return "\n".join(str(r[3]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


async def test_sqlite_reads_a_registers_month_from_the_covering_index_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await open_ledger(f"sqlite:///{path}")
    asked: list[tuple[str, Sequence[Any]]] = []
    try:
        await ledger.store([event(n, "plant.destroyed", b'{"user": "w-dana"}') for n in range(1, 60)], [])
        record_queries(ledger, asked)
        # Four types over a month, sorted by time: the shape for which SQLite's planner took
        # the table's index (the tags register).
        await ledger.of_types(["tags.received", "plant.destroyed", "plant.harvested", "plant.phase_changed"],
                              LICENSE, "2026-11-22T00:00:00.000Z", "2026-11-23T00:00:00.000Z")
    finally:
        await ledger.close()
    plan = plan_of(path, *asked[0])
    assert "USING COVERING INDEX events_register" in plan, plan


async def test_an_older_sqlite_ledger_gets_the_index_when_opened_and_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await open_ledger(f"sqlite:///{path}")
    types = ["plant.destroyed", "scale.checked", "harvest.waste", "plant.moved"]
    events = [event(1, "plant.destroyed", b'{"user": "w-dana", "data": {"tag": "1A4FF01"}}'),
              event(2, "plant.destroyed", large("plant.destroyed")),
              event(3, "scale.checked", b'{"user": "w"}'), event(4, "harvest.waste", large("x")),
              event(5, "plant.moved", b'{"user": "w-eli"}')]
    try:
        await ledger.store(events, [])
        await ledger.settle([Answer(events[0].id, "rejected", secrets.token_hex(2_000)),
                             Answer(events[2].id, "accepted")])
        current = await ledger.of_types(types, LICENSE)
    finally:
        await ledger.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP INDEX events_register")  # as a version before it left the ledger
        table = [tuple(r) for r in db.execute(
            "SELECT id, facility, device, seq, type, at, status, coalesce(message, ''), payload"
            " FROM events NOT INDEXED WHERE type IN (?, ?, ?, ?) ORDER BY at, device, seq", types)]
    ledger = await open_ledger(f"sqlite:///{path}")
    try:
        assert ledger.upgraded == ["index events_register"]
        assert await ledger.of_types(types, LICENSE) == current
    finally:
        await ledger.close()
    assert [r[0] for r in current] == [e.id for e in events]
    assert [tuple(r) for r in current] == table
