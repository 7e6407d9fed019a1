"""The activity report finds a tag by index, literally, on both ledgers."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.ledger import IncomingEvent, Ledger, open_ledger
from canopy.ids import uuid7

TAG_A, TAG_B = "1A4FF0100000022000000123", "1A4FF0100000022000000124"


def stored(seq: int, tags: str) -> IncomingEvent:
    event_id = uuid7()
    return IncomingEvent(event_id, "CA-LIC-0001", "kiosk-01", seq, "plant.moved",
                         f"2026-12-0{seq}T10:00:00.000Z", f'{{"id":"{event_id}"}}'.encode(), tags)


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    opened = await open_ledger(ledger_url)
    yield opened
    await opened.close()


async def test_a_tag_is_found_literally_and_only_where_named(ledger: Ledger) -> None:
    one, two, both = stored(1, f" {TAG_A} "), stored(2, f" {TAG_B} "), stored(3, f" {TAG_A} {TAG_B} ")
    await ledger.store([one, two, both, stored(4, "")], [])
    assert [r[0] for r in await ledger.activity(TAG_A)] == [one.id, both.id]
    assert [r[0] for r in await ledger.activity(TAG_B)] == [two.id, both.id]
    assert await ledger.activity("%") == []  # a LIKE pattern is not a tag
    assert await ledger.activity("1A4FF01000000220000001") == []  # nor is a prefix


async def test_a_repeated_event_adds_no_second_index_row(ledger: Ledger) -> None:
    event = stored(1, f" {TAG_A} {TAG_A} ")
    await ledger.store([event, event], [])
    await ledger.store([event], [])
    assert [r[0] for r in await ledger.activity(TAG_A)] == [event.id]


async def test_a_ledger_from_before_the_index_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await open_ledger(f"sqlite:///{path}")
    event = stored(1, f" {TAG_A} ")
    await ledger.store([event], [])
    await ledger.close()
    with sqlite3.connect(path) as db:  # what a ledger written by the previous version holds
        db.execute("DELETE FROM event_tags")
    reopened = await open_ledger(f"sqlite:///{path}")
    try:
        assert [r[0] for r in await reopened.activity(TAG_A)] == [event.id]
    finally:
        await reopened.close()


async def test_a_postgres_ledger_from_before_the_index_is_indexed_when_opened(pg_dsn: str) -> None:
    import psycopg

    ledger = await open_ledger(pg_dsn)
    event = stored(1, f" {TAG_A} {TAG_B} ")
    await ledger.store([event], [])
    await ledger.close()
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        await conn.execute("DELETE FROM event_tags")
        await conn.execute("DROP TABLE ledger_schema")  # what the previous version left
    reopened = await open_ledger(pg_dsn)
    try:
        assert [r[0] for r in await reopened.activity(TAG_B)] == [event.id]
    finally:
        await reopened.close()
