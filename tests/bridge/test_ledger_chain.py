"""The ledger's tamper-evident chain, on both databases: rows edited or deleted by
hand (sqlite3 / psycopg, as someone with database access would) are found and
named by `canopy bridge verify`; an untouched ledger verifies; backups restore."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bridge.ledger import Answer, IncomingEvent, Ledger, open_ledger, verify_and_record
from canopy.ids import uuid7

LICENSE, OTHER = "CA-LIC-0001", "CA-LIC-0002"


def event(seq: int, facility: str = LICENSE, device: str = "kiosk-01") -> IncomingEvent:
    event_id = uuid7()
    at = f"2026-12-0{seq % 9 + 1}T10:00:00.000Z"
    return IncomingEvent(event_id, facility, device, seq, "plant.moved", at,
                         f'{{"id":"{event_id}","room":"Flower 1"}}'.encode(), " 1A4FF0100000022000000123 ")


def raw(url: str, sql: str, params: Sequence[Any] = ()) -> None:
    """Change the ledger behind the bridge's back, with the database's own client."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql, params)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.replace("?", "%s"), params)


async def seeded(url: str) -> list[IncomingEvent]:
    """Events of two licences, some accepted, one rejected, one held then released."""
    ledger = await open_ledger(url)
    try:
        events = [event(i) for i in range(1, 6)] + [event(1, OTHER)]
        await ledger.store(events[:3], [])
        await ledger.store(events[3:], [])
        await ledger.settle([Answer(events[0].id, "accepted", "ok"), Answer(events[1].id, "rejected",
                                                                            "Plant tag not found")])
        await ledger.settle([Answer(events[2].id, "held", "time ahead of the bridge")])
        await ledger.confirm(events[2].id, None, "maria")
        n = await ledger.begin_attempt(LICENSE, "/plants/v2/moves", [events[2].id], "d", "b1")
        await ledger.end_attempt(n, "ok", 200, "", None, [Answer(events[2].id, "accepted", "")])
        return events
    finally:
        await ledger.close()


async def first_mismatch(url: str, facility: str | None = None) -> str:
    ledger = await open_ledger(url)
    try:
        reports = await verify_and_record(ledger, facility)
        bad = [str(r.mismatch) for r in reports if r.mismatch is not None]
        return bad[0] if bad else ""
    finally:
        await ledger.close()


async def test_an_untouched_ledger_verifies_and_the_run_is_kept(ledger_url: str) -> None:
    await seeded(ledger_url)
    assert await first_mismatch(ledger_url) == ""
    ledger = await open_ledger(ledger_url)
    try:
        last = await ledger.last_verification()
        assert last is not None and last[1] and "CA-LIC-0001: 10 entries" in last[2]
    finally:
        await ledger.close()


async def test_an_edited_payload_is_named(ledger_url: str) -> None:
    events = await seeded(ledger_url)
    raw(ledger_url, "UPDATE events SET payload = ? WHERE id = ?", (b'{"room":"Flower 2"}', events[3].id))
    found = await first_mismatch(ledger_url)
    assert events[3].id in found and "event" in found and "payload" in found
    assert await first_mismatch(ledger_url, OTHER) == ""  # the other licence's chain is intact


@pytest.mark.parametrize(("column", "value"), [("status", "accepted"), ("message", "ok")])
async def test_an_edited_verdict_is_named(ledger_url: str, column: str, value: str) -> None:
    events = await seeded(ledger_url)
    raw(ledger_url, f"UPDATE events SET {column} = ? WHERE id = ?", (value, events[1].id))
    found = await first_mismatch(ledger_url)
    assert f"(answer {events[1].id})" in found and "status or message" in found


async def test_a_verdict_given_to_a_waiting_event_by_hand_is_named(ledger_url: str) -> None:
    events = await seeded(ledger_url)
    raw(ledger_url, "UPDATE events SET status = 'accepted' WHERE id = ?", (events[4].id,))
    assert f"(event {events[4].id})" in await first_mismatch(ledger_url)


async def test_deleted_rows_are_named(ledger_url: str) -> None:
    events = await seeded(ledger_url)
    raw(ledger_url, "DELETE FROM events WHERE id = ?", (events[3].id,))
    assert f"{events[3].id}" in (found := await first_mismatch(ledger_url)) and "missing" in found
    raw(ledger_url, "DELETE FROM chain WHERE ref = ?", (events[3].id,))  # and its trace
    found = await first_mismatch(ledger_url)
    assert "entry 5" in found and "entries 4 to 4 are missing from the chain" in found
    raw(ledger_url, "DELETE FROM chain WHERE facility = ? AND n > 4", (LICENSE,))  # the whole tail
    assert "entries after it were removed" in await first_mismatch(ledger_url, LICENSE)


async def test_an_event_slipped_in_by_hand_is_named(ledger_url: str) -> None:
    await seeded(ledger_url)
    raw(ledger_url, "INSERT INTO events (id, facility, device, seq, type, at, received, digest, payload)"
        " VALUES ('forged', ?, 'kiosk-01', 99, 'plant.moved', 'x', 0, 'x', ?)", (LICENSE, b"{}"))
    assert "forged" in (found := await first_mismatch(ledger_url)) and "not in the chain" in found


