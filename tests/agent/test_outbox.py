"""The kiosk outbox: durable before "saved", forward-only states, pruning, full disks."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.outbox import Outbox, OutboxFault, Settlement
from canopy.events import InvalidEvent, PlantMoved, PlantMovedEvent, PlantScanned, parse_event

TAG = "1A4FF0100000022000000123"


def read_rows(path: Path) -> list[tuple[int, str, str]]:
    """Another connection's view, as a fresh process would see it after a crash."""
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT seq, id, state FROM outbox ORDER BY seq"))


async def test_append_is_committed_before_it_returns(outbox: Outbox) -> None:
    event = await outbox.append("plant.scanned", PlantScanned(tag=TAG), user="worker-1")
    assert read_rows(outbox.path) == [(1, event.id, "pending")]
    with sqlite3.connect(outbox.path) as db:
        (payload,) = db.execute("SELECT payload FROM outbox").fetchone()
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert parse_event(payload) == event


async def test_a_payload_names_its_own_type(outbox: Outbox) -> None:
    """Flows give only the payload; the stored row and the event carry its type."""
    event = await outbox.append(PlantMoved(tag=TAG, location="Flower Room 2"), user="worker-1")
    assert isinstance(event, PlantMovedEvent)
    assert event.type == PlantMoved.type_name == "plant.moved"
    [row] = await outbox.recent(1)
    assert (row.id, row.type) == (event.id, "plant.moved")
    with sqlite3.connect(outbox.path) as db:
        (payload,) = db.execute("SELECT payload FROM outbox").fetchone()
    assert parse_event(payload) == event


async def test_pragmas_are_durable(outbox: Outbox) -> None:
    assert await outbox.call(lambda db: db.execute("PRAGMA synchronous").fetchone()) == (2,)  # FULL
    sql = await outbox.call(
        lambda db: db.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone())
    assert sql is not None
    assert "STRICT" in sql[0]


async def test_seq_is_monotonic_across_restart_and_pruning(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, facility="F-1", device="k-1")
    first = [await box.append("plant.scanned", {"tag": TAG}, user="u") for _ in range(3)]
    await box.settle([Settlement(e.id, "accepted") for e in first])
    assert await box.prune(retention_s=-1) == 3  # everything settled is old enough
    await box.close()
    box = await Outbox.open(path, facility="F-1", device="k-1")
    later = await box.append("plant.scanned", {"tag": TAG}, user="u")
    await box.close()
    assert [e.seq for e in first] == [1, 2, 3]
    assert later.seq == 4


async def test_states_only_move_forward(outbox: Outbox) -> None:
    event = await outbox.append("plant.scanned", {"tag": TAG}, user="u")
    assert await outbox.settle([Settlement(event.id, "accepted")]) == 1
    # A late "stored" ack must not undo the state's answer.
    assert await outbox.settle([Settlement(event.id, "stored")]) == 0
    assert await outbox.settle([Settlement(event.id, "pending")]) == 0
    assert (await outbox.states())[event.id] == "accepted"


async def test_rejection_keeps_the_states_message(outbox: Outbox) -> None:
    event = await outbox.append("plant.scanned", {"tag": TAG}, user="u")
    await outbox.settle([Settlement(event.id, "rejected", "Location 'Flower 9' does not exist")])
    (row,) = await outbox.recent()
    assert (row.state, row.message) == ("rejected", "Location 'Flower 9' does not exist")


async def test_backlog_counts_and_oldest(outbox: Outbox) -> None:
    a = await outbox.append("plant.scanned", {"tag": TAG}, user="u")
    await outbox.append("plant.scanned", {"tag": TAG}, user="u")
    await outbox.settle([Settlement(a.id, "stored")])
    backlog = await outbox.backlog()
    assert (backlog.pending, backlog.stored, backlog.accepted) == (1, 1, 0)
    assert backlog.oldest_age_s() is not None
    assert [r.id for r in await outbox.pending_after(0, 10)] != [a.id]


async def test_prune_keeps_unsettled_and_recent(outbox: Outbox) -> None:
    events = [await outbox.append("plant.scanned", {"tag": TAG}, user="u") for _ in range(4)]
    await outbox.settle([Settlement(events[0].id, "accepted"), Settlement(events[1].id, "rejected", "x"),
                         Settlement(events[2].id, "stored")])
    assert await outbox.prune(retention_s=3600) == 0  # settled, but not old enough
    # The rejection stays until it is fixed: it is on the kiosk's "to fix" list.
    assert await outbox.prune(retention_s=-1) == 1
    assert sorted(await outbox.states()) == sorted([events[1].id, events[2].id, events[3].id])
    assert [r.id for r in await outbox.to_fix()] == [events[1].id]
    fix = await outbox.append("record.corrected", {"reason": "Wrong plant"}, user="u", corrects=events[1].id)
    assert await outbox.to_fix() == [] and outbox.counts.to_fix == 0 and outbox.counts.rejected == 1
    await outbox.settle([Settlement(fix.id, "accepted")])
    assert await outbox.prune(retention_s=-1) == 2
    assert sorted(await outbox.states()) == sorted([events[2].id, events[3].id])


async def test_the_to_fix_list_keeps_every_rejection_however_many_records_follow(outbox: Outbox) -> None:
    first = await outbox.append("plant.scanned", {"tag": TAG}, user="u")
    await outbox.settle([Settlement(first.id, "rejected", "destroyed")])
    later = [await outbox.append("plant.scanned", {"tag": TAG}, user="u") for _ in range(40)]
    await outbox.settle([Settlement(e.id, "accepted") for e in later])
    assert first.id not in {r.id for r in await outbox.recent(30)}
    [row] = await outbox.to_fix()
    assert (row.id, row.message) == (first.id, "destroyed")
    assert outbox.counts.to_fix == 1 == (await outbox.backlog()).to_fix == (await outbox.recount()).to_fix
    assert await outbox.to_fix(0) == [] and await outbox.to_fix(5) == [row]  # the screen shows the oldest
    await outbox.append("rejection.dismissed", {"reason": "Entered by the office"}, user="boss",
                        corrects=first.id)
    assert outbox.counts.to_fix == 0 == (await outbox.backlog()).to_fix


