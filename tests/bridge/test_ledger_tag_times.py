"""A key's activity over a period reads that period's index rows (``event_tags.at``), and
finds exactly what a full scan finds: on a new ledger, on an older one whose rows have no
time yet, while ``canopy bridge migrate`` backfills them (killed part way, run twice, run
by two processes at once), and after. Both ledgers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.ingest import worker_key
from bridge.ledger import IncomingEvent, Ledger, open_ledger
from canopy.ids import uuid7
from tests.bridge.test_ledger_chain import raw

pytestmark = pytest.mark.timeout(300)

LICENSE = "CA-LIC-0001"
WORKERS = ("w-ana", "w-ben")
TAGS = tuple(f"1A4FF010000002200000{n:04d}" for n in range(5))
START = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # midnight in California: a month's first moment
# Months as the reports bound them (from, before), and open-ended periods.
BOUNDS = ["2026-09-01T07:00:00.000Z", "2026-10-01T07:00:00.000Z", "2026-11-01T07:00:00.000Z",
          "2026-12-01T08:00:00.000Z"]
PERIODS: list[tuple[str | None, str | None]] = [
    *itertools.pairwise(BOUNDS), (BOUNDS[1], None), (None, BOUNDS[2]), (None, None)]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def recorded(first: int, count: int) -> list[IncomingEvent]:
    """Events of two workers over three months, a tag each; every 25th exactly on a bound."""
    out = []
    for seq in range(first, first + count):
        user = WORKERS[seq % 2]
        at = BOUNDS[seq % 3] if seq % 25 == 0 else stamp(START + timedelta(minutes=seq * 53 % 130_000))
        event_id = uuid7()
        out.append(IncomingEvent(event_id, LICENSE, f"kiosk-0{seq % 3}", seq, "plant.moved", at,
                                 json.dumps({"id": event_id, "user": user}).encode(),
                                 f" {TAGS[seq % len(TAGS)]} ", (worker_key(LICENSE, user),)))
    return out


def expected(events: list[IncomingEvent], key: str, since: str | None, until: str | None) -> list[str]:
    """The full scan: every event naming ``key`` recorded in the period."""
    return sorted(e.id for e in events if (key in e.tags.split() or key in e.names)
                  and (since is None or e.at >= since) and (until is None or e.at < until))


async def store(ledger: Ledger, events: list[IncomingEvent]) -> None:
    for start in range(0, len(events), 200):
        await ledger.store(events[start : start + 200], [])


async def check_found(ledger: Ledger, events: list[IncomingEvent]) -> int:
    """Every key over every period finds what the full scan finds; how many rows in all."""
    found = 0
    for key in (*(worker_key(LICENSE, w) for w in WORKERS), *TAGS):
        history = await ledger.activity(key, LICENSE)
        for since, until in PERIODS:
            rows = await ledger.activity(key, LICENSE, since, until)
            want = expected(events, key, since, until)
            assert sorted(str(r[0]) for r in rows) == want, (key, since, until)
            # The same rows as all the key's history filtered by time (the path before).
            assert sorted(str(r[0]) for r in history if (since is None or r[5] >= since)
                          and (until is None or r[5] < until)) == want
            found += len(rows)
    return found


async def untimed(url: str) -> tuple[int, int]:
    """Index rows without their time, and rows whose time is not their event's."""
    ledger = await open_ledger(url)
    try:
        rows = await ledger._fetch(
            "SELECT (SELECT count(*) FROM event_tags WHERE at = ''), (SELECT count(*) FROM event_tags t"
            " JOIN events e ON e.id = t.event_id WHERE t.at <> '' AND t.at <> e.at)")
        return int(rows[0][0]), int(rows[0][1])
    finally:
        await ledger.close()


async def as_an_older_version(url: str, events: list[IncomingEvent]) -> None:
    """A ledger holding ``events`` as the version before ``event_tags.at`` left it."""
    ledger = await open_ledger(url)
    try:
        await store(ledger, events)
    finally:
        await ledger.close()
    raw(url, f"DROP INDEX {tag_index_name(url)}")
    raw(url, "ALTER TABLE event_tags DROP COLUMN at")
    raw(url, "DROP TABLE backfills")
    if not url.startswith("sqlite:///"):
        raw(url, "UPDATE ledger_schema SET digest = 'the previous version'")


