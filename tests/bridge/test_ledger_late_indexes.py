"""PostgreSQL: the registers' indexes on a ledger that already holds years of events are built
with CREATE INDEX CONCURRENTLY outside the schema lock, so every bridge's ingest goes on while
they are built; an interrupted build is redone; the schema counts as current only once built."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from bridge.ledger import IncomingEvent, open_ledger
from canopy.ids import uuid7

# The indexes the registers added to the events table (bridge.ledger's LATE_INDEXES).
LATE = ("events_rejected", "events_type", "events_held", "events_device_at", "events_register",
        "events_register_large")
BUILD_LOCK = 4242002  # the advisory lock a builder holds (bridge.ledger._postgres)

pytestmark = pytest.mark.timeout(120)


def event(seq: int) -> IncomingEvent:
    at = datetime(2026, 11, 22, 16, 0, seq % 60, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return IncomingEvent(uuid7(), "CCL24-0000101", "kiosk-01", seq, "plant.moved", at,
                         b'{"user": "w-dana"}')


async def as_an_older_version(dsn: str, more: int = 0) -> None:
    """A ledger full of events, left by a version before the registers' indexes (``more``:
    plain rows added in bulk, so that building an index takes a while)."""
    ledger = await open_ledger(dsn)
    await ledger.store([event(n) for n in range(1, 201)], [])
    await ledger.close()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        if more:
            await conn.execute(
                "INSERT INTO events (id, facility, device, seq, type, at, received, digest, payload)"
                " SELECT 'bulk-' || n, 'CCL24-0000101', 'kiosk-' || (n %% 50), n, 'plant.moved',"
                " '2026-11-22T16:00:00.000Z', 0, md5(n::text), '\\x7b7d'::bytea"
                " FROM generate_series(1000, 1000 + %s) AS n", (more,))
        for name in LATE:
            await conn.execute(f"DROP INDEX {name}")
        await conn.execute("UPDATE ledger_schema SET digest = 'the previous version'")


async def indexes(dsn: str) -> dict[str, bool]:
    """The late indexes present, and whether each is valid."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = ANY(%s)", (list(LATE),))
        return {str(r[0]): bool(r[1]) for r in await cursor.fetchall()}


async def schema_current(dsn: str) -> bool:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute("SELECT digest <> 'the previous version' FROM ledger_schema")
        row = await cursor.fetchone()
        return bool(row and row[0])


async def test_ingest_goes_on_while_an_old_ledgers_indexes_are_built(pg_dsn: str) -> None:
    await as_an_older_version(pg_dsn, more=400_000)
    opening = asyncio.create_task(open_ledger(pg_dsn))  # this version's first open
    stored = 0
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as other:
        await other.execute("SET lock_timeout = '1s'")
        while not opening.done():
            cursor = await other.execute("SELECT command FROM pg_stat_progress_create_index"
                                         " WHERE datname = current_database()")
            building = [str(r[0]) for r in await cursor.fetchall()]
            if building:
                # Another bridge stores an event meanwhile: not queued behind the build.
                assert building == ["CREATE INDEX CONCURRENTLY"]
                await other.execute(
                    "INSERT INTO events (id, facility, device, seq, type, at, received, digest, payload)"
                    " VALUES (%s, 'CCL24-0000101', 'kiosk-02', %s, 'plant.moved',"
                    " '2026-11-22T16:00:00.000Z', 0, '', '\\x7b7d'::bytea)", (uuid7(), stored + 1))
                stored += 1
            await asyncio.sleep(0.01)
    ledger = await opening
    await ledger.close()
    assert stored > 0, "no index was being built while the ledger opened"
    assert await indexes(pg_dsn) == dict.fromkeys(LATE, True)
    assert await schema_current(pg_dsn)


async def test_an_interrupted_build_is_redone_and_one_builder_at_a_time(pg_dsn: str) -> None:
    await as_an_older_version(pg_dsn)
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        # What a build killed halfway leaves: an invalid index of that name.
        with pytest.raises(psycopg.errors.UniqueViolation):
            await conn.execute("CREATE UNIQUE INDEX CONCURRENTLY events_type ON events(facility)")
        assert await indexes(pg_dsn) == {"events_type": False}
        # Another process is building: this open serves on, and leaves the schema to it.
        await conn.execute("SELECT pg_advisory_lock(%s)", (BUILD_LOCK,))
        ledger = await open_ledger(pg_dsn)
        await ledger.close()
        assert await indexes(pg_dsn) == {"events_type": False}
        assert not await schema_current(pg_dsn)
        await conn.execute("SELECT pg_advisory_unlock(%s)", (BUILD_LOCK,))
    ledger = await open_ledger(pg_dsn)
    try:
        assert await indexes(pg_dsn) == dict.fromkeys(LATE, True)
        assert await schema_current(pg_dsn)
        rows = await ledger.of_types(["plant.moved"], "CCL24-0000101")
        assert len(rows) == 200
    finally:
        await ledger.close()


async def test_the_tag_time_index_with_event_ids_replaces_the_one_without(pg_dsn: str) -> None:
    ledger = await open_ledger(pg_dsn)
    keyed = [IncomingEvent(uuid7(), "CCL24-0000101", "kiosk-01", n, "plant.moved",
                           f"2026-11-{1 + n % 28:02d}T16:00:00.000Z", b'{"user": "w-dana"}', "",
                           ("worker:CCL24-0000101/w-dana",)) for n in range(1, 301)]
    await ledger.store(keyed, [])
    await ledger.close()
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        # As the previous version left it: the (tag, at) index without the event ids.
        await conn.execute("DROP INDEX event_tags_at_id")
        await conn.execute("CREATE INDEX event_tags_at ON event_tags(tag, at)")
        await conn.execute("UPDATE ledger_schema SET digest = 'the previous version'")
    ledger = await open_ledger(pg_dsn)
    try:
        month = await ledger.activity("worker:CCL24-0000101/w-dana", "CCL24-0000101",
                                      "2026-11-10T00:00:00.000Z", "2026-11-20T00:00:00.000Z")
        within = sorted((e for e in keyed if "11-10" <= e.at[5:10] < "11-20"), key=lambda e: (e.at, e.seq))
        assert [r[0] for r in month] == [e.id for e in within]
    finally:
        await ledger.close()
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        cursor = await conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'event_tags'"
                                    " ORDER BY indexname")
        assert [str(r[0]) for r in await cursor.fetchall()] == ["event_tags_at_id", "event_tags_pkey"]
        await conn.execute("VACUUM ANALYZE event_tags")  # as autovacuum keeps a ledger: pages all visible
        await conn.execute("SET enable_seqscan = off")  # a few rows: a scan would do, years would not
        cursor = await conn.execute(
            "EXPLAIN SELECT t.event_id FROM event_tags t WHERE t.tag IN ('worker:CCL24-0000101/w-dana')"
            " AND t.at >= '2026-11-10T00:00:00.000Z' AND t.at < '2026-11-20T00:00:00.000Z'")
        plan = "\n".join(str(r[0]) for r in await cursor.fetchall())
    assert "Index Only Scan using event_tags_at_id" in plan, plan
