"""The ledger at seven years: fill it like a real operator's, then time every report.

    .venv/bin/python bench/ledger.py [--events 10000000] [--ledger sqlite|postgres|both]
                                    [--dsn postgresql://…] [--keep PATH] [--url LEDGER]

Prints one JSON object per ledger:

- ``fill``: how the ledger was filled (events, facilities, years, seconds, events/s through
  ``Ledger.store``: the ingest path itself, in batches as ingest commits them);
- ``reports``: p50/p99 (ms) of each report a compliance manager runs (activity of one tag,
  rejections of one facility, outages of one facility), each over many random keys, and of
  the submitter's selection of the next batch (``to_submit``), which must not slow with
  ledger size (target for every report: p99 <= 50 ms at 10,000,000 rows).

The generator (``draw``, batch by batch, and ``fill``, which stores its batches) is
importable: tests and other benchmarks use it for a ledger of realistic shape: 20
facilities, 7 years, a kiosk per room, plants that are scanned, moved, flowered,
harvested and destroyed, about 2 % rejected with the state's words, an outage of a few
hours about once a month per facility. bench/bulk.py writes the same events in bulk
(10,000,000 in minutes, not hours); ``--url`` then times the reports of such a ledger.
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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.ingest import worker_key  # noqa: E402
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
    start: datetime = START  # the first event's time (later: events added to a ledger filled earlier)


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


@dataclass(frozen=True)
class Batch:
    """What ingest stores at once, and the state's verdicts on it (none: the newest
    events, still waiting for the state, what the submitter selects from)."""

    events: list[IncomingEvent]
    at_ms: list[int]  # when each was recorded (unix ms), for a loader that sets ``received``
    answers: list[Answer]


@dataclass(frozen=True)
class OutageSpan:
    facility: str
    started: int  # unix ms
    ended: int
    cause: str = "state system timed out"


def _compact(d: Drawn) -> IncomingEvent:
    """The default record: a compact payload, indexed by its tag and its worker as ingest would."""
    return IncomingEvent(d.id, d.facility, d.device, d.seq, d.type, d.at,
                         _payload(d.id, d.type, d.facility, d.device, d.seq, d.at, d.user, d.tag),
                         f" {d.tag} ", (worker_key(d.facility, d.user),))


def draw(shape: Shape, *, seed: int = 7, make: Callable[[Drawn], IncomingEvent] | None = None,
         facilities: Sequence[int] | None = None) -> Iterator[Batch]:
    """The ledger's events, batch by batch as ingest stores them, oldest first (the same
    events for the same seed, but for their ids). ``make`` builds each stored event from
    what was drawn (bench/registers.py: real contract events with every field a register
    reads); by default a compact payload. ``facilities``: only these facilities' share of
    ``shape.events`` (each facility's events and chain stand alone, so processes can each
    draw some of them)."""
    rng = random.Random(seed)
    places = list(range(shape.facilities)) if facilities is None else list(facilities)
    total = shape.events * len(places) // shape.facilities
    build = make or _compact
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    span_ms = shape.years * 365 * 86_400_000
    start_ms = int(shape.start.timestamp() * 1000)
    seqs: dict[tuple[int, int], int] = {}
    done = 0
    while done < total:
        n = min(BATCH, total - done)
        # Time moves forward batch by batch, as the years do.
        base = start_ms + span_ms * done // total
        events: list[IncomingEvent] = []
        times: list[int] = []
        for i in range(n):
            f, k = rng.choice(places), rng.randrange(shape.kiosks)
            seq = seqs[(f, k)] = seqs.get((f, k), 0) + 1
            type_ = rng.choices(types, weights)[0]
            tag = tag_for(f, rng.randrange(shape.plants))
            times.append(base + i * 37)
            at = format_utc(datetime.fromtimestamp(times[-1] / 1000, UTC))
            events.append(build(Drawn(uuid7(), type_, facility_name(f), f"kiosk-{k:02d}", seq, at,
                                      rng.choice(WORKERS), tag, rng)))
        answers = [Answer(e.id, "rejected", rng.choice(REJECTIONS)) if rng.random() < 0.02
                   else Answer(e.id, "accepted", "") for e in events]
        # The newest day stays unsettled: what the submitter selects from.
        done += n
        yield Batch(events, times, answers if done < total - 2 * BATCH else [])


def outage_spans(shape: Shape, *, seed: int = 7) -> list[OutageSpan]:
    """About one loss of access a month per facility, one to eight hours long."""
    rng = random.Random(seed)
    start_ms, month = int(shape.start.timestamp() * 1000), 30 * 86_400_000
    spans = []
    for f in range(shape.facilities):
        for m in range(shape.years * 12):
            began = start_ms + m * month + rng.randrange(month - 86_400_000)
            spans.append(OutageSpan(facility_name(f), began, began + rng.randrange(3_600_000, 8 * 3_600_000)))
    return spans


def _at(ms: int) -> Callable[[], int]:
    return lambda: ms


async def fill(ledger: Ledger, shape: Shape, *, seed: int = 7,
               progress: Callable[[int], None] | None = None,
               make: Callable[[Drawn], IncomingEvent] | None = None,
               batches: Iterable[Batch] | None = None) -> dict[str, Any]:
    """Store the drawn events (or ``batches``) through ``Ledger.store`` as ingest does,
    settle them and tell their kiosks (``mark_answered``), and add the outages."""
    started = time.perf_counter()
    done, rejected = 0, 0
    for batch in batches if batches is not None else draw(shape, seed=seed, make=make):
        await ledger.store(batch.events, [])
        if batch.answers:
            await ledger.settle(batch.answers)
            await ledger.mark_answered([a.id for a in batch.answers])
        rejected += sum(a.status == "rejected" for a in batch.answers)
        done += len(batch.events)
        if progress is not None:
            progress(done)
    spans = outage_spans(shape, seed=seed)
    wall = ledger.clock
    try:
        for span in spans:  # at the times they happened: the ledger's clock set to each
            ledger.clock = _at(span.started)
            await ledger.outage_begins(span.facility, span.cause)
            ledger.clock = _at(span.ended)
            await ledger.outage_ends(span.facility)
    finally:
        ledger.clock = wall
    seconds = time.perf_counter() - started
    return {"events": done, "facilities": shape.facilities, "years": shape.years,
            "rejected": rejected, "outages": len(spans), "seconds": round(seconds, 1),
            "events_per_s": round(done / seconds)}


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
    parser.add_argument("--url", help="only time the reports of this ledger, filled earlier (bench/bulk.py)")
    args = parser.parse_args()
    shape = Shape(events=args.events)
    out: list[dict[str, Any]] = []
    if args.url:
        ledger = await open_ledger(args.url)
        try:
            filled = {"reused": args.url.split("@")[-1], "events": (await ledger.counts()).events}
            out.append({"ledger": args.url.split(":", 1)[0], "fill": filled,
                        "reports": await time_reports(ledger, shape)})
        finally:
            await ledger.close()
    elif args.ledger in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.keep or Path(tmp) / "ledger.db"
            out.append(await run_one(f"sqlite:///{path}", shape))
    if not args.url and args.ledger in ("postgres", "both"):
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
