"""What ``Ledger.store`` answers, on both databases: new, duplicate (the same bytes again,
in a later batch or the same one), conflict (the same id, other bytes); an id that
another bridge stores while this one is writing the same batch; a tag row left behind
by an event deleted by hand; and chain entries in the documented canonical form."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.ledger import IncomingEvent, Ledger, open_ledger, verify_and_record
from canopy.ids import uuid7
from tests.bridge.test_ledger_chain import raw

LICENSE, OTHER = "CA-LIC-0001", "CA-LIC-0002"
TAG = "1A4FF0100000022000000123"


def event(seq: int, facility: str = LICENSE, room: str = "Flower 1", event_id: str | None = None,
          tags: str = f" {TAG} ", device: str = "kiosk-01") -> IncomingEvent:
    event_id = event_id or uuid7()
    payload = json.dumps({"id": event_id, "room": room}).encode()
    at = f"2026-12-0{seq % 9 + 1}T10:00:00.000Z"
    return IncomingEvent(event_id, facility, device, seq, "plant.moved", at, payload, tags,
                         (f"worker:{facility}/maria",))


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    opened = await open_ledger(ledger_url)
    yield opened
    await opened.close()


async def test_new_duplicate_and_conflict_are_told_apart(ledger: Ledger) -> None:
    first = [event(n) for n in range(1, 6)]
    result = await ledger.store(first, [])
    assert result.new == [e.id for e in first] and not result.duplicate and not result.conflict

    again = event(6, room="Flower 2", event_id=first[1].id)  # the same id, other bytes
    assert again.payload != first[1].payload
    fresh = event(7)
    result = await ledger.store([first[0], fresh, again, fresh, first[2]], [])
    assert result.new == [fresh.id]
    assert sorted(result.duplicate) == sorted([first[0].id, first[2].id, fresh.id])
    assert result.conflict == [first[1].id]
    assert (await ledger.counts()).events == 6
    assert [r[0] for r in await ledger.activity(TAG)] == sorted(e.id for e in [*first, fresh])
    assert all(r.mismatch is None for r in await verify_and_record(ledger))


async def test_an_event_stored_again_after_its_row_was_deleted_by_hand(ledger_url: str) -> None:
    """Its tag rows outlived it: storing the id again still works (the chain then names
    the deletion: the old entry's row is gone)."""
    ledger = await open_ledger(ledger_url)
    try:
        lost, other = event(1), event(2)
        await ledger.store([lost], [])
        raw(ledger_url, "DELETE FROM events WHERE id = ?", (lost.id,))
        result = await ledger.store([lost, other], [])
        assert result.new == [lost.id, other.id]
        assert [r[0] for r in await ledger.activity(TAG)] == [lost.id, other.id]
    finally:
        await ledger.close()


async def test_an_id_stored_by_another_bridge_while_this_one_writes(pg_dsn: str) -> None:
    """Another bridge's uncommitted row is invisible to this one's look-up; its write
    then waits for that commit, and the batch is stored again skipping the id."""
    ledger = await open_ledger(pg_dsn)
    try:
        await ledger.store([event(1)], [])  # schema and chain in place
        theirs = event(2, facility=OTHER)
        batch = [event(3), theirs, event(4)]
        async with await psycopg.AsyncConnection.connect(pg_dsn) as other:
            await other.execute(
                "INSERT INTO events (id, facility, device, seq, type, at, received, digest, payload, tags)"
                " VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s, %s)",
                (theirs.id, theirs.facility, theirs.device, theirs.seq, theirs.type, theirs.at,
                 theirs.digest, theirs.payload, theirs.tags))
            storing = asyncio.create_task(ledger.store(batch, []))
            await _until_waiting_on_a_lock(pg_dsn)
            await other.commit()
            result = await asyncio.wait_for(storing, 30)
        assert result.new == [batch[0].id, batch[2].id]
        assert result.duplicate == [theirs.id] and not result.conflict
        assert (await ledger.counts()).events == 4
        assert [r.mismatch for r in await verify_and_record(ledger, LICENSE)] == [None]
    finally:
        await ledger.close()


async def _until_waiting_on_a_lock(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as watch:
        for _ in range(300):
            cursor = await watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                         " current_database() AND wait_event_type = 'Lock'")
            row = await cursor.fetchone()
            if row is not None and row[0]:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the store never waited for the other bridge's row")


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facility=_TEXT, device=_TEXT, tags=_TEXT, seq=st.integers(-(2**63), 2**63 - 1))
def test_chain_entries_are_the_documented_canonical_json(facility: str, device: str, tags: str,
                                                         seq: int) -> None:
    """An event's chain digest is sha256 of the JSON list ["event", id, facility, device,
    seq, type, at, received, sha256(payload), tags] (compact, not ASCII-escaped): chains
    written by earlier versions keep verifying."""
    stored = event(1, facility=facility, device=device, tags=tags)
    stored = IncomingEvent(stored.id, facility, device, seq, stored.type, stored.at, stored.payload, tags)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.db"
        asyncio.run(_store_one(f"sqlite:///{path}", stored))
        with sqlite3.connect(path) as db:
            received, digest = db.execute("SELECT e.received, c.digest FROM events e JOIN chain c"
                                          " ON c.ref = e.id WHERE e.id = ?", (stored.id,)).fetchone()
    canonical = json.dumps(["event", stored.id, facility, device, seq, stored.type, stored.at, received,
                            hashlib.sha256(stored.payload).hexdigest(), tags],
                           separators=(",", ":"), ensure_ascii=False).encode()
    assert digest == hashlib.sha256(canonical).hexdigest()


async def _store_one(url: str, stored: IncomingEvent) -> None:
    ledger = await open_ledger(url)
    try:
        assert (await ledger.store([stored], [])).new == [stored.id]
        assert all(r.mismatch is None for r in await verify_and_record(ledger))
    finally:
        await ledger.close()