def tag_index_name(url: str) -> str:
    """The (tag, at) index: on PostgreSQL it holds event_id too, under a name of its own."""
    return "event_tags_at" if url.startswith("sqlite:///") else "event_tags_at_id"


def tag_index(url: str) -> bool:
    """Whether the (tag, at) index is there (and valid, on PostgreSQL)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'event_tags_at'").fetchone()
            return found is not None
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                           " WHERE c.relname = %s", (tag_index_name(url),)).fetchone()
        return bool(row and row[0])


async def test_a_keys_period_finds_what_a_full_scan_finds(ledger_url: str) -> None:
    events = recorded(1, 600)
    ledger = await open_ledger(ledger_url)
    try:
        await store(ledger, events)
        assert not await ledger.backfill_pending()
        assert await check_found(ledger, events) > 600
    finally:
        await ledger.close()
    assert await untimed(ledger_url) == (0, 0)
    assert tag_index(ledger_url)


async def test_an_older_ledger_answers_the_same_before_during_and_after_its_backfill(
        ledger_url: str) -> None:
    events = recorded(1, 300)
    await as_an_older_version(ledger_url, events)
    ledger = await open_ledger(ledger_url)
    try:
        assert await ledger.backfill_pending()
        assert await untimed(ledger_url) == (600, 0)  # a tag and a worker key per event
        if not ledger_url.startswith("sqlite"):
            # The (tag, at) index waits for the backfill; the schema is current meanwhile, so
            # bridges opening the ledger run no DDL again.
            assert not tag_index(ledger_url)
            assert await ledger._fetch("SELECT digest <> 'the previous version' FROM ledger_schema") == [
                (True,)]
        await check_found(ledger, events)  # before: the rows without their time are read too

        # Interrupted after three batches (what a kill leaves: those batches committed).
        def stop_after_three(b: object) -> None:
            if getattr(b, "batches", 0) == 3:
                raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            await ledger.backfill_tag_times(40, stop_after_three)
        assert await untimed(ledger_url) == (600 - 120, 0)
        await check_found(ledger, events)

        # Resumed while the bridge stores new events and the reports are read.
        checked: list[bool] = []

        async def meanwhile() -> None:
            for round_ in range(5):
                more = recorded(1000 + round_ * 20, 20)
                await ledger.store(more, [])
                events.extend(more)
                await check_found(ledger, events)
                checked.append(await ledger.backfill_pending())
        # Batches of two: the backfill's 240 transactions outlast a round of reads (the ledger's
        # one connection takes the two tasks' transactions in turn; a key's activity is two
        # of them on PostgreSQL).
        done, _ = await asyncio.gather(ledger.backfill_tag_times(2), meanwhile())
        assert done.done and done.given == 600 - 120
        assert True in checked, "the reports were not read during the backfill"
        assert not await ledger.backfill_pending()
        await check_found(ledger, events)
        # PostgreSQL builds the (tag, at) index once its rows have their time.
        on_sqlite = ledger_url.startswith("sqlite")
        assert await ledger.complete_schema() == ([] if on_sqlite else [tag_index_name(ledger_url)])
    finally:
        await ledger.close()
    assert await untimed(ledger_url) == (0, 0)
    assert tag_index(ledger_url)


def config(tmp: Path, url: str) -> Path:
    conf = tmp / "bridge.toml"
    conf.write_text(f'[ledger]\nurl = "{url}"\n')
    return conf


def migrate(conf: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cli", "bridge", "-c", str(conf), "migrate", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=240)
    return process.returncode, out, err


def cursor(url: str) -> tuple[str, int] | None:
    """The backfill's cursor (its last key) and whether it is done, once it exists."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            try:
                row = db.execute("SELECT last_tag, done FROM backfills").fetchone()
            except sqlite3.OperationalError:
                return None
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            try:
                row = conn.execute("SELECT last_tag, done FROM backfills").fetchone()
            except psycopg.errors.UndefinedTable:
                return None
    return None if row is None else (str(row[0]), int(row[1]))


