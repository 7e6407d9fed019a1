"""What an outbox operation costs, counted rather than timed (bench/outbox.py times them).

A prune batch reads the same few rows however many rejections wait to be fixed; a vacuum
step gives back the pages it is asked for.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent import outbox as outbox_module
from agent import outbox_db
from agent.outbox import Outbox, Settlement
from agent.outbox_db import SCHEMA, vacuum_step

TAG = "1A4FF0100000022000000123"
FAC, DEV = "CA-TEST-0001", "kiosk-01"


def _old_settled(path: Path, rejected: int, accepted: int) -> None:
    """Rejections nobody fixed, older than the accepted rows behind them (all past retention)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
        rows = [(seq, f"id-{seq}", "plant.scanned", b"{}", seq,
                 "rejected" if seq <= rejected else "accepted", seq)
                for seq in range(1, rejected + accepted + 1)]
        db.executemany("INSERT INTO outbox (seq, id, type, payload, created, state, changed)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


async def _steps_per_batch(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[int]]:
    """Prune everything past retention, 50 rows a batch: (rows pruned, SQLite VM steps per batch)."""
    steps = [0]
    per_batch: list[int] = []
    real = outbox_db.prune_batch

    def counted(*args: Any) -> Any:
        steps[0] = 0
        result = real(*args)
        per_batch.append(steps[0])
        return result

    monkeypatch.setattr(outbox_module, "prune_batch", counted)
    box = await Outbox.open(path, facility=FAC, device=DEV)
    try:
        def count() -> int:
            steps[0] += 1
            return 0

        def handler(db: sqlite3.Connection) -> None:
            db.set_progress_handler(count, 100)

        await box.call(handler)
        pruned = await box.prune(-1, batch=50)
        counts = await box.recount()
        assert (box.counts, counts.rejected, counts.accepted) == (counts, counts.to_fix, 0)
        return pruned, per_batch
    finally:
        await box.close()


async def test_a_prune_batch_reads_the_same_few_rows_however_many_rejections_wait(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    few, many = tmp_path / "few.db", tmp_path / "many.db"
    _old_settled(few, rejected=20, accepted=500)
    _old_settled(many, rejected=3000, accepted=500)
    pruned_few, steps_few = await _steps_per_batch(few, monkeypatch)
    pruned_many, steps_many = await _steps_per_batch(many, monkeypatch)
    assert pruned_few == pruned_many == 500  # the rejections stay: nobody fixed them
    # Reading past 3,000 kept rejections in every batch would cost ~60 times more a batch.
    assert max(steps_many) <= 2 * max(steps_few)


async def test_a_fixed_rejection_behind_kept_ones_is_pruned(tmp_path: Path) -> None:
    """The cursor passes kept rejections once; what may go behind them still goes."""
    box = await Outbox.open(tmp_path / "outbox.db", facility=FAC, device=DEV)
    try:
        events = [await box.append("plant.scanned", {"tag": TAG}, user="u") for _ in range(7)]
        await box.settle([Settlement(e.id, "rejected", "no") for e in events[:6]])
        fix = await box.append("record.corrected", {"reason": "Wrong plant"}, user="u",
                               corrects=events[5].id)
        await box.settle([Settlement(e.id, "accepted") for e in (events[6], fix)])
        assert await box.prune(-1, batch=2) == 3
        assert sorted(await box.states()) == sorted(e.id for e in events[:5])
        assert box.counts == await box.recount()
    finally:
        await box.close()


def test_a_vacuum_step_gives_back_the_pages_it_is_asked_for(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "outbox.db", isolation_level=None)
    try:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO outbox (seq, id, type, payload, created, changed)"
                       " VALUES (?, ?, 'plant.scanned', ?, 1, 1)",
                       [(seq, f"id-{seq}", b"x" * 3000) for seq in range(1, 201)])
        db.execute("DELETE FROM outbox")
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        assert free > 100
        left, held, work = vacuum_step(db, 32)
        assert left == free - 32 == db.execute("PRAGMA freelist_count").fetchone()[0]
        assert not db.in_transaction and held >= work
    finally:
        db.close()
