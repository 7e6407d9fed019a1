"""The ledger on SQLite: the default, for a single site or the demo.

WAL + synchronous=FULL like the kiosk's outbox: the bridge acks "stored" only
after this commit, so the commit must survive a power cut. Several bridge
processes may read the file while a bridge runs (the ``canopy bridge report``
commands); ``BEGIN IMMEDIATE`` plus a busy timeout serialises their writes. Only
one bridge process may submit from it: nothing here could keep two from sending
the same events, so the second is refused (``claim_submitting``).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

import aiosqlite

from bridge.ledger._base import (
    ATTEMPT_COLUMNS,
    STORED_COLUMNS,
    TAG_COLUMNS,
    TAG_TIME_INDEX,
    IncomingEvent,
    Ledger,
    LedgerCounts,
    Rejected,
    StoreResult,
    bound_quarantine,
    conflict_reason,
    dedupe_batch,
    event_tag_rows,
    quarantine_key,
    stored_entry,
    stored_row,
)
from bridge.ledger._chain import CHAIN_SCHEMA, Tx, adopt_unchained, append
from bridge.ledger._console import CONSOLE_SCHEMA
from bridge.ledger._queries import EVENT_ROW, REGISTER_TYPES, TAG_TIMES, WORKER_KEY, Cover, Fence, now_ms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id       TEXT    PRIMARY KEY,
    facility TEXT    NOT NULL,
    device   TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    at       TEXT    NOT NULL,
    received INTEGER NOT NULL,     -- unix ms at the bridge
    digest   TEXT    NOT NULL,     -- sha256 of payload, to tell duplicates from conflicts
    payload  BLOB    NOT NULL,     -- the exact bytes the kiosk sent
    tags     TEXT    NOT NULL DEFAULT '',  -- " TAG1 TAG2 ", for the activity report
    status   TEXT    NOT NULL DEFAULT 'stored',  -- stored -> accepted | rejected
    message  TEXT,                 -- the state's words
    settled  INTEGER,              -- unix ms of the verdict
    answered INTEGER NOT NULL DEFAULT 0  -- the verdict reached the broker for the kiosk
) STRICT;
CREATE INDEX IF NOT EXISTS events_device_seq ON events(facility, device, seq);
CREATE INDEX IF NOT EXISTS events_to_submit ON events(facility, received) WHERE status = 'stored';
-- A kiosk's waiting events in seq order (to_submit: those that arrived late).
CREATE INDEX IF NOT EXISTS events_waiting_seq ON events(facility, device, seq) WHERE status = 'stored';
CREATE INDEX IF NOT EXISTS events_unanswered ON events(settled) WHERE answered = 0 AND status != 'stored';
CREATE TABLE IF NOT EXISTS attempts (
    n           INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    facility    TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    event_ids   TEXT    NOT NULL,  -- JSON array
    outcome     TEXT    NOT NULL,  -- "sending" until the answer is written (write-ahead intent)
    http_status INTEGER,
    detail      TEXT    NOT NULL,
    bridge      TEXT    NOT NULL DEFAULT '',  -- the bridge process that sent it
    digest      TEXT    NOT NULL DEFAULT ''   -- sha256 of the request's rows
) STRICT;
-- What a read-back compares with, taken just before a send that could count twice
-- (e.g. the harvest's wet weight): kept here so a bridge restarted between the send
-- and the read-back still compares with the right picture. Dropped once settled.
CREATE TABLE IF NOT EXISTS readbacks (
    event_id TEXT    PRIMARY KEY,
    at       INTEGER NOT NULL,
    picture  TEXT    NOT NULL  -- JSON
) STRICT;
CREATE TABLE IF NOT EXISTS outages (
    n        INTEGER PRIMARY KEY AUTOINCREMENT,
    facility TEXT    NOT NULL,
    started  INTEGER NOT NULL,
    ended    INTEGER,
    cause    TEXT    NOT NULL,
    alerted  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS quarantine (
    n        INTEGER PRIMARY KEY AUTOINCREMENT,
    received INTEGER NOT NULL,
    topic    TEXT    NOT NULL,
    facility TEXT,
    device   TEXT,
    event_id TEXT,
    reason   TEXT    NOT NULL,
    payload  BLOB    NOT NULL
) STRICT;
-- One row per tag an event names: the activity report finds a tag by index and
-- literally (a LIKE on events.tags scanned the whole ledger, and a '%' in the
-- tag matched every row).
CREATE TABLE IF NOT EXISTS event_tags (
    tag      TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at       TEXT NOT NULL DEFAULT '',  -- the event's time ('': written before it was kept)
    PRIMARY KEY (tag, event_id)
) STRICT, WITHOUT ROWID;
-- Backfills of older ledgers' rows, resumable: where each got to (see _queries.py).
CREATE TABLE IF NOT EXISTS backfills (
    name       TEXT    PRIMARY KEY,
    last_tag   TEXT    NOT NULL,
    last_event TEXT    NOT NULL,
    done       INTEGER NOT NULL
) STRICT;
-- The rejections report (and the "to fix" list) reads only rejected events.
CREATE INDEX IF NOT EXISTS events_rejected ON events(facility, at) WHERE status = 'rejected';
-- The registers (waste, corrections, harvests, scales, tags) read events of a few types.
CREATE INDEX IF NOT EXISTS events_type ON events(type, facility, at);
-- Held records (the held and overdue registers) are few: found without a scan.
CREATE INDEX IF NOT EXISTS events_held ON events(facility, device, seq) WHERE status = 'held';
-- One kiosk's records over a period (activity of a kiosk).
CREATE INDEX IF NOT EXISTS events_device_at ON events(facility, device, at);
-- Per device: quarantine rows and bytes kept, and records over the bound only counted.
CREATE TABLE IF NOT EXISTS quarantine_counts (
    facility TEXT    NOT NULL,  -- '' for messages off kiosk topics
    device   TEXT    NOT NULL,
    kept     INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    dropped  INTEGER NOT NULL,
    PRIMARY KEY (facility, device)
) STRICT;
-- Events held for an implausible time (bridge/vetting.py), confirmed by a person:
-- the time to report, who confirmed it and when.
CREATE TABLE IF NOT EXISTS confirmations (
    event_id  TEXT    PRIMARY KEY,
    at        TEXT    NOT NULL,
    by_whom   TEXT    NOT NULL,
    confirmed INTEGER NOT NULL,
    held_for  TEXT    NOT NULL
) STRICT;
"""


