"""The ledger on PostgreSQL, for production and several bridge processes.

One transaction per batch: ``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id``
tells new ids from repeats in one round trip; repeats are then compared by
digest to tell a harmless duplicate from a conflicting one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import psycopg

from bridge.ledger._base import (
    IncomingEvent,
    Ledger,
    LedgerCounts,
    Rejected,
    StoreResult,
    bound_quarantine,
    conflict_reason,
    dedupe_batch,
    quarantine_key,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id       TEXT        PRIMARY KEY,
    facility TEXT        NOT NULL,
    device   TEXT        NOT NULL,
    seq      BIGINT      NOT NULL,
    type     TEXT        NOT NULL,
    at       TEXT        NOT NULL,
    received BIGINT      NOT NULL,
    digest   TEXT        NOT NULL,
    payload  BYTEA       NOT NULL,
    tags     TEXT        NOT NULL DEFAULT '',
    status   TEXT        NOT NULL DEFAULT 'stored',
    message  TEXT,
    settled  BIGINT,
    answered INTEGER     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_device_seq ON events(facility, device, seq);
CREATE INDEX IF NOT EXISTS events_to_submit ON events(facility, received) WHERE status = 'stored';
CREATE INDEX IF NOT EXISTS events_unanswered ON events(settled) WHERE answered = 0 AND status != 'stored';
CREATE TABLE IF NOT EXISTS attempts (
    n           BIGSERIAL PRIMARY KEY,
    at          BIGINT    NOT NULL,
    facility    TEXT      NOT NULL,
    endpoint    TEXT      NOT NULL,
    event_ids   TEXT      NOT NULL,
    outcome     TEXT      NOT NULL,
    http_status INTEGER,
    detail      TEXT      NOT NULL
);
CREATE TABLE IF NOT EXISTS readbacks (  -- see _sqlite.py
    event_id TEXT   PRIMARY KEY,
    at       BIGINT NOT NULL,
    picture  TEXT   NOT NULL
);
CREATE TABLE IF NOT EXISTS outages (
    n        BIGSERIAL PRIMARY KEY,
    facility TEXT      NOT NULL,
    started  BIGINT    NOT NULL,
    ended    BIGINT,
    cause    TEXT      NOT NULL,
    alerted  INTEGER   NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS quarantine (
    n        BIGSERIAL   PRIMARY KEY,
    received BIGINT      NOT NULL,
    topic    TEXT        NOT NULL,
    facility TEXT,
    device   TEXT,
    event_id TEXT,
    reason   TEXT        NOT NULL,
    payload  BYTEA       NOT NULL
);
-- Per device: quarantine rows and bytes kept, and records over the bound only counted.
CREATE TABLE IF NOT EXISTS quarantine_counts (
    facility TEXT   NOT NULL,  -- '' for messages off kiosk topics
    device   TEXT   NOT NULL,
    kept     BIGINT NOT NULL,
    bytes    BIGINT NOT NULL,
    dropped  BIGINT NOT NULL,
    PRIMARY KEY (facility, device)
);
-- Events held for an implausible time (bridge/vetting.py), confirmed by a person.
CREATE TABLE IF NOT EXISTS confirmations (
    event_id  TEXT   PRIMARY KEY,
    at        TEXT   NOT NULL,
    by_whom   TEXT   NOT NULL,
    confirmed BIGINT NOT NULL,
    held_for  TEXT   NOT NULL
);
"""

