"""The ledger at seven years: fill it like a real operator's, then time every report.

    .venv/bin/python bench/ledger.py [--events 10000000] [--ledger sqlite|postgres|both]
                                    [--dsn postgresql://…] [--keep PATH]

Prints one JSON object per ledger:

- ``fill``: how the ledger was filled (events, facilities, years, seconds, events/s through
  ``Ledger.store``: the ingest path itself, in batches as ingest commits them);
- ``reports``: p50/p99 (ms) of each report a compliance manager runs (activity of one tag,
  rejections of one facility, outages of one facility), each over many random keys, and of
  the submitter's selection of the next batch (``to_submit``), which must not slow with
  ledger size (target for every report: p99 <= 50 ms at 10,000,000 rows).

The generator (``fill``) is importable: tests and other benchmarks use it for a
ledger of realistic shape: 20 facilities, 7 years, a kiosk per room, plants that
are scanned, moved, flowered, harvested and destroyed, about 2 % rejected with
the state's words, outages every few weeks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.ledger import Answer, IncomingEvent, Ledger, open_ledger  # noqa: E402
from canopy.events import format_utc  # noqa: E402
from canopy.ids import uuid7  # noqa: E402

START = datetime(2019, 12, 1, tzinfo=UTC)
YEARS = 7
BATCH = 2000  # events per store(): what ingest commits at once under load

# (type, share of all events, tag fields) - the shape of a cultivator's year.
MIX: tuple[tuple[str, float], ...] = (
    ("plant.scanned", 0.30), ("plant.moved", 0.25), ("plant.phase_changed", 0.08),
    ("plant.harvested", 0.10), ("harvest.waste", 0.04), ("plant.destroyed", 0.03),
    ("label.printed", 0.10), ("package.created", 0.03), ("package.adjusted", 0.02),
    ("room.counted", 0.01), ("scale.checked", 0.02), ("record.corrected", 0.02),
)
WORKERS = tuple(f"w-{n:03d}" for n in range(40))
REJECTIONS = (
    "Plant Tag 1A4FF0100000022000012345 is not active.",
    "ActualDate 2026-12-07 is in the future.",
    "The location Flower Room 9 does not exist.",
    "Harvest batch name already in use.",
)


@dataclass(frozen=True)
class Shape:
    events: int
    facilities: int = 20
    years: int = YEARS
    kiosks: int = 6
    plants: int = 50_000  # tags in use per facility over the years


def facility_name(n: int) -> str:
    return f"CA-LIC-{n:04d}"


def tag_for(facility: int, n: int) -> str:
    return f"1A4FF{facility:04d}{n:015d}"


def _payload(event_id: str, type_: str, facility: str, device: str, seq: int, at: str,
             user: str, tag: str) -> bytes:
    # The wire shape of a stored event; the reports read the columns, and a real
    # event's bytes are about this size.
    return (
        f'{{"id":"{event_id}","v":1,"facility":"{facility}","device":"{device}","user":"{user}",'
        f'"at":"{at}","seq":{seq},"type":"{type_}","data":{{"tag":"{tag}","location":"Flower Room 1",'
        '"weight":{"value":"812.4","unit":"g","scale_id":"SCALE-1","stable":true,"raw":"S S 812.4 g"}}}'
    ).encode()


@dataclass(frozen=True)
class Drawn:
    """One event as the generator drew it, for a ``make`` that builds its own record."""

    id: str
    type: str
    facility: str
    device: str
    seq: int
    at: str
    user: str
    tag: str
    rng: random.Random


async def fill(ledger: Ledger, shape: Shape, *, seed: int = 7,
               progress: Callable[[int], None] | None = None,
               make: Callable[[Drawn], IncomingEvent] | None = None) -> dict[str, Any]:
    """Store ``shape.events`` events through ``Ledger.store``, settle them, add outages.

    ``make`` builds each stored event from what was drawn (bench/registers.py: real
    contract events with every field a register reads); by default a compact payload."""
    rng = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    span_ms = shape.years * 365 * 86_400_000
    start_ms = int(START.timestamp() * 1000)
    seqs: dict[tuple[int, int], int] = {}
    started = time.perf_counter()
    done = 0
    rejected = 0
    while done < shape.events:
        n = min(BATCH, shape.events - done)
        # Time moves forward batch by batch, as the years do.
        base = start_ms + span_ms * done // shape.events
        batch: list[IncomingEvent] = []
        for i in range(n):
            f, k = rng.randrange(shape.facilities), rng.randrange(shape.kiosks)
            seq = seqs[(f, k)] = seqs.get((f, k), 0) + 1
            type_ = rng.choices(types, weights)[0]
            tag = tag_for(f, rng.randrange(shape.plants))
            at = format_utc(datetime.fromtimestamp((base + i * 37) / 1000, UTC))
            facility, device, event_id = facility_name(f), f"kiosk-{k:02d}", uuid7()
            user = rng.choice(WORKERS)
            if make is not None:
                batch.append(make(Drawn(event_id, type_, facility, device, seq, at, user, tag, rng)))
                continue
            batch.append(IncomingEvent(event_id, facility, device, seq, type_, at,
                                       _payload(event_id, type_, facility, device, seq, at,
                                                user, tag), f" {tag} "))
        await ledger.store(batch, [])
        answers = []
        for e in batch:
            if rng.random() < 0.02:
                rejected += 1
                answers.append(Answer(e.id, "rejected", rng.choice(REJECTIONS)))
            else:
                answers.append(Answer(e.id, "accepted", ""))
        # The newest day stays unsettled: what the submitter selects from.
        if done + n < shape.events - 2 * BATCH:
            await ledger.settle(answers)
        done += n
        if progress is not None:
            progress(done)
    outages = 0
    for f in range(shape.facilities):
        for _ in range(shape.years * 12):  # about one a month, hours long
            await ledger.outage_begins(facility_name(f), "state system timed out")
            await ledger.outage_ends(facility_name(f))
            outages += 1
    seconds = time.perf_counter() - started
    return {"events": shape.events, "facilities": shape.facilities, "years": shape.years,
            "rejected": rejected, "outages": outages, "seconds": round(seconds, 1),
            "events_per_s": round(shape.events / seconds)}


async def _timed(samples: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2)}


async def time_reports(ledger: Ledger, shape: Shape, samples: int = 200) -> dict[str, Any]:
    rng = random.Random(11)

    def tag() -> str:
        return tag_for(rng.randrange(shape.facilities), rng.randrange(shape.plants))

    def facility() -> str:
        return facility_name(rng.randrange(shape.facilities))

    return {
        "activity_per_tag": await _timed(samples, lambda: ledger.activity(tag())),
        "rejections_per_facility": await _timed(max(10, samples // 10),
                                                lambda: ledger.rejections(facility())),
        "outages_per_facility": await _timed(samples, lambda: ledger.outages(facility())),
        "next_batch_to_submit": await _timed(samples, lambda: ledger.to_submit(facility(), 100)),
    }


async def run_one(url: str, shape: Shape) -> dict[str, Any]:
    ledger = await open_ledger(url)
    try:
        last = [0.0]

        def progress(done: int) -> None:
            if time.monotonic() - last[0] > 30:
                last[0] = time.monotonic()
                print(f"  {done:,} events stored", file=sys.stderr)

        filled = await fill(ledger, shape, progress=progress)
        if url.startswith("postgres"):
            # A ledger years old has been analysed by autovacuum many times; one just
            # bulk-filled has not, and psycopg's prepared (generic) plans would then be
            # chosen from empty statistics. Measure the ledger as it will be.
            import psycopg

            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("ANALYZE")
        reports = await time_reports(ledger, shape)
    finally:
        await ledger.close()
    return {"ledger": url.split(":", 1)[0], "fill": filled, "reports": reports}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--ledger", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--dsn", default=os.environ.get(
        "CANOPY_BENCH_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", type=Path, help="keep the SQLite ledger at this path")
    args = parser.parse_args()
    shape = Shape(events=args.events)
    out: list[dict[str, Any]] = []
    if args.ledger in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.keep or Path(tmp) / "ledger.db"
            out.append(await run_one(f"sqlite:///{path}", shape))
    if args.ledger in ("postgres", "both"):
        out.append(await run_postgres(args.dsn, shape))
    print(json.dumps(out, indent=2))


async def run_postgres(admin_dsn: str, shape: Shape) -> dict[str, Any]:
    import psycopg

    name = f"canopy_bench_{int(time.time())}"
    async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await run_one(f"{admin_dsn.rsplit('/', 1)[0]}/{name}", shape)
    finally:
        async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