async def _time_tags(db: aiosqlite.Connection) -> list[str]:
    """Give an older ledger's ``event_tags`` the event's time (a column with a default: no
    rewrite; its rows are backfilled later, ``backfill_tag_times``) and its index."""
    done = []
    cursor = await db.execute("SELECT name FROM pragma_table_info('event_tags')")
    if "at" not in {row[0] for row in await cursor.fetchall()}:
        await db.execute("BEGIN IMMEDIATE")
        await db.execute("ALTER TABLE event_tags ADD COLUMN at TEXT NOT NULL DEFAULT ''")
        await db.execute("INSERT INTO backfills (name, last_tag, last_event, done) VALUES (?, '', '', 0)"
                         " ON CONFLICT DO NOTHING", (TAG_TIMES,))
        await db.execute("COMMIT")
        done.append("column event_tags.at")
    name, definition = TAG_TIME_INDEX
    cursor = await db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))
    if await cursor.fetchone() is None:
        await db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
        done.append(f"index {name}")
    return done


# The registers' rows whole (``REGISTER_TYPES``), as on PostgreSQL: a facility's month of a
# register is read from consecutive index pages, where through ``events_type`` each row was a
# table page of its own (a cold month of the tags register at 10,000,000 events read ~1,200
# of them: 70 ms). SQLite keeps an entry of any size (overflow pages): no size bound here.
# It uses a partial index only for a query holding the index's WHERE term itself: ``_COVER``.
_REGISTER_WHERE = "type IN ({})".format(", ".join(f"'{t}'" for t in REGISTER_TYPES))
_REGISTER_INDEX = ("events_register", "events(type, facility, at, device, seq, id, status, message, payload)"
                                      f" WHERE {_REGISTER_WHERE}")
_COVER = Cover(frozenset(REGISTER_TYPES), (f" AND e.{_REGISTER_WHERE}",),
               f"events e INDEXED BY {_REGISTER_INDEX[0]}")
