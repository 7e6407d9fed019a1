"""The outbox's kept counts: always equal to a recount, whatever happened to the file.

The status bar reads ``outbox_counts`` (kept by triggers in the same transaction
as the rows) instead of counting the table; these tests recount the whole table
and compare, after random sequences of operations, after a kill -9 in the middle
of writing, at 100,000 rows, and across the upgrade from the uncounted schema.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from agent.outbox import STATES, Backlog, Outbox, Settlement
from agent.outbox_db import SCHEMA, SCHEMA_VERSION
from canopy.ids import uuid7
from tests.agent.killed_writers import start_writer

T = TypeVar("T")
TAG = "1A4FF0100000022000000123"
FAC, DEV = "CA-TEST-0001", "kiosk-01"


async def assert_counts_true(box: Outbox) -> Backlog:
    """What the kiosk shows (memory), what the file keeps, and a full recount all agree."""
    kept, counted = await box.backlog(), await box.recount()
    assert box.counts == kept == counted
    return counted


# --- random sequences of operations ---------------------------------------------------


class OutboxMachine(RuleBasedStateMachine):
    """Appends, acks in any order (late, repeated, unknown ids), prunes and restarts,
    checked against a plain dict of id -> state."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="canopy-outbox-sm-"))
        self.model: dict[str, str] = {}
        self.fixed: set[str] = set()  # corrected, so off the "to fix" list (and prunable)
        self.box: Outbox | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @initialize()
    def open(self) -> None:
        self.box = self.run(Outbox.open(self.folder / "outbox.db", facility=FAC, device=DEV))

    @rule(n=st.integers(1, 3))
    def append(self, n: int) -> None:
        assert self.box is not None
        for _ in range(n):
            event = self.run(self.box.append("plant.scanned", {"tag": TAG}, user="worker-1"))
            self.model[event.id] = "pending"

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def correct(self, data: st.DataObject) -> None:
        assert self.box is not None
        target = data.draw(st.sampled_from(sorted(self.model)))
        event = self.run(self.box.append("record.corrected", {"reason": "Wrong plant"}, user="worker-1",
                                         corrects=target))
        self.model[event.id] = "pending"
        self.fixed.add(target)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def fixed_elsewhere(self, data: st.DataObject) -> None:
        """The bridge says a rejection was dismissed in the compliance console."""
        assert self.box is not None
        targets = data.draw(st.lists(st.sampled_from(sorted(self.model)), max_size=3))
        self.run(self.box.fixed_elsewhere([(t, uuid7()) for t in targets]))
        self.fixed.update(targets)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        assert self.box is not None
        ids = data.draw(st.lists(st.sampled_from(sorted(self.model)), max_size=6))
        states = data.draw(st.lists(st.sampled_from(STATES), min_size=len(ids), max_size=len(ids)))
        unknown = data.draw(st.booleans())
        acks = [Settlement(i, s, "no" if s == "rejected" else None) for i, s in zip(ids, states, strict=True)]
        if unknown:  # an ack for an event this kiosk no longer has (pruned) changes nothing
            acks.append(Settlement(uuid7(), "accepted"))
        rank = {"pending": 0, "stored": 1, "accepted": 2, "rejected": 2}
        expected = 0
        for ack in acks:
            if ack.id in self.model and rank[self.model[ack.id]] < rank[ack.state]:
                self.model[ack.id] = ack.state
                expected += 1
        assert self.run(self.box.settle(acks)) == expected

    @rule(everything=st.booleans())
    def prune(self, everything: bool) -> None:
        assert self.box is not None
        removed = self.run(self.box.prune(-1 if everything else 3600, batch=3))
        # Rejections stay until corrected or dismissed (the kiosk's "to fix" list).
        gone = ([i for i, s in self.model.items() if s == "accepted" or (s == "rejected" and i in self.fixed)]
                if everything else [])
        assert removed == len(gone)
        for i in gone:
            del self.model[i]

    @rule()
    def restart(self) -> None:
        assert self.box is not None
        self.run(self.box.close())
        self.box = self.run(Outbox.open(self.folder / "outbox.db", facility=FAC, device=DEV))

    @invariant()
    def counts_equal_a_recount(self) -> None:
        if self.box is None:
            return
        counted = self.run(assert_counts_true(self.box))
        for state in STATES:
            assert getattr(counted, state) == sum(1 for s in self.model.values() if s == state)
        to_fix = sum(1 for i, s in self.model.items() if s == "rejected" and i not in self.fixed)
        assert counted.to_fix == to_fix
        assert self.run(self.box.states()) == self.model

    def teardown(self) -> None:
        if self.box is not None:
            self.run(self.box.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)


TestOutboxCounts = OutboxMachine.TestCase
TestOutboxCounts.settings = settings(max_examples=25, stateful_step_count=15, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])


# --- a kill -9 in the middle of writing -------------------------------------------------

