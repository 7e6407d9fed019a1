"""The ledger on PostgreSQL, for production and several bridge processes.

One transaction per batch: ``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id``
tells new ids from repeats in one round trip; repeats are then compared by
digest to tell a harmless duplicate from a conflicting one.

Several bridges share this ledger. All of them ingest; each facility licence is
submitted by one bridge at a time, the holder of its row in ``leases``. We use a
lease row with an expiry and a fencing token rather than session advisory locks:
an advisory lock vanishes with its connection (a network blip, a pooler in
transaction mode) while the bridge that held it may still have a call in
flight, and it gives nothing to check when outcomes are written. Here every
intent and verdict is written in a transaction that first locks the lease row
(``FOR SHARE``) and checks the token: a bridge whose lease was taken over (its
token bumped) can write nothing more, and a takeover waits for a write in
progress to commit. An intent is written only while the lease has at least the
call's timeout to run, so no call of the old holder is still on the wire when
its lease expires and another bridge reads back its unanswered intents. Times
are the database's clock, never a bridge host's.

The one connection comes back after PostgreSQL drops it (a restart, a failover,
an idle-connection killer): ``_pgsession.py``. Nothing the ledger relies on lives
only in the session but the COPY staging table, made again on each connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg

from bridge.ledger._base import (
    STORED_COLUMNS,
    TAG_COLUMNS,
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
from bridge.ledger._pgsession import Conn, Session, connect
from bridge.ledger._queries import EVENT_ROW, REGISTER_TYPES, TAG_TIMES, Cover, Fence, LeaseLost, now_ms

log = logging.getLogger(__name__)

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
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS bridge TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS digest TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS attempts_ambiguous ON attempts(facility)
    WHERE outcome IN ('sending', 'uncertain', 'abandoned');
CREATE TABLE IF NOT EXISTS leases (
    facility TEXT        PRIMARY KEY,
    holder   TEXT        NOT NULL,  -- bridge.id
    token    BIGINT      NOT NULL,  -- fencing token: +1 at every change of holder
    expires  TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bridges (  -- heartbeats, to share the licences out fairly
    id         TEXT        PRIMARY KEY,
    seen_until TIMESTAMPTZ NOT NULL
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
-- One row per tag an event names: the activity report finds a tag by index and
-- literally (a LIKE on events.tags scanned the whole ledger, and a '%' in the
-- tag matched every row).
CREATE TABLE IF NOT EXISTS event_tags (
    tag      TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at       TEXT NOT NULL DEFAULT '',  -- the event's time ('': written before it was kept)
    PRIMARY KEY (tag, event_id)
);
-- A constant default: no table rewrite, the old rows read ''; backfilled in batches.
ALTER TABLE event_tags ADD COLUMN IF NOT EXISTS at TEXT NOT NULL DEFAULT '';
-- Backfills of older ledgers' rows, resumable: where each got to (see _queries.py).
CREATE TABLE IF NOT EXISTS backfills (
    name       TEXT    PRIMARY KEY,
    last_tag   TEXT    NOT NULL,
    last_event TEXT    NOT NULL,
    done       INTEGER NOT NULL
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

# A batch of events reaches the table by COPY into this session's staging table, then
# one INSERT … SELECT that skips ids already stored: COPY formats the rows in C, where
# array parameters (INSERT … unnest) were dumped element by element in Python, the
# largest part of the ledger's cost per event (bench/fleet_load.py ingest).
_STAGED = STORED_COLUMNS
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS incoming (
    id TEXT, facility TEXT, device TEXT, seq BIGINT, type TEXT, at TEXT, received BIGINT,
    digest TEXT, payload BYTEA, tags TEXT
) ON COMMIT DELETE ROWS
"""
_COPY_IN = f"COPY incoming ({', '.join(_STAGED)}) FROM STDIN"
_INSERT = (f"INSERT INTO events ({', '.join(_STAGED)}) SELECT {', '.join(_STAGED)} FROM incoming"
           " ON CONFLICT (id) DO NOTHING RETURNING id")