# A key's events (``_named``), read by id, each an id lookup then a table page of its own, cold
# one after another: a harvest batch's ~900 at 10,000,000 events, ~1,200 pages (~100 ms). Its
# events are of one facility and month, most of register types: those are read instead from
# ``events_register``'s ranges of that facility, span and types (the rows whole, ~8 an index
# page), and only the others by id. The types and facility are those of ``_SAMPLE`` of its
# events spread over it (a type the sample misses is read by id: the same rows, slower); the
# register ranges are taken when together they hold at most ``_RANGE_PER_EVENT`` rows per
# event of the key (counted on the narrow ``events_type``, stopping there): a batch's ~700
# register rows (of ~900) lie among ~1,750 of the facility's month, its two types' ranges ~700;
# a worker's month (~150 events among all types) and a plant's tag (a few over years) are read
# by id. A type of no register is read by ``events_type``'s range (then the table page, no id
# lookup) when that range holds at most ``_OTHER_PER_EVENT`` times the rows the sample gives
# the key of it: a batch's ~180 packages are its facility's month of them.
_SAMPLE = 16
_RANGE_PER_EVENT = 2
_OTHER_PER_EVENT = 1.5
# Fewer events than this are read by id: the sample and count cost more than ranges save (a
# worker's month of ~150 events took 20 ms p50 with them at 10,000,000, 15 without).
_RANGE_FROM = 256
# Ids as a JSON array: one parameter, however many.
_IDS = "SELECT value FROM json_each(?)"
# Events by those ids, one id lookup each: CROSS JOIN keeps SQLite to that order (with a
# facility and period it took the facility's years in events_device_at instead: 168 ms for a
# worker's month of 148 events at 10,000,000, 11 ms by id).
_BY_ID = "json_each(?) j CROSS JOIN events e WHERE e.id = j.value"
# One type's range of a facility's rows over a span (inclusive), in ``events_type``'s order
# (and ``events_register``'s, with the index's own WHERE term, so that SQLite may use it).
_TYPE_RANGE = "e.type = ? AND e.facility = ? AND e.at >= ? AND e.at <= ?"
_BY_TYPE = f"events e INDEXED BY events_type WHERE {_TYPE_RANGE}"
_REGISTER_RANGE = f"{_COVER.source} WHERE e.{_REGISTER_WHERE} AND {_TYPE_RANGE}"


async def _late_indexes(db: aiosqlite.Connection) -> list[str]:
    """Indexes added after ledgers had years in them, built when this version first opens
    one (at 10,000,000 events minutes, holding the write lock, as ``canopy bridge migrate``
    says); the ones built."""
    name, definition = _REGISTER_INDEX
    cursor = await db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))
    if await cursor.fetchone() is not None:
        return []
    await db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    return [f"index {name}"]


async def _index_old_tags(db: aiosqlite.Connection) -> None:
    """Fill ``event_tags`` once for a ledger written before it existed, in chunks."""
    cursor = await db.execute("SELECT EXISTS (SELECT 1 FROM event_tags)"
                              " OR NOT EXISTS (SELECT 1 FROM events WHERE tags <> '')")
    row = await cursor.fetchone()
    if row is None or row[0]:
        return
    last = 0
    while True:
        cursor = await db.execute("SELECT rowid, id, tags, at FROM events WHERE rowid > ? AND tags <> ''"
                                  " ORDER BY rowid LIMIT 10000", (last,))
        rows = list(await cursor.fetchall())
        if not rows:
            return
        await db.execute("BEGIN IMMEDIATE")
        await db.executemany("INSERT OR IGNORE INTO event_tags (tag, event_id, at) VALUES (?, ?, ?)",
                             [(tag, r[1], r[3]) for r in rows for tag in str(r[2]).split()])
        await db.execute("COMMIT")
        last = int(rows[-1][0])


_COUNTS = ("INSERT INTO quarantine_counts (facility, device, kept, bytes, dropped) VALUES (?, ?, ?, ?, ?)"
           " ON CONFLICT (facility, device) DO UPDATE SET kept = excluded.kept,"
           " bytes = excluded.bytes, dropped = excluded.dropped")


