"""Group commit: appends asked while a commit is under way go together in the next one.

Each append still returns only after the commit that holds its event; seqs follow the
order asked with no gap (a refused or failed append takes none); a failed commit saves
none of its appends; a cancelled caller neither loses the others' answers nor keeps the
writer; a kill -9 in the middle loses none of the acknowledged appends.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from agent import outbox as outbox_module
from agent import outbox_db
from agent.outbox import Outbox, OutboxFault, Settlement
from canopy.events import Envelope, Event, InvalidEvent, PlantMoved, parse_event
from tests.agent.killed_writers import assert_nothing_acknowledged_lost, start_writer

TAG = "1A4FF0100000022000000123"


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows per trip to the writer's thread (one trip is one commit)."""
    sizes: list[int] = []
    real = outbox_db.insert

    def counted(db: sqlite3.Connection, rows: list[Any], fixes: list[Any]) -> Any:
        sizes.append(len(rows))
        return real(db, rows, fixes)

    monkeypatch.setattr(outbox_module, "insert", counted)
    return sizes


def stored(path: Path) -> list[tuple[int, str, bytes]]:
    """Another connection's view, as a fresh process would see it."""
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT seq, id, payload FROM outbox ORDER BY seq"))


def move(room: str) -> PlantMoved:
    return PlantMoved(tag=TAG, location=room)


def moves(box: Outbox, count: int) -> list[Coroutine[Any, Any, Event]]:
    return [box.append(move(f"Room {i}"), user="worker-1") for i in range(count)]


async def test_appends_asked_during_a_commit_share_the_next_one(outbox: Outbox, commits: list[int]) -> None:
    events = await asyncio.gather(*moves(outbox, 10))
    # The first commit starts alone; the nine asked meanwhile go in the next, together.
    assert commits == [1, 9]
    assert [e.seq for e in events] == list(range(1, 11))  # the order asked
    assert [e.data for e in events] == [move(f"Room {i}") for i in range(10)]
    rows = stored(outbox.path)
    assert [(seq, id_) for seq, id_, _ in rows] == [(e.seq, e.id) for e in events]
    assert [parse_event(payload) for _, _, payload in rows] == events  # the exact bytes returned
    assert (await outbox.recount()) == outbox.counts == await outbox.backlog()
    assert outbox.counts.pending == 10


async def test_one_sequential_append_is_one_commit_of_one_row(outbox: Outbox, commits: list[int]) -> None:
    for i in range(3):
        await outbox.append(move(f"Room {i}"), user="worker-1")
    assert commits == [1, 1, 1]


async def test_an_invalid_append_in_a_group_is_refused_alone_and_takes_no_seq(
        outbox: Outbox, commits: list[int]) -> None:
    asked = [*moves(outbox, 3), outbox.append("plant.moved", {"tag": "no!"}, user="worker-1"),
             *moves(outbox, 2)]
    answers = await asyncio.gather(*asked, return_exceptions=True)
    assert isinstance(answers[3], InvalidEvent)
    saved = [a for a in answers if isinstance(a, Envelope)]
    assert [e.seq for e in saved] == [1, 2, 3, 4, 5]
    assert [id_ for _, id_, _ in stored(outbox.path)] == [e.id for e in saved]
    assert commits == [1, 4]


async def test_corrections_in_a_group_clear_the_to_fix_list_in_its_commit(
        outbox: Outbox, commits: list[int]) -> None:
    wrong = await asyncio.gather(*moves(outbox, 3))
    await outbox.settle([Settlement(e.id, "rejected", "destroyed") for e in wrong])
    assert outbox.counts.to_fix == 3
    commits.clear()
    await asyncio.gather(
        outbox.append(move("Room 7"), user="worker-1"),
        outbox.append("record.corrected", {"reason": "Wrong plant"}, user="u", corrects=wrong[0].id),
        outbox.append(move("Room 8"), user="worker-1"),
        outbox.append("rejection.dismissed", {"reason": "Entered by the office"}, user="boss",
                      corrects=wrong[2].id))
    assert commits == [1, 3]
    [left] = await outbox.to_fix()
    assert left.id == wrong[1].id
    assert outbox.counts == await outbox.backlog() == await outbox.recount()
    assert outbox.counts.to_fix == 1