async def test_invalid_event_is_refused_and_nothing_saved(outbox: Outbox) -> None:
    with pytest.raises(InvalidEvent, match="tag"):
        await outbox.append("plant.scanned", {"tag": "no"}, user="u")
    with pytest.raises(InvalidEvent, match="too large"):
        await outbox.append("room.counted", {"location": "R" * 100, "expected_count": 1,
                                             "scanned": [TAG] * 2000, "missing": [TAG] * 2000,
                                             "extra": [TAG] * 2000}, user="u")
    assert read_rows(outbox.path) == []
    ok = await outbox.append("plant.scanned", {"tag": TAG}, user="u")
    assert ok.seq == 1  # a refused event does not burn a seq


# --- a full or read-only disk --------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB tmpfs when we may mount one (root, as in CI); otherwise a folder
    whose database is capped with max_page_count, which raises the same SQLITE_FULL."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    ).returncode == 0
    try:
        yield mount
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _is_tmpfs(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines())


async def test_disk_full_is_a_clear_fault_and_harms_nothing(small_disk: Path) -> None:
    box = await Outbox.open(small_disk / "outbox.db", facility="F-1", device="k-1")
    if not _is_tmpfs(small_disk):
        await box.call(lambda db: db.execute("PRAGMA max_page_count = 60"))
    if _is_tmpfs(small_disk):  # eat the rest of the tmpfs so the next pages cannot be written
        filler = small_disk / "filler"
        with filler.open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
    saved = []
    with pytest.raises(OutboxFault, match="storage is full: this record was NOT saved"):
        for _ in range(100_000):
            saved.append(await box.append("plant.scanned", {"tag": TAG, "scanner": "x" * 150}, user="u"))
    states = await box.states()
    assert [e.id for e in saved] == list(states)  # everything acknowledged is there, nothing else
    next_seq = box._next_seq
    assert next_seq == len(saved) + 1  # the failed append did not burn a seq
    await box.close()
    # While the disk is still full, a restarted kiosk opens what it holds (to send it) and
    # refuses new records with the reason (tests/agent/test_storage_full.py: the whole kiosk).
    if _is_tmpfs(small_disk):
        full = await Outbox.open(small_disk / "outbox.db", facility="F-1", device="k-1")
        assert list(await full.states()) == [e.id for e in saved]
        with pytest.raises(OutboxFault, match="storage is full: this record was NOT saved"):
            await full.append("plant.scanned", {"tag": TAG}, user="u")
        await full.close()
        (small_disk / "filler").unlink()  # IT frees space
    reopened = await Outbox.open(small_disk / "outbox.db", facility="F-1", device="k-1")
    assert list(await reopened.states()) == [e.id for e in saved]
    await reopened.close()


async def test_read_only_disk_is_a_clear_fault(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, facility="F-1", device="k-1")
    kept = await box.append("plant.scanned", {"tag": TAG}, user="u")
    await box.close()
    # The disk went read-only under us (an SD card protecting itself does this):
    # open the same file the way SQLite sees a read-only medium.
    box = await Outbox.open(path, facility="F-1", device="k-1")
    await box.call(lambda db: db.close())
    box._db = await box._run(
        lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None))
    with pytest.raises(OutboxFault, match="read-only: this record was NOT saved"):
        await box.append("plant.scanned", {"tag": TAG}, user="u")
    await box.close()
    again = await Outbox.open(path, facility="F-1", device="k-1")
    assert list(await again.states()) == [kept.id]
    await again.close()


async def test_unopenable_outbox_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutboxFault, match="cannot be opened"):
        await Outbox.open(blocker / "outbox.db", facility="F", device="k")


async def test_damaged_outbox_is_not_silently_replaced(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    path.write_bytes(b"SQLite format 3\0" + uuid.uuid4().bytes * 300)
    with pytest.raises(OutboxFault, match=r"call IT|Call IT"):
        await Outbox.open(path, facility="F", device="k")
    assert path.exists()


async def test_closed_outbox_refuses_instead_of_waiting(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "outbox.db", facility="F-1", device="k-1")
    await box.close()
    await box.close()  # twice is harmless
    with pytest.raises(OutboxFault, match="this record was NOT saved"):
        await box.append("plant.scanned", {"tag": TAG}, user="u")


async def test_an_outbox_from_before_the_to_fix_list_keeps_its_corrections(tmp_path: Path) -> None:
    """A kiosk upgraded from schema v2: rejections it corrected then are not to fix again."""
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, facility="CA-TEST-0001", device="kiosk-01")
    first = await box.append("plant.scanned", {"tag": TAG}, user="u")
    second = await box.append("plant.scanned", {"tag": TAG}, user="u")
    await box.settle([Settlement(first.id, "rejected", "x"), Settlement(second.id, "rejected", "y")])
    await box.append("record.corrected", {"reason": "Wrong plant"}, user="u", corrects=first.id)
    await box.close()
    with sqlite3.connect(path) as db:  # as a v2 kiosk left it: no list of what was fixed
        db.execute("DROP TABLE outbox_fixed")
        db.execute("PRAGMA user_version = 2")
    box = await Outbox.open(path, facility="CA-TEST-0001", device="kiosk-01")
    try:
        assert [r.id for r in await box.to_fix()] == [second.id]
        assert box.counts.to_fix == 1
    finally:
        await box.close()