class _Tx:
    """A transaction on the one connection (``BEGIN IMMEDIATE`` holds the write lock)."""

    for_update = ""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = await self._db.execute(sql, params)
        return [tuple(row) for row in await cursor.fetchall()]

    async def exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" * len(columns))
        await self._db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class SqliteLedger(Ledger):
    cover = _COVER
    # A backfill transaction holds the one write lock: ~8 ms of ingest's wait at most.
    backfill_batch = 500

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        # One connection, one transaction at a time, however many tasks store.
        self._lock = asyncio.Lock()
        self._claim: IO[str] | None = None

    @classmethod
    async def open(cls, path: Path) -> SqliteLedger:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None, timeout=30)
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = FULL")
        await db.execute("PRAGMA busy_timeout = 30000")
        await db.executescript(_SCHEMA + CHAIN_SCHEMA + CONSOLE_SCHEMA)
        cursor = await db.execute("SELECT name FROM pragma_table_info('attempts')")
        have = {row[0] for row in await cursor.fetchall()}
        for column, sql_type in ATTEMPT_COLUMNS.items():  # a ledger from before the intents
            if column not in have:
                await db.execute(f"ALTER TABLE attempts ADD COLUMN {column} {sql_type}")
        upgraded = await _time_tags(db) + await _late_indexes(db)
        await _index_old_tags(db)
        ledger = cls(db, path)
        ledger.upgraded = upgraded
        cursor = await db.execute(  # a ledger from before worker keys (BINARY order: a range)
            "SELECT EXISTS (SELECT 1 FROM events) AND NOT EXISTS (SELECT 1 FROM event_tags"
            " WHERE tag >= ? AND tag < ?)", (WORKER_KEY, WORKER_KEY[:-1] + chr(ord(WORKER_KEY[-1]) + 1)))
        row = await cursor.fetchone()
        if row is not None and row[0]:
            await ledger.index_workers()

        async def adopt(tx: Tx) -> None:
            await adopt_unchained(tx, now_ms())
        await ledger._in_tx(adopt)
        return ledger

    async def claim_submitting(self, bridge: str) -> None:
        """An exclusive lock on ``<ledger>.submitting`` held while the process lives:
        the kernel drops it when the process dies, even by kill -9."""
        from canopy.errors import UserError

        lock_path = self.path.with_name(self.path.name + ".submitting")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another process"
            handle.close()
            raise UserError(
                f"another bridge is already submitting from the SQLite ledger {self.path}"
                f" ({other}). A SQLite ledger serves one bridge process: stop the other one,"
                " or give several bridges a PostgreSQL ledger ([ledger] url = \"postgresql://…\")."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"bridge {bridge}, pid {os.getpid()}\n")
        handle.flush()
        self._claim = handle

    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult:
        async with self._lock:
            return await self._store(events, rejected)

    async def _store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult:
        result = StoreResult()
        firsts, repeats = dedupe_batch(events)
        now = time.time_ns() // 1_000_000
        db = self._db
        await db.execute("BEGIN IMMEDIATE")
        try:
            known: dict[str, str] = {}
            ids = [e.id for e in firsts]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cursor = await db.execute(
                    f"SELECT id, digest FROM events WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                known.update({row[0]: row[1] for row in await cursor.fetchall()})
            fresh = [e for e in firsts if e.id not in known]
            await db.executemany(
                f"INSERT INTO events ({', '.join(STORED_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(STORED_COLUMNS))})", [stored_row(e, now) for e in fresh])
            await db.executemany(f"INSERT OR IGNORE INTO event_tags ({', '.join(TAG_COLUMNS)})"
                                 " VALUES (?, ?, ?)", event_tag_rows(fresh))
            await append(_Tx(db), [stored_entry(e, now) for e in fresh])
            result.new = [e.id for e in fresh]
            stored_digest = {**known, **{e.id: e.digest for e in fresh}}
            conflicts: list[Rejected] = []
            for event in [e for e in firsts if e.id in known] + repeats:
                if stored_digest[event.id] == event.digest:
                    result.duplicate.append(event.id)
                else:
                    result.conflict.append(event.id)
                    conflicts.append(
                        Rejected("", conflict_reason(event.id), event.payload, event.facility,
                                 event.device, event.id)
                    )
            quarantine = rejected + conflicts
            if quarantine:
                counts = {}
                for key in {quarantine_key(r) for r in quarantine}:
                    cursor = await db.execute("SELECT kept, bytes, dropped FROM quarantine_counts"
                                              " WHERE facility = ? AND device = ?", key)
                    row = await cursor.fetchone()
                    counts[key] = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
                quarantine, result.not_kept, totals = bound_quarantine(quarantine, counts,
                                                                       self.quarantine_bound)
                await db.executemany(_COUNTS, [(*k, *v) for k, v in totals.items()])
            if quarantine:
                await db.executemany(
                    "INSERT INTO quarantine (received, topic, facility, device, event_id, reason,"
                    " payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(now, r.topic, r.facility, r.device, r.event_id, r.reason, r.payload)
                     for r in quarantine],
                )
            await db.execute("COMMIT")
        except BaseException:
            try:
                await db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        return result

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._lock:
            cursor = await self._db.execute(sql, params)
            return [tuple(row) for row in await cursor.fetchall()]

    async def _named(self, naming: Sequence[tuple[str, Sequence[Any]]], where: str, more: Sequence[Any]
                     ) -> tuple[list[str], list[Any]]:
        # The ids first, from the (tag, at) index alone (see ``_SAMPLE`` for the rest).
        found = await self._fetch(" UNION ".join(f"SELECT t.event_id, t.at FROM event_tags t WHERE {c}"
                                                 for c, _ in naming),
                                  [v for _, values in naming for v in values])
        ids = sorted({str(r[0]) for r in found})
        listed = json.dumps(ids)
        by_id = f"SELECT {EVENT_ROW} FROM {_BY_ID}{where}"
        times = sorted(str(r[1]) for r in found if r[1])  # '': a row an older version wrote
        if len(ids) < _RANGE_FROM or not times:
            return ([by_id], [listed, *more]) if ids else ([], [])
        sample = await self._fetch(f"SELECT facility, type FROM events WHERE id IN ({_IDS})",
                                   [json.dumps(ids[:: max(1, len(ids) // _SAMPLE)])])
        facilities = [str(r[0]) for r in sample]
        if not facilities:  # index rows without their events: none to sample
            return [by_id], [listed, *more]
        facility = max(sorted(set(facilities)), key=facilities.count)
        seen = [str(r[1]) for r in sample if r[0] == facility]
        types = sorted(set(seen))
        register = [t for t in types if t in _COVER.types]
        spans = {t: [t, facility, times[0], times[-1]] for t in types}
        # Counted on the narrow ``events_type``, each up to where it would no longer be taken:
        # the register ranges together (a worker's years stop at 2 index rows an event, ~1/30
        # of the pages its events take by id), each other type alone.
        groups = ([(register, len(ids) * _RANGE_PER_EVENT)] if register else []) + [
            ([t], int(len(ids) * seen.count(t) / len(sample) * _OTHER_PER_EVENT) + 1)
            for t in types if t not in _COVER.types]
        (counted,) = await self._fetch(
            "SELECT " + ", ".join("(SELECT count(*) FROM (" + " UNION ALL ".join(
                f"SELECT 1 FROM {_BY_TYPE}" for _ in part) + " LIMIT ?))" for part, _ in groups),
            [v for part, limit in groups for v in (*(x for t in part for x in spans[t]), limit)])
        taken = [t for (part, limit), n in zip(groups, counted, strict=True) if n < limit for t in part]
        ranges = [(_REGISTER_RANGE if t in _COVER.types else _BY_TYPE, t) for t in taken]
        if not ranges:
            return [by_id], [listed, *more]
        covered = " UNION ALL ".join(f"SELECT e.id FROM {source}" for source, _ in ranges)
        return ([*(f"SELECT {EVENT_ROW} FROM {source} AND e.id IN ({_IDS}){where}" for source, _ in ranges),
                 # The others' ids (not the ranges') before any lookup: each is an index page.
                 f"SELECT {EVENT_ROW} FROM {_BY_ID} AND j.value NOT IN ({covered}){where}"],
                [*(v for _, t in ranges for v in (*spans[t], listed, *more)), listed,
                 *(v for _, t in ranges for v in spans[t]), *more])

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._lock:
            cursor = await self._db.execute(sql, params)
            return cursor.rowcount

    async def _fetch_fenced(self, sql: str, params: Sequence[Any], fence: Fence | None
                            ) -> list[tuple[Any, ...]]:
        return await self._fetch(sql, params)  # one bridge only: nothing to fence

    async def _exec_steps(self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]],
                          fence: Fence | None = None) -> None:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in steps:
                    await self._db.executemany(sql, rows)
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise

    async def _in_tx(self, work: Callable[[Tx], Awaitable[None]], fence: Fence | None = None) -> None:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await work(_Tx(self._db))
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise

    async def counts(self) -> LedgerCounts:
        cursor = await self._db.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine)"
        )
        row = await cursor.fetchone()
        assert row is not None
        return LedgerCounts(row[0], row[1])

    async def event_ids(self) -> list[str]:
        cursor = await self._db.execute("SELECT id FROM events ORDER BY id")
        return [row[0] for row in await cursor.fetchall()]

    async def quarantined(self, limit: int = 100) -> list[Rejected]:
        cursor = await self._db.execute(
            "SELECT topic, reason, payload, facility, device, event_id FROM quarantine"
            " ORDER BY n DESC LIMIT ?",
            (limit,),
        )
        return [Rejected(r[0], r[1], bytes(r[2]), r[3], r[4], r[5]) for r in await cursor.fetchall()]

    async def close(self) -> None:
        await self._db.close()
        if self._claim is not None:
            self._claim.close()  # closing the file releases the lock
            self._claim = None