async def test_bridges_storing_one_licence_together_make_one_chain(ledger_url: str) -> None:
    ledgers = [await open_ledger(ledger_url) for _ in range(3)]
    try:
        async def feed(ledger: Ledger, device: str) -> None:
            for seq in range(1, 21):
                await ledger.store([event(seq, device=device)], [])
        await asyncio.gather(*(feed(led, f"kiosk-0{i}") for i, led in enumerate(ledgers)))
        reports = await verify_and_record(ledgers[0], LICENSE)
        assert reports[0].entries == 60 and reports[0].mismatch is None
    finally:
        for ledger in ledgers:
            await ledger.close()


async def test_an_older_ledger_is_chained_once_as_found(ledger_url: str) -> None:
    url = ledger_url
    await seeded(url)
    raw(url, "DROP TABLE chain")  # what a ledger of the version before the chain holds
    raw(url, "DROP TABLE chain_heads")
    raw(url, "DROP TABLE verifications")
    if not url.startswith("sqlite:///"):
        raw(url, "DROP TABLE ledger_schema")  # nor the schema digest of this version
    ledger = await open_ledger(url)
    try:
        note = await ledger.last_verification()
        assert note is not None and "chained 6 events stored before the ledger had a chain" in note[2]
        assert all(r.mismatch is None for r in await verify_and_record(ledger))
    finally:
        await ledger.close()
    raw(url, "UPDATE events SET tags = '' WHERE seq = 4")  # chained once: later edits are found
    assert "entry" in await first_mismatch(url, LICENSE)


def cli(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "bridge", "-c", str(conf), *args],
                          capture_output=True, text=True, timeout=120)


def config(tmp: Path, url: str) -> Path:
    conf = tmp / "bridge.toml"
    conf.write_text(f'[ledger]\nurl = "{url}"\n')
    return conf


async def test_verify_command_exits_1_naming_the_entry(tmp_path: Path, ledger_url: str) -> None:
    events = await seeded(ledger_url)
    conf = config(tmp_path, ledger_url)
    done = cli(conf, "verify")
    assert done.returncode == 0 and done.stdout.startswith("verified 20")
    assert "ok   CA-LIC-0001" in done.stdout
    raw(ledger_url, "UPDATE events SET message = 'fine' WHERE id = ?", (events[1].id,))
    done = cli(conf, "verify", "--facility", LICENSE)
    assert done.returncode == 1, done.stderr
    assert f"FAIL CA-LIC-0001: entry 7 (answer {events[1].id})" in done.stdout.splitlines()[1]


async def test_backup_while_writing_and_restore_refusing_a_tampered_copy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    await seeded(url)
    conf = config(tmp_path, url)
    writer = await open_ledger(url)  # the bridge goes on storing during the backup
    try:
        store = asyncio.gather(*(writer.store([event(i, device="kiosk-09")], [])
                                 for i in range(1, 200)))
        done = await asyncio.to_thread(cli, conf, "backup", "--to", str(tmp_path / "copy.db"))
        await store
    finally:
        await writer.close()
    assert done.returncode == 0, done.stderr
    restored = tmp_path / "restored.db"
    done = cli(conf, "restore", "--from", str(tmp_path / "copy.db"), "--to", str(restored))
    assert done.returncode == 0, done.stderr
    assert await first_mismatch(f"sqlite:///{restored}") == ""
    with sqlite3.connect(tmp_path / "copy.db") as db:
        db.execute("UPDATE events SET at = '2026-11-01T10:00:00.000Z' WHERE rowid = 2")
    done = cli(conf, "restore", "--from", str(tmp_path / "copy.db"), "--to", str(tmp_path / "again.db"))
    assert done.returncode != 0 and "does not match its own chain" in done.stderr
    assert not (tmp_path / "again.db").exists()


async def test_postgres_pg_dump_restored_into_a_fresh_database_verifies(pg_dsn: str) -> None:
    await seeded(pg_dsn)
    dump = await asyncio.to_thread(subprocess.run, ["pg_dump", "--format=custom", "--dbname", pg_dsn],
                                   capture_output=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    fresh = pg_dsn + "_restored"
    with psycopg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{fresh.rsplit("/", 1)[1]}"')
    try:
        done = await asyncio.to_thread(subprocess.run, ["pg_restore", "--no-owner", "--exit-on-error",
                                       "--dbname", fresh], input=dump.stdout, capture_output=True,
                                       timeout=120)
        assert done.returncode == 0, done.stderr
        assert await first_mismatch(fresh) == ""
        raw(fresh, "UPDATE events SET device = 'kiosk-66' WHERE seq = 2")
        assert "kiosk" in await first_mismatch(fresh, LICENSE)
    finally:
        with psycopg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh.rsplit("/", 1)[1]}" WITH (FORCE)')


NOT_LEDGERS = [(b"SQLite format 3\x00" + bytes(range(256)) * 8, "cannot be read"),
               (b"", "not a Canopy ledger")]


@pytest.mark.parametrize(("content", "said"), NOT_LEDGERS)
def test_restore_of_something_that_is_not_a_ledger_says_so(tmp_path: Path, content: bytes, said: str) -> None:
    (tmp_path / "junk.db").write_bytes(content)
    conf = config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    done = cli(conf, "restore", "--from", str(tmp_path / "junk.db"), "--to", str(tmp_path / "new.db"))
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "new.db").exists()