class _Tx:
    """A transaction on the connection; chain heads are locked ``FOR UPDATE``."""

    for_update = " FOR UPDATE"

    def __init__(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = await self._conn.execute(_pg(sql), params)
        return list(await cursor.fetchall())

    async def exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            async with self._conn.cursor() as cur:
                await cur.executemany(_pg(sql), rows)

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        # COPY: one round trip and rows formatted in C, where executemany pipelines a
        # statement per row (the chain's share of ingest was larger than the events').
        if rows:
            async with self._conn.cursor() as cur, \
                    cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)


# An index entry holds at most about 2.7 kB: a row with more payload and state's message than
# this stays out of ``events_register`` (else storing or settling it would fail) and is found
# through ``events_register_large``. The rest of an entry (id, facility, device, ...) is small.
_COVERED_BYTES = 2000


def _covered(op: str, e: str = "") -> str:
    """The predicate of one of the two indexes (``op``: its side of ``_COVERED_BYTES``)."""
    types = ", ".join(f"'{t}'" for t in REGISTER_TYPES)
    return (f"{e}type IN ({types}) AND octet_length({e}payload) + coalesce(octet_length({e}message), 0)"
            f" {op} {_COVERED_BYTES}")


# The same clauses in the queries, literally: a prepared statement's generic plan proves that
# a partial index holds the rows asked for only from constants.
REGISTER_COVER = Cover(frozenset(REGISTER_TYPES), tuple(f" AND {_covered(op, 'e.')}" for op in ("<=", ">")))

# A key's events over a period (activity of a worker, a tag, a batch in a month): the (tag, at)
# index with the event's id in it, so the ids are read from the index alone. Through
# ``event_tags_at`` (tag, at), which it replaces, each of a worker's ~150 rows in a month at
# 10,000,000 events was a table page of event_tags (148 pages read, 15 ms when cold).
TAG_TIME_INDEX = ("event_tags_at_id", "event_tags(tag, at) INCLUDE (event_id)")
# Indexes a later one replaces: dropped (CONCURRENTLY) once that one is built.
REPLACED = {"event_tags_at": TAG_TIME_INDEX[0]}

# Indexes the registers added to the events table, after ledgers had years in it
# (``_build_late_indexes``): name and definition.
LATE_INDEXES: tuple[tuple[str, str], ...] = (
    # The rejections report (and the "to fix" list) reads only rejected events.
    ("events_rejected", "events(facility, at) WHERE status = 'rejected'"),
    # The registers (waste, corrections, harvests, scales, tags) read events of a few types.
    ("events_type", "events(type, facility, at)"),
    # Held records (the held and overdue registers) are few: found without a scan.
    ("events_held", "events(facility, device, seq) WHERE status = 'held'"),
    # One kiosk's records over a period (activity of a kiosk).
    ("events_device_at", "events(facility, device, at)"),
    # A kiosk's waiting events in seq order (to_submit: those that arrived late).
    ("events_waiting_seq", "events(facility, device, seq) WHERE status = 'stored'"),
    # The registers' rows whole (``REGISTER_TYPES``): read by index only, in index order.
    ("events_register", "events(type, facility, at) INCLUDE (id, device, seq, status, message, payload)"
                        f" WHERE {_covered('<=')}"),
    ("events_register_large", f"events(type, facility, at) WHERE {_covered('>')}"),
    # A key's events over a period (activity of a worker, a tag, a batch in a month).
    TAG_TIME_INDEX,
)
_LATE_DDL = "".join(f"CREATE INDEX IF NOT EXISTS {n} ON {d};\n" for n, d in LATE_INDEXES)
# Table pages a bitmap heap scan asks the kernel for ahead of reading them (``_fetch_scattered``).
_PREFETCH = 64
# Held while a process builds the late indexes (session-level): one builder at a time.
_BUILD_LOCK = 4242002