async def test_a_failed_group_commit_saves_none_of_its_appends(outbox: Outbox) -> None:
    # A real SQLite failure in the middle of the group (the third row of the second commit):
    # the whole transaction is rolled back, and every append in it hears so.
    await outbox.call(lambda db: db.execute(
        "CREATE TEMP TRIGGER fail BEFORE INSERT ON outbox WHEN NEW.seq = 4"
        " BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"))
    answers = await asyncio.gather(*moves(outbox, 5), return_exceptions=True)
    first, *group = answers
    assert isinstance(first, Envelope) and first.seq == 1
    assert all(isinstance(a, OutboxFault) and "this record was NOT saved" in str(a) for a in group)
    assert [id_ for _, id_, _ in stored(outbox.path)] == [first.id]
    assert outbox.counts == await outbox.recount()
    await outbox.call(lambda db: db.execute("DROP TRIGGER fail"))
    again = await asyncio.gather(*moves(outbox, 3))
    assert [e.seq for e in again] == [2, 3, 4]  # the failed ones took no seq


async def test_a_cancelled_caller_keeps_neither_the_writer_nor_the_others_answers(outbox: Outbox) -> None:
    leader, *followers = [asyncio.ensure_future(c) for c in moves(outbox, 3)]
    await asyncio.sleep(0)  # the leader's row is on its way to the disk, the others wait
    leader.cancel()
    first, second = await asyncio.gather(*followers)
    with pytest.raises(asyncio.CancelledError):
        await leader
    # The leader's commit went ahead (it was under way): saved, and its seq taken.
    rows = stored(outbox.path)
    assert [seq for seq, _, _ in rows] == [1, 2, 3]
    assert [first.seq, second.seq] == [2, 3]
    assert (await outbox.append(move("Room 9"), user="worker-1")).seq == 4


async def test_a_caller_cancelled_while_waiting_saves_nothing_and_takes_no_seq(outbox: Outbox) -> None:
    first, waiting, last = [asyncio.ensure_future(c) for c in moves(outbox, 3)]
    await asyncio.sleep(0)  # the first commits; the others wait for the writer
    waiting.cancel()
    saved = await asyncio.gather(first, last)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert [e.seq for e in saved] == [1, 2]
    assert [id_ for _, id_, _ in stored(outbox.path)] == [e.id for e in saved]


# --- a kill -9 in the middle of group commits ---------------------------------------------

WRITER = """
import asyncio, sys
from pathlib import Path
from agent.outbox import Outbox
from canopy.events import PlantMoved

async def main(path: str) -> None:
    box = await Outbox.open(Path(path), facility="F-1", device="k-1")
    n = 0

    async def one(i: int) -> None:
        event = await box.append(PlantMoved(tag=sys.argv[2], location=f"Room {i}"), user="u")
        print(event.id, flush=True)  # acknowledged: the worker heard "saved"

    while True:
        await asyncio.gather(*(one(n + i) for i in range(8)))
        n += 8

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.timeout(120)
async def test_a_kill_9_loses_none_of_the_acknowledged_appends(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    rng = random.Random(12)
    for _ in range(5):
        writer = await start_writer(WRITER, str(path), TAG)
        assert writer.stdout is not None and writer.stderr is not None
        first = await writer.stdout.readline()
        assert first.strip(), first + await writer.stderr.read()
        await asyncio.sleep(rng.uniform(0.05, 0.5))
        os.kill(writer.pid, signal.SIGKILL)
        assert await writer.wait() == -signal.SIGKILL
        acknowledged = {line.strip().decode() for line in [first, *(await writer.stdout.read()).splitlines()]
                        if line.strip()}
        await assert_nothing_acknowledged_lost(path, acknowledged)