async def test_migrate_killed_midway_resumes_and_a_second_run_has_nothing_to_do(
        tmp_path: Path, ledger_url: str) -> None:
    events = recorded(1, 1500)
    await as_an_older_version(ledger_url, events)
    conf = config(tmp_path, ledger_url)
    running = migrate(conf, "--batch", "3")
    try:
        deadline = time.monotonic() + 120
        while (moved := cursor(ledger_url)) is None or moved[0] == "":
            assert running.poll() is None, running.communicate()
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        os.kill(running.pid, signal.SIGKILL)
    finally:
        running.wait()
    after = cursor(ledger_url)
    assert after is not None and after[1] == 0, "the backfill ended before it was killed"
    left, wrong = await untimed(ledger_url)
    assert 0 < left < 3000 and wrong == 0

    code, out, err = finished(migrate(conf, "--json"))
    assert code == 0, err
    summary = json.loads(out)
    assert summary["backfill"]["rows_given_time"] == left  # resumed: only what was left
    assert not summary["nothing_to_do"]
    assert "backfill:" in err  # progress on stderr
    assert await untimed(ledger_url) == (0, 0)
    assert tag_index(ledger_url)

    code, out, err = finished(migrate(conf))
    assert code == 0, err
    assert out.strip() == "nothing to do: the ledger is current (schema, indexes, backfills)"
    ledger = await open_ledger(ledger_url)
    try:
        await check_found(ledger, events)
    finally:
        await ledger.close()


async def test_two_migrations_at_once_give_each_row_its_time_once(tmp_path: Path, ledger_url: str) -> None:
    events = recorded(1, 600)
    await as_an_older_version(ledger_url, events)
    conf = config(tmp_path, ledger_url)
    ledger = await open_ledger(ledger_url)  # upgraded first, so both find the backfill to do
    await ledger.close()
    runs = [migrate(conf, "--json", "--batch", "5") for _ in range(2)]
    results = [finished(r) for r in runs]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    backfills = [json.loads(out)["backfill"] or {} for _, out, _ in results]
    # Batches taken in turn: no row walked or given twice, none left.
    assert sum(b.get("rows_given_time", 0) for b in backfills) == 1200
    assert sum(b.get("rows_walked", 0) for b in backfills) == 1200
    assert await untimed(ledger_url) == (0, 0)
    assert tag_index(ledger_url)


def test_migrate_says_what_is_wrong_with_the_ledger_url(tmp_path: Path) -> None:
    for url, says in (
            ("postgresql://canopy@127.0.0.1:1/ledger",
             "cannot open the ledger (PostgreSQL at 127.0.0.1:1/ledger):"),
            ("postgresql:///canopy_no_such_database", "cannot open the ledger (PostgreSQL at"),
            (f"sqlite:///{tmp_path / 'none.db'}", "no ledger at"),
            ("mysql://somewhere/ledger", "ledger.url")):
        code, out, err = finished(migrate(config(tmp_path, url)))
        assert code != 0 and out == "", url
        assert says in err and "Traceback" not in err, err


async def bridge_start_log(tmp: Path, url: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What a bridge logs from its start to its "bridge …: ledger …" line (it then runs on,
    its broker unreachable, until cancelled)."""
    from bridge.app import run_bridge
    from bridge.config import BridgeConfig
    from canopy.config import load_config

    conf = tmp / "bridge-run.toml"
    conf.write_text(f'[ledger]\nurl = "{url}"\n[mqtt]\nhost = "127.0.0.1"\nport = 9\n')
    caplog.clear()
    with caplog.at_level("INFO"):
        task = asyncio.create_task(run_bridge(load_config(BridgeConfig, conf)))
        try:
            deadline = time.monotonic() + 60
            while not any(r.getMessage().startswith("bridge ") and ": ledger " in r.getMessage()
                          for r in caplog.records):
                assert not task.done(), task.exception()
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


async def test_a_bridge_on_a_ledger_still_to_backfill_says_so_until_migrate_has_run(
        tmp_path: Path, ledger_url: str, caplog: pytest.LogCaptureFixture) -> None:
    await as_an_older_version(ledger_url, recorded(1, 30))
    warned = [w for w in await bridge_start_log(tmp_path, ledger_url, caplog) if w.startswith("ledger: ")]
    assert len(warned) == 1 and "`canopy bridge migrate` backfills them" in warned[0]
    code, _, err = finished(migrate(config(tmp_path, ledger_url)))
    assert code == 0, err
    assert not [w for w in await bridge_start_log(tmp_path, ledger_url, caplog) if w.startswith("ledger: ")]