# What the schema script and its one-time migrations amount to: a ledger that records
# this digest has run them all, and is opened without any DDL.
_SCHEMA_DIGEST = hashlib.sha256((_SCHEMA + CHAIN_SCHEMA + CONSOLE_SCHEMA + _LATE_DDL).encode()).hexdigest()


async def _schema_current(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> bool:
    async with conn.transaction():  # nested: a savepoint inside open()'s transaction
        cursor = await conn.execute("SELECT to_regclass('ledger_schema') IS NOT NULL")
        row = await cursor.fetchone()
        if row is None or not row[0]:
            return False
        cursor = await conn.execute("SELECT digest FROM ledger_schema WHERE one = 1")
        row = await cursor.fetchone()
        return row is not None and row[0] == _SCHEMA_DIGEST


async def _prepare(conn: Conn) -> None:
    """What a new connection needs before it is used: the session's own staging table
    (no lock on anyone else's), made again after a reconnect (``_pgsession.py``)."""
    await conn.execute(_STAGING)
    # No JIT compilation and no parallel workers: the ledger's queries read a few index
    # ranges, but a lookup whose keys the planner over-counts (a tag and its 20 facilities'
    # worker keys, estimated at 14,000 rows for 9) crossed jit_above_cost and got a parallel
    # plan: compiling took 190 ms and starting the workers 30 ms of a 2 ms answer (a tag's
    # activity at 10,000,000 events). The long reads (a register's seven years) are bound
    # by the rows they render, not by the scan.
    await conn.execute("SET jit = off; SET max_parallel_workers_per_gather = 0")


async def _schema_done(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
    await conn.execute("INSERT INTO ledger_schema (one, digest) VALUES (1, %s)"
                       " ON CONFLICT (one) DO UPDATE SET digest = excluded.digest", (_SCHEMA_DIGEST,))


async def _build_late_indexes(conn: psycopg.AsyncConnection[tuple[Any, ...]], *,
                              wait: bool = False) -> list[str]:
    """Build ``LATE_INDEXES`` on a ledger that already holds events, with ``CREATE INDEX
    CONCURRENTLY``: on years of events a plain CREATE INDEX holds a lock that stops every
    bridge's ingest for minutes; this way they store on while the index is built (each
    build waits only for the transactions already running, which are short).

    One process builds (a session advisory lock; another opening meanwhile finds it taken
    and serves on without them, its register queries only slower). A build interrupted
    (the process killed) leaves an invalid index, which is dropped and built again. The
    schema is recorded as current only after all are built, so an interrupted build is
    resumed by the next open. ``wait``: wait for the other builder instead (`canopy bridge
    migrate`). Returns the indexes this call built.

    The index on the keys' times waits for their backfill (`canopy bridge migrate`): built
    on rows without their time, every row the backfill updates would leave a dead entry
    in it (twice its size at the end, and a slower backfill). The schema is recorded as
    current without it (bridges opening meanwhile run no DDL again): migrate's last step
    builds it (``complete_schema``)."""
    built: list[str] = []
    await conn.set_autocommit(True)  # CONCURRENTLY cannot run inside a transaction
    try:
        while True:
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_BUILD_LOCK,))
            row = await cursor.fetchone()
            if row is not None and row[0]:
                break
            if not wait:
                return built
            # Tried again, never waited for in a statement: a CREATE INDEX CONCURRENTLY of
            # the holder waits for every statement's snapshot, this one's too (a deadlock).
            await asyncio.sleep(0.5)
        try:
            cursor = await conn.execute("SELECT EXISTS (SELECT 1 FROM backfills WHERE name = %s"
                                        " AND done = 0)", (TAG_TIMES,))
            row = await cursor.fetchone()
            untimed = bool(row and row[0])
            for name, definition in LATE_INDEXES:
                if untimed and (name, definition) == TAG_TIME_INDEX:
                    continue
                valid = await _valid(conn, name)
                if valid:
                    continue
                if valid is not None:  # left invalid by an interrupted build
                    await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                log.info("ledger: building index %s on the events (CONCURRENTLY: ingest goes on)", name)
                await conn.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")
                built.append(name)
            for old, new in REPLACED.items():
                if await _valid(conn, new):
                    await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {old}")
            await _schema_done(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_BUILD_LOCK,))
    finally:
        await conn.set_autocommit(False)
    return built