WRITER = """
import asyncio, random, sys
from pathlib import Path
from agent.outbox import Outbox, Settlement

async def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    box = await Outbox.open(Path(path), facility="F-1", device="k-1")
    ids: list[str] = []
    rounds = 0
    while True:
        for _ in range(rng.randint(1, 20)):
            ids.append((await box.append("plant.scanned", {"tag": sys.argv[3]}, user="u")).id)
        # Big settlements and prunes: long transactions to be killed in the middle of.
        picks = rng.sample(ids, min(len(ids), rng.randint(1, 400)))
        await box.settle([Settlement(i, rng.choice(["stored", "accepted", "rejected"])) for i in picks])
        if rng.random() < 0.3:
            await box.prune(-1, batch=rng.randint(1, 50))
            ids = ids[-200:]
        rounds += 1
        if rounds == 3:
            print("writing", flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.timeout(120)
async def test_counts_survive_kill_9_in_the_middle_of_writing(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    rng = random.Random(7)
    for round_ in range(6):
        writer = await start_writer(WRITER, str(path), str(round_), TAG)
        assert writer.stdout is not None and writer.stderr is not None
        line = await writer.stdout.readline()
        assert line == b"writing\n", line + await writer.stderr.read()
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        os.kill(writer.pid, signal.SIGKILL)
        assert await writer.wait() == -signal.SIGKILL
        box = await Outbox.open(path, facility="F-1", device="k-1")  # recovers the WAL
        try:
            counted = await assert_counts_true(box)
            assert sum(getattr(counted, s) for s in STATES) == len(await box.states())
        finally:
            await box.close()


# --- at size --------------------------------------------------------------------------


def bulk_rows(count: int, *, old: bool = False) -> list[tuple[int, str, str, bytes, int, str, int]]:
    """``count`` rows in a realistic mix of states (mostly settled), oldest first."""
    rng = random.Random(count)
    weights = {"pending": 5, "stored": 5, "accepted": 85, "rejected": 5}
    states = rng.choices(list(weights), list(weights.values()), k=count)
    changed = 1 if old else 2**40  # long before any retention, or far in the future
    return [(seq, uuid7(), "plant.scanned", b'{"x":1}', seq, state, changed)
            for seq, state in enumerate(states, start=1)]


def fill(path: Path, rows: list[tuple[int, str, str, bytes, int, str, int]], schema: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(schema)
        db.executemany("INSERT INTO outbox (seq, id, type, payload, created, state, changed)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


@pytest.mark.timeout(180)
async def test_counts_at_100000_rows(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    rows = bulk_rows(100_000, old=True)
    fill(path, rows, SCHEMA)  # another writer (a bulk copy): the triggers count for it too
    box = await Outbox.open(path, facility=FAC, device=DEV)
    try:
        counted = await assert_counts_true(box)
        assert counted.pending == sum(1 for r in rows if r[5] == "pending") > 0
        assert counted.oldest_pending_ms == min(r[4] for r in rows if r[5] == "pending")
        # A drained backlog's acks, in one settlement.
        pending = [r[1] for r in rows if r[5] in ("pending", "stored")]
        await box.settle([Settlement(i, "accepted") for i in pending[:5000]])
        await assert_counts_true(box)
        # Everything accepted is past retention: pruned a small batch at a time; rejections
        # nobody fixed stay (the kiosk's "to fix" list).
        before = await box.recount()
        assert await box.prune(-1, batch=1000) == before.accepted
        assert box.last_prune.batches >= before.accepted // 1000
        after = await assert_counts_true(box)
        assert (after.accepted, after.rejected, after.to_fix) == (0, before.rejected, before.rejected)
        event = await box.append("plant.scanned", {"tag": TAG}, user="u")
        assert event.seq == 100_001
        await assert_counts_true(box)
    finally:
        await box.close()


# The schema before the counts were kept (user_version 1), as kiosks in the field have it.
SCHEMA_V1 = """
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    payload BLOB NOT NULL, created INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'accepted', 'rejected')),
    changed INTEGER NOT NULL, message TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox(seq) WHERE state = 'pending';
CREATE INDEX outbox_settled ON outbox(changed) WHERE state IN ('accepted', 'rejected');
PRAGMA user_version = 1;
"""


@pytest.mark.timeout(120)
async def test_an_outbox_from_before_the_counts_is_counted_once_on_open(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    rows = bulk_rows(100_000)
    fill(path, rows, SCHEMA_V1)
    box = await Outbox.open(path, facility=FAC, device=DEV)
    try:
        counted = await assert_counts_true(box)
        assert counted.accepted == sum(1 for r in rows if r[5] == "accepted")
        assert await box.call(lambda db: db.execute("PRAGMA user_version").fetchone()) == (SCHEMA_VERSION,)
    finally:
        await box.close()


async def test_repair_sets_damaged_counts_right(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "outbox.db", facility=FAC, device=DEV)
    try:
        for _ in range(3):
            await box.append("plant.scanned", {"tag": TAG}, user="u")
        # Someone edited the file by hand, around the triggers.
        await box.call(lambda db: db.execute("UPDATE outbox_counts SET n = 99 WHERE state = 'pending'"))
        assert (await box.backlog()).pending == 99
        assert (await box.repair_counts()).pending == 3
        await assert_counts_true(box)
    finally:
        await box.close()


@pytest.mark.timeout(120)
async def test_a_scan_is_saved_between_two_prune_batches(tmp_path: Path) -> None:
    """Pruning never holds the writer for more than one batch: a scan waiting for it is
    saved before the next batch, however much is left to prune."""
    path = tmp_path / "outbox.db"
    fill(path, bulk_rows(20_000, old=True), SCHEMA)
    box = await Outbox.open(path, facility=FAC, device=DEV)
    try:
        first_batch = asyncio.Event()
        box.on_change.append(first_batch.set)
        pruning = asyncio.create_task(box.prune(-1, batch=100))
        await first_batch.wait()
        saved = await box.append("plant.scanned", {"tag": TAG}, user="u")
        assert not pruning.done()  # more than a hundred batches were still to come
        settled = await pruning
        assert settled >= 16_000 and box.last_prune.batches > 100  # the accepted ones
        assert (await box.states())[saved.id] == "pending"
        await assert_counts_true(box)
    finally:
        await box.close()
