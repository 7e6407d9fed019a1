"""Commits on the loop: where the disk commits quickly, the outbox commits on the loop itself.

Only after ``INLINE_AFTER`` quick commits in a row, only while its thread has nothing under
way (the connection is then the loop's alone), and never after a slow or failed one until
quick ones come again. Made there or in the thread, an append returns only once committed,
appends asked together still share one commit, and a kill -9 or SIGTERM loses none that
were acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent import outbox as outbox_module
from agent import outbox_db
from agent.outbox import INLINE_AFTER, Outbox, OutboxFault
from canopy.events import PlantMoved
from tests.agent.killed_writers import assert_nothing_acknowledged_lost, start_writer

TAG = "1A4FF0100000022000000123"


class Commits:
    """Each commit's rows and the thread it ran on; ``slow_ms`` delays the next ones."""

    def __init__(self) -> None:
        self.made: list[tuple[int, bool]] = []  # (rows, on the loop's thread)
        self.slow_ms = 0.0
        self.fail = False

    def insert(self, db: sqlite3.Connection, rows: list[Any], fixes: list[Any]) -> Any:
        self.made.append((len(rows), threading.current_thread() is threading.main_thread()))
        if self.fail:
            raise sqlite3.OperationalError("disk I/O error")
        if self.slow_ms:
            time.sleep(self.slow_ms / 1000)
        return outbox_db.insert(db, rows, fixes)

    @property
    def on_loop(self) -> list[bool]:
        return [loop for _, loop in self.made]


# What counts as quick here: any commit of this machine's disk, even one busy with other
# work (7-30 ms a commit while another process wrote gigabytes); ``SLOW_MS`` is past it.
QUICK_MS = 400.0
SLOW_MS = 500.0


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> Commits:
    seen = Commits()
    monkeypatch.setattr(outbox_module, "insert", seen.insert)
    monkeypatch.setattr(outbox_module, "INLINE_COMMIT_MS", QUICK_MS)
    return seen