_INSERT = """
INSERT INTO events (id, facility, device, seq, type, at, received, digest, payload, tags)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[],
                     %s::bigint[], %s::text[], %s::bytea[], %s::text[])
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


class PostgresLedger(Ledger):
    def __init__(self, conn: psycopg.AsyncConnection[tuple[Any, ...]], dsn: str) -> None:
        self._conn = conn
        self.dsn = dsn
        # One connection, one transaction at a time, however many tasks store.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, dsn: str) -> PostgresLedger:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=False)
        async with conn.transaction():
            # Several bridges may start together; the lock makes CREATE IF NOT EXISTS safe.
            await conn.execute("SELECT pg_advisory_xact_lock(4242001)")
            await conn.execute(_SCHEMA)
        return cls(conn, dsn)

    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult:
        async with self._lock:
            return await self._store(events, rejected)

    async def _store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult:
        result = StoreResult()
        firsts, repeats = dedupe_batch(events)
        now = time.time_ns() // 1_000_000
        conn = self._conn
        async with conn.transaction():
            inserted: set[str] = set()
            if firsts:
                cursor = await conn.execute(
                    _INSERT,
                    (
                        [e.id for e in firsts],
                        [e.facility for e in firsts],
                        [e.device for e in firsts],
                        [e.seq for e in firsts],
                        [e.type for e in firsts],
                        [e.at for e in firsts],
                        [now] * len(firsts),
                        [e.digest for e in firsts],
                        [e.payload for e in firsts],
                        [e.tags for e in firsts],
                    ),
                )
                inserted = {str(row[0]) for row in await cursor.fetchall()}
            result.new = [e.id for e in firsts if e.id in inserted]
            again = [e for e in firsts if e.id not in inserted] + repeats
            conflicts: list[Rejected] = []
            if again:
                cursor = await conn.execute(
                    "SELECT id, digest FROM events WHERE id = ANY(%s)",
                    ([e.id for e in again],),
                )
                digests = {str(r[0]): str(r[1]) for r in await cursor.fetchall()}
                for event in again:
                    if digests.get(event.id) == event.digest:
                        result.duplicate.append(event.id)
                    else:
                        result.conflict.append(event.id)
                        conflicts.append(
                            Rejected("", conflict_reason(event.id), event.payload,
                                     event.facility, event.device, event.id)
                        )
            quarantine = rejected + conflicts
            if quarantine:
                # The counter rows exist first and are locked, so bridges sharing the
                # ledger count one device's quarantine together.
                keys = sorted({quarantine_key(r) for r in quarantine})
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO quarantine_counts (facility, device, kept, bytes, dropped)"
                        " VALUES (%s, %s, 0, 0, 0) ON CONFLICT DO NOTHING", keys)
                cursor = await conn.execute(
                    "SELECT facility, device, kept, bytes, dropped FROM quarantine_counts"
                    " WHERE (facility, device) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
                    " ORDER BY facility, device FOR UPDATE",
                    ([k[0] for k in keys], [k[1] for k in keys]))
                counts = {(str(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4]))
                          for r in await cursor.fetchall()}
                quarantine, result.not_kept, totals = bound_quarantine(quarantine, counts,
                                                                       self.quarantine_bound)
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "UPDATE quarantine_counts SET kept = %s, bytes = %s, dropped = %s"
                        " WHERE facility = %s AND device = %s",
                        [(*v, *k) for k, v in totals.items()])
            if quarantine:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO quarantine (received, topic, facility, device, event_id,"
                        " reason, payload) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [(now, r.topic, r.facility, r.device, r.event_id, r.reason, r.payload)
                         for r in quarantine],
                    )
        return result

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._lock, self._conn.transaction():
            cursor = await self._conn.execute(_pg(sql), params)
            return list(await cursor.fetchall())

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._lock, self._conn.transaction():
            cursor = await self._conn.execute(_pg(sql), params)
            return cursor.rowcount

    async def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            await cur.executemany(_pg(sql), rows)

    async def counts(self) -> LedgerCounts:
        async with self._lock, self._conn.transaction():
            cursor = await self._conn.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine)"
            )
            row = await cursor.fetchone()
        assert row is not None
        return LedgerCounts(int(row[0]), int(row[1]))

    async def event_ids(self) -> list[str]:
        async with self._lock, self._conn.transaction():
            cursor = await self._conn.execute("SELECT id FROM events ORDER BY id")
            return [str(row[0]) for row in await cursor.fetchall()]

    async def quarantined(self, limit: int = 100) -> list[Rejected]:
        async with self._lock, self._conn.transaction():
            cursor = await self._conn.execute(
                "SELECT topic, reason, payload, facility, device, event_id FROM quarantine"
                " ORDER BY n DESC LIMIT %s",
                (limit,),
            )
            rows = await cursor.fetchall()
        return [
            Rejected(str(r[0]), str(r[1]), bytes(r[2]), r[3], r[4], r[5])
            for r in rows
        ]

    async def close(self) -> None:
        await self._conn.close()


def _pg(sql: str) -> Any:
    """The shared queries use ``?``; psycopg wants ``%s`` (and ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