async def _valid(conn: psycopg.AsyncConnection[tuple[Any, ...]], name: str) -> bool | None:
    """Whether the index ``name`` is valid (None: there is none)."""
    cursor = await conn.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace", (name,))
    found = await cursor.fetchone()
    return None if found is None else bool(found[0])


class PostgresLedger(Ledger):
    cover = REGISTER_COVER

    def __init__(self, session: Session) -> None:
        # One connection, one transaction at a time, made again if it drops.
        self._session = session
        self.dsn = session.dsn

    @property
    def session(self) -> Session:
        """The connection's state: ``reachable``, ``reconnects``."""
        return self._session

    @classmethod
    async def open(cls, dsn: str) -> PostgresLedger:
        conn = await connect(dsn)
        upgraded = await cls._schema(conn)
        async with conn.transaction():
            await _prepare(conn)
        ledger = cls(Session(dsn, conn, _prepare))
        ledger.upgraded = upgraded
        if upgraded and not await ledger.has_worker_keys():
            # A ledger from before worker keys: its events get theirs (once; idempotent).
            await ledger.index_workers()
        return ledger

    async def complete_schema(self) -> list[str]:
        """The late indexes still missing: left to another process building them when this
        one opened (waited for), or waiting for their backfill. The ones this call built."""
        conn = await connect(self.dsn)
        try:
            return await _build_late_indexes(conn, wait=True)
        finally:
            await conn.close()

    @staticmethod
    async def _schema(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> list[str]:
        """Bring the shared tables to this version's schema; what this call did (nothing
        when it was current)."""
        if await _schema_current(conn):
            # Steady state: no DDL on shared tables (only the session's staging table). Even
            # CREATE ... IF NOT EXISTS and ALTER ... ADD COLUMN IF NOT EXISTS take their table
            # locks before looking, and one of them while another bridge is mid-transaction
            # deadlocked (tests/submit/test_several_bridges).
            return []
        async with conn.transaction():
            # Several bridges may start together; the lock makes CREATE IF NOT EXISTS safe,
            # and the one that waited finds the schema done by the other (no DDL again).
            await conn.execute("SELECT pg_advisory_xact_lock(4242001)")
            if await _schema_current(conn):
                return []
            cursor = await conn.execute(
                "SELECT to_regclass('event_tags') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute"
                " WHERE attrelid = to_regclass('event_tags') AND attname = 'at' AND NOT attisdropped)")
            row = await cursor.fetchone()
            untimed = bool(row and row[0])  # event_tags rows without their time: to backfill
            await conn.execute(_SCHEMA)
            if untimed:
                await conn.execute("INSERT INTO backfills (name, last_tag, last_event, done)"
                                   " VALUES (%s, '', '', 0) ON CONFLICT DO NOTHING", (TAG_TIMES,))
            await conn.execute(CHAIN_SCHEMA)
            await conn.execute(CONSOLE_SCHEMA)
            # A ledger written before event_tags existed: index its tags once.
            await conn.execute(
                "INSERT INTO event_tags (tag, event_id, at)"
                " SELECT DISTINCT unnest(string_to_array(trim(tags), ' ')), id, at FROM events"
                " WHERE tags <> '' AND NOT EXISTS (SELECT 1 FROM event_tags) ON CONFLICT DO NOTHING"
            )
            await adopt_unchained(_Tx(conn), now_ms())
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS ledger_schema (one INTEGER PRIMARY KEY CHECK (one = 1),"
                " digest TEXT NOT NULL)")
            cursor = await conn.execute("SELECT EXISTS (SELECT 1 FROM events)")
            row = await cursor.fetchone()
            if row is None or not row[0]:
                # A new ledger: building them on no rows is instant, inside the lock.
                await conn.execute(_LATE_DDL)
                await _schema_done(conn)
                return ["schema"]
        # A ledger with events: the indexes are built outside the schema lock, without
        # blocking writes, and the schema is recorded as current only once they are.
        return ["schema", *(f"index {name}" for name in await _build_late_indexes(conn))]

    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult:
        try:
            return await self._session.run(lambda conn: self._store(conn, events, rejected, contended=False))
        except psycopg.errors.UniqueViolation:
            # A bridge beside this one stored one of these ids between our look and our
            # write (or a tag row outlived its event): again, skipping what is there.
            return await self._session.run(lambda conn: self._store(conn, events, rejected, contended=True))

    async def _store(self, conn: Conn, events: list[IncomingEvent], rejected: list[Rejected], *,
                     contended: bool) -> StoreResult:
        result = StoreResult()
        firsts, repeats = dedupe_batch(events)
        now = time.time_ns() // 1_000_000
        if contended:
            fresh, digests = await self._insert_skipping(conn, firsts, now)
        else:
            fresh, digests = await self._insert_new(conn, firsts, now)
        result.new = [e.id for e in fresh]
        await append(_Tx(conn), [stored_entry(e, now) for e in fresh])
        digests.update((e.id, e.digest) for e in fresh)  # a repeat within the batch
        inserted = set(result.new)
        conflicts: list[Rejected] = []
        for event in [e for e in firsts if e.id not in inserted] + repeats:
            if digests.get(event.id) == event.digest:
                result.duplicate.append(event.id)
            else:
                result.conflict.append(event.id)
                conflicts.append(Rejected("", conflict_reason(event.id), event.payload,
                                          event.facility, event.device, event.id))
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

    async def _insert_new(self, conn: Conn, firsts: list[IncomingEvent], now: int
                          ) -> tuple[list[IncomingEvent], dict[str, str]]:
        """The usual batch, of ids not seen before: those already stored are looked up
        first, the rest COPYed straight into ``events`` and ``event_tags``, which costs
        the server about half of a staged INSERT … ON CONFLICT (no staging rows, no
        speculative insertion). An id stored meanwhile by another bridge raises
        ``UniqueViolation``. Returns the events stored, and the digests of those that
        were there already."""
        if not firsts:
            return [], {}
        # The ids as one string, split by the server: a list parameter is dumped element by
        # element in Python. An id holding the separator is merely not found here: its COPY
        # then fails and the batch goes the ON CONFLICT way.
        cursor = await conn.execute(
            "SELECT id, digest FROM events WHERE id = ANY(string_to_array(%s, ' '))",
            (" ".join(e.id for e in firsts),))
        digests = {str(r[0]): str(r[1]) for r in await cursor.fetchall()}
        fresh = [e for e in firsts if e.id not in digests]
        tx = _Tx(conn)
        await tx.insert_rows("events", _STAGED, [stored_row(e, now) for e in fresh])
        await tx.insert_rows("event_tags", TAG_COLUMNS, event_tag_rows(fresh))
        return fresh, digests

    async def _insert_skipping(self, conn: Conn, firsts: list[IncomingEvent], now: int
                               ) -> tuple[list[IncomingEvent], dict[str, str]]:
        """Like ``_insert_new``, for a batch racing another bridge: staged, then inserted
        with ``ON CONFLICT DO NOTHING``, which waits for the other's commit."""
        inserted: set[str] = set()
        if firsts:
            async with conn.cursor() as cur:
                async with cur.copy(_COPY_IN) as copy:
                    for e in firsts:
                        await copy.write_row(stored_row(e, now))
                await cur.execute(_INSERT)
                inserted = {str(row[0]) for row in await cur.fetchall()}
        fresh = [e for e in firsts if e.id in inserted]
        tag_rows = event_tag_rows(fresh)
        if tag_rows:
            await conn.execute(
                f"INSERT INTO event_tags ({', '.join(TAG_COLUMNS)})"
                " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[]) ON CONFLICT DO NOTHING",
                [list(column) for column in zip(*tag_rows, strict=True)],
            )
        again = [e.id for e in firsts if e.id not in inserted]
        digests: dict[str, str] = {}
        if again:
            cursor = await conn.execute("SELECT id, digest FROM events WHERE id = ANY(%s)", (again,))
            digests = {str(r[0]): str(r[1]) for r in await cursor.fetchall()}
        return fresh, digests

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._fetch_fenced(sql, params, None)

    async def _named(self, naming: Sequence[tuple[str, Sequence[Any]]], where: str, more: Sequence[Any]
                     ) -> tuple[list[str], list[Any]]:
        # The keys' event ids first, from the index alone; then their rows in one bitmap scan
        # (``_fetch_scattered``). Joined, each row was an index lookup then a table page read
        # in turn: a harvest batch's ~900 events at 10,000,000 lie a page each among the
        # month's others, and a cold page is a wait for the disk.
        rows = await self._fetch(" UNION ".join(f"SELECT t.event_id FROM event_tags t WHERE {condition}"
                                                for condition, _ in naming),
                                 [v for _, values in naming for v in values])
        if not rows:
            return [], []
        ids = [str(r[0]) for r in rows]
        return [f"SELECT {EVENT_ROW} FROM events e WHERE e.id = ANY(?){where}"], [ids, *more]

    async def _fetch_scattered(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        # As a bitmap heap scan, which asks the kernel for the next ``_PREFETCH`` table pages
        # ahead of reading them (posix_fadvise), so the disk reads them together; the planner
        # would take an index scan (the ids look clustered: they are time-ordered, as the
        # table is), which reads one page after another. No part of it wants an index scan.
        async def work(conn: Conn) -> list[tuple[Any, ...]]:
            await conn.execute(f"SET LOCAL enable_indexscan = off;"
                               f" SET LOCAL effective_io_concurrency = {_PREFETCH}")
            cursor = await conn.execute(_pg(sql), params)
            return list(await cursor.fetchall())
        return await self._session.run(work)

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        async def work(conn: Conn) -> int:
            cursor = await conn.execute(_pg(sql), params)
            return cursor.rowcount
        return await self._session.run(work)

    async def _exec_steps(self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]],
                          fence: Fence | None = None) -> None:
        async def work(conn: Conn) -> None:
            async with conn.cursor() as cur:
                await _check(conn, fence, 0)
                for sql, rows in steps:
                    await cur.executemany(_pg(sql), rows)
        await self._session.run(work)

    async def _fetch_fenced(self, sql: str, params: Sequence[Any], fence: Fence | None
                            ) -> list[tuple[Any, ...]]:
        async def work(conn: Conn) -> list[tuple[Any, ...]]:
            await _check(conn, fence, fence.guard_ms if fence else 0)
            cursor = await conn.execute(_pg(sql), params)
            return list(await cursor.fetchall())
        return await self._session.run(work)

    async def _in_tx(self, work: Callable[[Tx], Awaitable[None]], fence: Fence | None = None) -> None:
        async def checked(conn: Conn) -> None:
            await _check(conn, fence, 0)
            await work(_Tx(conn))
        await self._session.run(checked)


    # --- leases (see the module's docstring) -------------------------------------

    async def claim_submitting(self, bridge: str) -> None:
        return None  # any number of bridges: the leases share the licences out

    async def bridges_alive(self, bridge: str, ttl_s: float) -> int:
        async def work(conn: Conn) -> int:
            await conn.execute(
                "INSERT INTO bridges (id, seen_until) VALUES (%s, clock_timestamp() + %s * interval"
                " '1 second') ON CONFLICT (id) DO UPDATE SET seen_until = excluded.seen_until",
                (bridge, ttl_s))
            cursor = await conn.execute(
                "SELECT count(*) FROM bridges WHERE seen_until > clock_timestamp()")
            row = await cursor.fetchone()
            return max(1, int(row[0])) if row else 1
        return await self._session.run(work)

    async def acquire_lease(self, facility: str, holder: str, ttl_s: float, *,
                            reclaim: bool = False) -> int | None:
        rows = await self._fetch(
            "INSERT INTO leases (facility, holder, token, expires)"
            " VALUES (?, ?, 1, clock_timestamp() + ? * interval '1 second')"
            " ON CONFLICT (facility) DO UPDATE SET holder = excluded.holder,"
            " token = leases.token + 1, expires = excluded.expires"
            " WHERE leases.expires < clock_timestamp() OR (? AND leases.holder = excluded.holder)"
            " RETURNING token",
            (facility, holder, ttl_s, reclaim))
        return int(rows[0][0]) if rows else None

    async def renew_leases(self, fences: list[Fence], ttl_s: float) -> set[str]:
        if not fences:
            return set()
        rows = await self._fetch(
            "UPDATE leases SET expires = clock_timestamp() + ? * interval '1 second'"
            " FROM unnest(?::text[], ?::text[], ?::bigint[]) AS mine(facility, holder, token)"
            " WHERE leases.facility = mine.facility AND leases.holder = mine.holder"
            " AND leases.token = mine.token RETURNING leases.facility",
            (ttl_s, [f.facility for f in fences], [f.holder for f in fences], [f.token for f in fences]))
        return {str(r[0]) for r in rows}

    async def release_lease(self, fence: Fence) -> None:
        # Expired, not deleted: the token must only ever grow.
        await self._exec(
            "UPDATE leases SET expires = clock_timestamp() - interval '1 second'"
            " WHERE facility = ? AND holder = ? AND token = ?",
            (fence.facility, fence.holder, fence.token))

    async def lease_holders(self) -> dict[str, str]:
        rows = await self._fetch("SELECT facility, holder FROM leases WHERE expires > clock_timestamp()")
        return {str(r[0]): str(r[1]) for r in rows}

    async def counts(self) -> LedgerCounts:
        (row,) = await self._fetch("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine)")
        return LedgerCounts(int(row[0]), int(row[1]))

    async def event_ids(self) -> list[str]:
        return [str(row[0]) for row in await self._fetch("SELECT id FROM events ORDER BY id")]

    async def quarantined(self, limit: int = 100) -> list[Rejected]:
        rows = await self._fetch(
            "SELECT topic, reason, payload, facility, device, event_id FROM quarantine"
            " ORDER BY n DESC LIMIT ?", (limit,))
        return [
            Rejected(str(r[0]), str(r[1]), bytes(r[2]), r[3], r[4], r[5])
            for r in rows
        ]

    async def close(self) -> None:
        await self._session.close()


async def _check(conn: Conn, fence: Fence | None, guard_ms: int) -> None:
    """Inside the caller's transaction: the lease is still ours (and, for a new call,
    has ``guard_ms`` left). ``FOR SHARE`` holds a takeover until we commit. Checked on
    whatever connection the transaction runs: one made again after a drop finds a lease
    that ran out (or was taken over) meanwhile, and refuses."""
    if fence is None:
        return
    cursor = await conn.execute(
        "SELECT expires > clock_timestamp() + %s * interval '1 millisecond' FROM leases"
        " WHERE facility = %s AND holder = %s AND token = %s FOR SHARE",
        (guard_ms, fence.facility, fence.holder, fence.token))
    row = await cursor.fetchone()
    if row is None:
        raise LeaseLost(f"{fence.holder} no longer holds the lease on {fence.facility}")
    if guard_ms and not row[0]:
        raise LeaseLost(f"the lease of {fence.holder} on {fence.facility} ends before a call"
                        " could time out: not renewed in time")


def _pg(sql: str) -> Any:
    """The shared queries use ``?``; psycopg wants ``%s`` (and ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
