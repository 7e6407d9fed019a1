"""Outbox benchmark: a scan's path with a month-deep outbox, the outbox's own cost, pruning.

    .venv/bin/python bench/outbox.py [--sizes 0,100000,1000000] [--scans 300] [--appends 2000]

Prints one JSON object:

- ``scan_to_durable_ms`` for each outbox size (rows already in the file when the
  kiosk starts): a whole kiosk agent (``agent.testing.KioskRig``: simulated
  scanner, scale, printer and GPIO, its status loop and pruning running, no
  broker so every new scan stays unsent), a signed-in worker moving plants one
  scan at a time; from the scan leaving the scanner driver (``Scan.monotonic_ns``)
  to the outbox append returning (committed, fsynced). Targets: p99 <= 20 ms at
  every size, and p99 at the largest size / p99 empty <= 1.3;
- ``append``: our append rate (a flow's payload, validated, one fsync each) and
  raw SQLite commits with the same pragmas (WAL, ``synchronous=FULL``, one INSERT
  per commit, the same payload bytes), measured in alternating rounds in the
  same run so both see the same disk; target ratio >= 0.8. ``commits``: how
  many the outbox made on the loop (its disk quick) and in its thread, and
  the longest the loop waited for one;
- ``append_concurrent``: the same with 2 and 4 callers appending at once (each
  awaiting its own appends in turn), against raw one-row commits: appends asked
  during a commit share the next one (``rows_per_commit``);
- ``prune``: 100,000 settled rows past the retention pruned while a worker keeps
  scanning (one append every 5 ms): the longest one batch held the writer, and
  the append latency during the prune.

The bulk rows are written straight into the outbox's own schema in one
transaction (its triggers keep the counts), 30 days of a busy kiosk: mostly
accepted, some rejected, stored and unsent, and flushed to the disk before the
kiosk starts. Figures are never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent import outbox as outbox_module  # noqa: E402
from agent import outbox_db  # noqa: E402
from agent.demo import flower_room_1  # noqa: E402
from agent.outbox import Outbox  # noqa: E402
from agent.outbox_db import SCHEMA, SCHEMA_VERSION  # noqa: E402
from agent.testing import KioskRig  # noqa: E402
from canopy.events import PlantMoved, build_event  # noqa: E402
from drivers.scanner import Scan  # noqa: E402

FACILITY, DEVICE = "CA-DEMO-0001", "kiosk-01"  # KioskRig's kiosk
TAG = "1A4FF0100000022000000123"
DAY_MS = 86_400_000
MIX = {"accepted": 90, "rejected": 2, "stored": 3, "pending": 5}  # a month of a busy kiosk


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": round(percentile(values, 50), 2),
            "p99": round(percentile(values, 99), 2), "max": round(max(values), 2)}


# --- bulk rows -------------------------------------------------------------------------


def _fake_uuid7(ms: int, n: int) -> str:
    """A well-formed UUIDv7 text without the randomness (fast: a million in a second)."""
    return (f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7{(n >> 48) & 0xFFF:03x}-"
            f"{0x8000 | ((n >> 32) & 0x3FFF):04x}-{n & 0xFFFFFFFFFFFF:012x}")


def fill_outbox(path: Path, count: int, *, past_retention: bool = False) -> float:
    """``count`` rows of realistic size (a real plant.moved event's bytes, each its own id)
    in one transaction; returns the seconds it took. ``past_retention``: all settled, 60 days old."""
    t0 = time.perf_counter()
    template_id = _fake_uuid7(0, 0)
    template = build_event("plant.moved", {"tag": TAG, "location": "Flower Room 2"},

                           id=template_id, facility=FACILITY, device=DEVICE, user="worker-1",
                           at=datetime.now(UTC), seq=1).to_json().decode()
    now = time.time_ns() // 1_000_000
    rng = random.Random(count)
    if past_retention:
        states = rng.choices(["accepted", "rejected"], [95, 5], k=count)
    else:
        states = rng.choices(list(MIX), list(MIX.values()), k=count)
    span = 29 * DAY_MS  # inside the 30-day retention: the agent's pruning leaves them
    start = now - (60 * DAY_MS if past_retention else span)

    def rows() -> Any:
        for seq in range(1, count + 1):
            at = start + span * seq // max(count, 1)
            event_id = _fake_uuid7(at, seq)
            yield (seq, event_id, "plant.moved", template.replace(template_id, event_id).encode(),
                   at, states[seq - 1], at)

    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # as Outbox.open makes the file
        # Setup only: no journal while loading (each page written once), WAL afterwards.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("BEGIN")
        db.executemany("INSERT INTO outbox (seq, id, type, payload, created, state, changed)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", rows())
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = WAL")
    db.close()
    # A month-old outbox is on the disk, not dirty in the page cache: without this the
    # kernel writes the fill back while the scans run, and their fsyncs wait for it.
    for name in (path, path.parent):
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return time.perf_counter() - t0


# --- scan -> durable at each size ------------------------------------------------------


async def scan_to_durable(folder: Path, rows: int, scans: int) -> dict[str, Any]:
    state = folder / "kiosk" / "state"
    state.mkdir(parents=True)
    fill_s = fill_outbox(state / "outbox.db", rows) if rows else 0.0
    durable: list[float] = []
    async with KioskRig(folder / "kiosk") as rig:  # no broker: every new scan stays unsent
        kiosk = rig.kiosk
        done: dict[str, int] = {}
        on_scan, append = kiosk.on_scan, rig.outbox.append

        # Instrument the two ends without touching the product code paths.
        async def timed_append(*args: Any, **kwargs: Any) -> Any:
            event = await append(*args, **kwargs)
            done["at"] = time.monotonic_ns()
            return event

        async def timed_scan(scan: Scan) -> Any:
            done.pop("at", None)
            outcome = await on_scan(scan)
            if "at" in done:
                durable.append((done["at"] - scan.monotonic_ns) / 1e6)
            return outcome

        rig.outbox.append = timed_append  # type: ignore[method-assign]
        kiosk.on_scan = timed_scan  # type: ignore[method-assign]
        async def scan(code: str) -> dict[str, Any]:
            """The kiosk's answer; if the agent died instead, why (not a silent wait)."""
            assert rig._task is not None
            answer = asyncio.ensure_future(rig.scan(code))
            await asyncio.wait([answer, rig._task], timeout=60, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done():
                answer.cancel()
                if rig._task.done():
                    rig._task.result()  # raises what stopped the agent
                raise TimeoutError(f"no answer to the scan of {code} in 60 s")
            return answer.result()

        await rig.sign_in()
        await rig.act("go", screen="move")
        plants, rooms = flower_room_1(), ("Flower Room 2", "Flower Room 1")
        i = 0
        while len(durable) < scans:
            if i % len(plants) == 0:
                await scan(rooms[(i // len(plants)) % 2])
            answer = await scan(plants[i % len(plants)])
            assert answer["ok"], answer
            i += 1
            await asyncio.sleep(0.02)  # a brisk worker; the status loop ticks in between
        counts = rig.outbox.counts
    return {"rows": rows, "fill_s": round(fill_s, 1),
            "rows_after": counts.pending + counts.stored + counts.accepted + counts.rejected,
            **summary(durable[-scans:])}


# --- append rate vs raw SQLite ---------------------------------------------------------


def where_committed(box: Outbox) -> dict[str, Any]:
    """Where the outbox made its commits (on the loop when the disk is quick, else in its
    thread), and the longest the loop waited for one."""
    c = box.commits
    return {"on_loop": c.on_loop, "in_thread": c.in_thread,
            "longest_on_loop_ms": round(c.longest_on_loop_ms, 3)}


def raw_connection(path: Path, schema: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.executescript(schema)
    return db


# bench/pipeline.py's reference table (the 0.37 was measured against it).
RAW_TABLE = ("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
             " payload BLOB NOT NULL) STRICT")


RAW_OUTBOX_INSERT = ("INSERT INTO outbox (seq, id, type, payload, created, changed)"
                     " VALUES (?, ?, 'plant.moved', ?, ?, ?)")


def raw_insert(row: tuple[int, str, bytes, int, int], db: sqlite3.Connection) -> None:
    db.execute(RAW_OUTBOX_INSERT, row)


async def append_rate(folder: Path, count: int, rounds: int = 10) -> dict[str, Any]:
    """Alternating rounds of ours and raw, so a noisy disk hurts both alike. Raw three times:
    into pipeline.py's plain table, into the outbox's own schema, and into that schema from a
    thread like the outbox's (each INSERT one hand-off): what the hand-off costs, and our Python."""
    box = await Outbox.open(folder / "append.db", facility=FACILITY, device=DEVICE)
    raw = raw_connection(folder / "raw.db", RAW_TABLE)
    same = raw_connection(folder / "raw-schema.db", SCHEMA)
    # Another outbox's own thread and connection (same pragmas and schema), given raw INSERTs.
    via = await Outbox.open(folder / "raw-via-thread.db", facility=FACILITY, device=DEVICE)
    via_s = 0.0
    data = PlantMoved(tag=TAG, location="Flower Room 2")
    payload = b""
    ours_s = raw_s = same_s = 0.0
    latencies: list[float] = []
    raw_latencies: list[float] = []
    n = 0
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            t = time.perf_counter()
            event = await box.append("plant.moved", data, user="worker-1")
            latencies.append((time.perf_counter() - t) * 1000)
        ours_s += time.perf_counter() - t0
        payload = payload or event.to_json()
        t0 = time.perf_counter()
        for _ in range(per_round):
            n += 1
            t = time.perf_counter()
            raw.execute("INSERT INTO t (id, payload) VALUES (?, ?)", (str(n), payload))
            raw_latencies.append((time.perf_counter() - t) * 1000)
        raw_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(per_round):
            n += 1
            same.execute(RAW_OUTBOX_INSERT, (n, str(n), payload, n, n))
        same_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(per_round):
            n += 1
            await via.call(functools.partial(raw_insert, (n, str(n), payload, n, n)))
        via_s += time.perf_counter() - t0
    commits = where_committed(box)
    await box.close()
    await via.close()
    raw.close()
    same.close()
    total = per_round * rounds
    ours, theirs, schema, handed = total / ours_s, total / raw_s, total / same_s, total / via_s
    return {"appends": total, "outbox_appends_per_s": round(ours, 1),
            "raw_sqlite_commits_per_s": round(theirs, 1),
            "append_vs_raw_sqlite": round(ours / theirs, 3),
            "raw_into_outbox_schema_per_s": round(schema, 1),
            "append_vs_raw_into_outbox_schema": round(ours / schema, 3),
            "raw_via_thread_per_s": round(handed, 1),
            "append_vs_raw_via_thread": round(ours / handed, 3),
            "append_latency_ms": summary(latencies),
            "raw_commit_latency_ms": summary(raw_latencies), "commits": commits}


async def concurrent_append_rate(folder: Path, count: int, writers: int, rounds: int = 10,
                                 ) -> dict[str, Any]:
    """``writers`` callers appending at once, each awaiting its own appends one after another
    (a scanner and a scale, ...): appends asked during a commit share the next one (group
    commit). Alternating rounds with raw SQLite's one-row commits, as ``append_rate``."""
    box = await Outbox.open(folder / f"concurrent-{writers}.db", facility=FACILITY, device=DEVICE)
    raw = raw_connection(folder / f"raw-concurrent-{writers}.db", RAW_TABLE)
    commits: list[int] = []
    real_insert = outbox_db.insert

    def counted(db: sqlite3.Connection, rows: list[Any], fixes: list[Any]) -> Any:
        commits.append(len(rows))
        return real_insert(db, rows, fixes)

    outbox_module.insert = counted  # type: ignore[attr-defined]  # counts trips (commits); undone below
    data = PlantMoved(tag=TAG, location="Flower Room 2")
    payload = b""
    latencies: list[float] = []
    ours_s = raw_s = 0.0
    each = max(1, count // rounds // writers)
    n = 0

    async def writer() -> bytes:
        event = None
        for _ in range(each):
            t = time.perf_counter()
            event = await box.append("plant.moved", data, user="worker-1")
            latencies.append((time.perf_counter() - t) * 1000)
        assert event is not None
        return event.to_json()

    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            payload = (await asyncio.gather(*(writer() for _ in range(writers))))[0]
            ours_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in range(each * writers):
                n += 1
                raw.execute("INSERT INTO t (id, payload) VALUES (?, ?)", (str(n), payload))
            raw_s += time.perf_counter() - t0
    finally:
        outbox_module.insert = real_insert  # type: ignore[attr-defined]
        where = where_committed(box)
        await box.close()
        raw.close()
    total = each * writers * rounds
    ours, theirs = total / ours_s, total / raw_s
    return {"writers": writers, "appends": total, "outbox_appends_per_s": round(ours, 1),
            "raw_sqlite_commits_per_s": round(theirs, 1), "append_vs_raw_sqlite": round(ours / theirs, 3),
            "rows_per_commit": round(total / len(commits), 2), "append_latency_ms": summary(latencies),
            "commits": where}


# --- pruning while scanning ------------------------------------------------------------


async def prune_while_scanning(folder: Path, rows: int) -> dict[str, Any]:
    path = folder / "prune.db"
    fill_s = fill_outbox(path, rows, past_retention=True)
    box = await Outbox.open(path, facility=FACILITY, device=DEVICE)
    latencies: list[float] = []
    stop = asyncio.Event()
    data = PlantMoved(tag=TAG, location="Flower Room 2")

    async def worker() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await box.append("plant.moved", data, user="worker-1")
            latencies.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.005)

    scanning = asyncio.create_task(worker())
    t0 = time.perf_counter()
    removed = await box.prune(30 * 86400)
    elapsed = time.perf_counter() - t0
    stop.set()
    await scanning
    report = box.last_prune
    await box.close()
    return {"rows": rows, "fill_s": round(fill_s, 1), "pruned": removed, "batches": report.batches,
            "seconds": round(elapsed, 2), "max_batch_hold_ms": report.max_hold_ms,
            "max_batch_work_ms": report.max_work_ms, "median_batch_hold_ms": report.median_hold_ms,
            "append_during_prune_ms": summary(latencies)}


async def to_fix_read(folder: Path, rows: int, reads: int = 20) -> dict[str, Any]:
    """The Records screen's "to fix" list (the oldest 100 rejections) and its kept count,
    read from an outbox of ``rows`` rows in the usual mix (a few per cent rejected)."""
    path = folder / "to-fix" / "outbox.db"
    path.parent.mkdir(parents=True)
    fill_outbox(path, rows)
    box = await Outbox.open(path, facility=FACILITY, device=DEVICE)
    try:
        times = []
        for _ in range(reads):
            t0 = time.perf_counter()
            shown = await box.to_fix(100)
            times.append((time.perf_counter() - t0) * 1000)
        return {"rows": rows, "to_fix": box.counts.to_fix, "shown": len(shown), "read_ms": summary(times)}
    finally:
        await box.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,100000,1000000")
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--prune-rows", type=int, default=100_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    result: dict[str, Any] = {"bench": "outbox"}
    with tempfile.TemporaryDirectory(prefix="canopy-bench-outbox-", dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        result["scan_to_durable_ms"] = {
            str(rows): asyncio.run(scan_to_durable(folder / f"size-{rows}", rows, args.scans))
            for rows in sizes
        }
        p99 = {rows: result["scan_to_durable_ms"][str(rows)]["p99"] for rows in sizes}
        result["p99_largest_vs_empty"] = round(p99[max(sizes)] / p99[min(sizes)], 3)
        result["append"] = asyncio.run(append_rate(folder, args.appends))
        result["append_concurrent"] = [asyncio.run(concurrent_append_rate(folder, args.appends, w))
                                       for w in (2, 4)]
        result["prune"] = asyncio.run(prune_while_scanning(folder, args.prune_rows))
        result["to_fix_list"] = asyncio.run(to_fix_read(folder, max(sizes)))
    result["targets"] = {"scan_to_durable_p99_ms": "<= 20 at every size",
                         "p99_largest_vs_empty": "<= 1.3", "append_vs_raw_sqlite": ">= 0.8",
                         "max_batch_hold_ms": "a few ms"}
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "system": platform.platform()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