def stored(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT seq, id FROM outbox ORDER BY seq"))


async def append(box: Outbox, i: int) -> Any:
    return await box.append(PlantMoved(tag=TAG, location=f"Room {i}"), user="worker-1")


async def warm(box: Outbox, count: int = INLINE_AFTER) -> None:
    for i in range(count):
        await append(box, i)


async def test_after_enough_quick_commits_they_are_made_on_the_loop(outbox: Outbox, commits: Commits) -> None:
    await warm(outbox)
    assert commits.on_loop == [False] * INLINE_AFTER  # the thread, until the disk proved quick
    event = await append(outbox, 99)
    assert commits.on_loop[-1] is True
    # Committed when it returns: another connection sees it.
    assert stored(outbox.path)[-1] == (event.seq, event.id)
    assert outbox.commits.on_loop == 1 and outbox.commits.in_thread == INLINE_AFTER
    assert 0 < outbox.commits.longest_on_loop_ms <= QUICK_MS  # measured, not made up
    assert outbox.counts == await outbox.recount()


async def test_a_slow_commit_sends_the_next_ones_to_the_thread(outbox: Outbox, commits: Commits) -> None:
    await warm(outbox)
    commits.slow_ms = SLOW_MS
    await append(outbox, 1)  # made on the loop, and found slow
    await append(outbox, 2)
    await append(outbox, 3)
    assert commits.on_loop[-3:] == [True, False, False]
    commits.slow_ms = 0
    await warm(outbox)  # quick again, INLINE_AFTER times: back on the loop
    await append(outbox, 4)
    assert commits.on_loop[-2:] == [False, True]
    assert [seq for seq, _ in stored(outbox.path)] == list(range(1, 2 * INLINE_AFTER + 5))


async def test_while_the_thread_has_work_under_way_the_commit_goes_there_after_it(
        outbox: Outbox, commits: Commits) -> None:
    await warm(outbox)
    order: list[str] = []

    def thread_work(db: sqlite3.Connection) -> None:
        time.sleep(0.05)
        order.append("thread work")

    busy = asyncio.ensure_future(outbox.call(thread_work))
    await asyncio.sleep(0)  # handed to the thread
    event = await append(outbox, 1)
    order.append("append")
    await busy
    assert commits.on_loop[-1] is False  # never two users of the connection at once
    assert order == ["thread work", "append"]
    assert stored(outbox.path)[-1] == (event.seq, event.id)


async def test_appends_asked_together_share_a_commit_on_the_loop(outbox: Outbox, commits: Commits) -> None:
    await warm(outbox)
    events = await asyncio.gather(*(append(outbox, i) for i in range(10)))
    assert commits.made[INLINE_AFTER:] == [(10, True)]
    assert [e.seq for e in events] == list(range(INLINE_AFTER + 1, INLINE_AFTER + 11))
    assert [id_ for _, id_ in stored(outbox.path)[-10:]] == [e.id for e in events]


async def test_callers_appending_in_a_loop_take_turns(outbox: Outbox, commits: Commits) -> None:
    # Each caller awaits its own appends one after another: on the loop, the commit first
    # lets the others ask, so neither runs all of its appends before the other's first.
    await warm(outbox)
    order: list[str] = []

    async def caller(name: str) -> None:
        for i in range(5):
            await append(outbox, i)
            order.append(name)

    await asyncio.gather(caller("a"), caller("b"))
    assert order[:4] in (["a", "b", "a", "b"], ["b", "a", "b", "a"])
    assert all(loop for loop in commits.on_loop[INLINE_AFTER:])
    assert sum(rows for rows, _ in commits.made[INLINE_AFTER:]) == 10


async def test_a_caller_cancelled_before_its_commit_on_the_loop_saves_nothing(
        outbox: Outbox, commits: Commits) -> None:
    await warm(outbox)
    first = asyncio.ensure_future(append(outbox, 1))
    await asyncio.sleep(0)  # it holds the writer and lets the others ask: nothing made yet
    second = asyncio.ensure_future(append(outbox, 2))
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    saved = await second
    assert saved.seq == INLINE_AFTER + 1  # the cancelled one took no seq
    assert [id_ for _, id_ in stored(outbox.path)][-1] == saved.id
    assert len(stored(outbox.path)) == INLINE_AFTER + 1
    assert outbox.counts == await outbox.recount()


async def test_a_failed_commit_on_the_loop_saves_nothing_and_sends_the_next_to_the_thread(
        outbox: Outbox, commits: Commits) -> None:
    await warm(outbox)
    commits.fail = True
    with pytest.raises(OutboxFault, match="this record was NOT saved"):
        await append(outbox, 1)
    commits.fail = False
    event = await append(outbox, 2)
    assert commits.on_loop[-2:] == [True, False]
    assert event.seq == INLINE_AFTER + 1  # the failed one took no seq
    assert len(stored(outbox.path)) == INLINE_AFTER + 1


# --- killed while committing on the loop ----------------------------------------------------

WRITER = """
import asyncio, sys
from pathlib import Path
from agent import outbox
from agent.outbox import Outbox
from canopy.events import PlantMoved

outbox.INLINE_COMMIT_MS = float(sys.argv[3])  # this disk's commits count as quick

async def main(path: str) -> None:
    box = await Outbox.open(Path(path), facility="F-1", device="k-1")
    i = 0
    while True:  # one caller, one append after another: the loop's commits
        event = await box.append(PlantMoved(tag=sys.argv[2], location=f"Room {i}"), user="u")
        print(event.id, box.commits.on_loop, flush=True)  # acknowledged: the worker heard "saved"
        i += 1

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_a_killed_writer_loses_none_of_the_appends_it_committed_on_the_loop(
        tmp_path: Path, how: signal.Signals) -> None:
    path = tmp_path / "outbox.db"
    for round_ in range(4):
        writer = await start_writer(WRITER, str(path), TAG, str(QUICK_MS))
        assert writer.stdout is not None and writer.stderr is not None
        # Wait until its commits are made on the loop, then some more.
        lines: list[bytes] = []
        while not lines or int(lines[-1].split()[1]) < 5 + 23 * round_:
            line = await writer.stdout.readline()
            assert line.strip(), b"".join(lines[-3:]) + await writer.stderr.read()
            lines.append(line)
        os.kill(writer.pid, how)
        assert await writer.wait() == -how
        lines += (await writer.stdout.read()).splitlines()
        acknowledged = {line.split()[0].decode() for line in lines if line.strip()}
        await assert_nothing_acknowledged_lost(path, acknowledged)
