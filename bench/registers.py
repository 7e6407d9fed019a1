"""Every register and activity lookup an inspector or the console asks for, timed at size.

    .venv/bin/python bench/registers.py [--events 100000] [--ledger sqlite|postgres|both]
                                       [--samples 30] [--dsn postgresql://…] [--keep PATH]
                                       [--processes N] [--url LEDGER]

``--events 10000000`` is the issue's size (seven years of 20 facilities); the default is
small so the bench runs in a few minutes. ``--keep PATH`` keeps the SQLite ledger and
reuses it if it is already there; ``--url`` times a ledger filled earlier with
bench/bulk.py (the fill done once for this bench and bench/console.py).

The ledger is filled in bulk (bench/bulk.py) with bench/ledger.py's events (``draw``: 20 facilities, 7 years,
its mix of records, ~2 % rejected, the newest day waiting), each event made here a
real contract event (``canopy.events.build_event``) with every field a register reads:
reason, method, mixed material, weight and scale, witness, harvest batch, cure, roll of
tags, scale check, correction of an earlier record; indexed by ingest's own keys
(``mentioned_tags``, ``mentioned_names``: tags, batch names, worker, kiosk).

Prints JSON, one object per ledger: ``fill`` and p50/p95/p99 ms of each register for
one random facility over all its history and over one random month (``--since`` /
``--until``), and of activity lookups (tag, harvest batch, worker, kiosk). Target:
p99 <= 50 ms for a month's register and a tag's or batch's activity.
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
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk import bulk_fill, every  # noqa: E402
from bench.ledger import START, WORKERS, YEARS, Drawn, Shape, facility_name, tag_for  # noqa: E402
from bridge.ingest import mentioned_names, mentioned_tags  # noqa: E402
from bridge.ledger import IncomingEvent, Ledger, open_ledger  # noqa: E402
from bridge.reports import REGISTERS, Clock, Period, activity  # noqa: E402
from canopy.events import build_event  # noqa: E402

ZONE = "America/Los_Angeles"
REASONS = ("Pest infestation", "Male plants", "Mold", "Damaged")
WASTE_TYPES = ("Stems", "Leaves", "Roots")


def harvest_name(facility: str, at: str) -> str:
    """One harvest batch per facility and month, as a cultivator names them."""
    return f"{at[:7]} {facility[-4:]} Dry Room"


def weight(rng: random.Random, low: float, high: float) -> dict[str, Any]:
    return {"value": f"{rng.uniform(low, high):.1f}", "unit": "g", "scale_id": "SCALE-1", "stable": True,
            "raw": "S S     812.4 g"}


class Maker:
    """Builds each drawn event as the kiosk would have recorded it."""

    def __init__(self) -> None:
        self.recent: dict[str, str] = {}  # facility -> its latest event, what a correction corrects

    def data(self, d: Drawn) -> tuple[str, dict[str, Any], dict[str, Any]]:
        rng, tag = d.rng, d.tag
        witness = {"witness": WORKERS[(WORKERS.index(d.user) + 1) % len(WORKERS)]}
        harvest = harvest_name(d.facility, d.at)
        table: dict[str, Callable[[], tuple[str, dict[str, Any], dict[str, Any]]]] = {
            "plant.scanned": lambda: (d.type, {"tag": tag, "location": "Flower Room 1"}, {}),
            "plant.moved": lambda: (d.type, {"tag": tag, "location": "Flower Room 2"}, {}),
            "plant.phase_changed": lambda: (
                d.type, {"tag": tag, "phase": "Flowering", "location": "Flower Room 1",
                         **({"new_tag": tag[:-1] + "9"} if rng.random() < 0.1 else {})}, {}),
            # A fifth of the harvest-side records are cures: dry weight of a harvested plant.
            "plant.harvested": lambda: (
                ("plant.cured", {"tag": tag, "location": "Vault", "weight": weight(rng, 80, 200)}, {})
                if rng.random() < 0.2 else
                (d.type, {"tag": tag, "harvest_name": harvest, "drying_location": "Dry Room",
                          "weight": weight(rng, 400, 1200)}, {})),
            "harvest.waste": lambda: (
                d.type, {"harvest_name": harvest, "waste_type": rng.choice(WASTE_TYPES),
                         "weight": weight(rng, 50, 900)}, witness),
            "plant.destroyed": lambda: (
                d.type, {"tag": tag, "reason": rng.choice(REASONS), "method": "Grinder",
                         "material_mixed": "Soil", "weight": weight(rng, 100, 900)}, witness),
            # One label in twenty is a roll of tags received instead.
            "label.printed": lambda: (
                ("tags.received", {"kind": "plant", "first": tag, "last": tag[:-4] + "9999", "count": 100},
                 {})
                if rng.random() < 0.05 and tag[-4:] != "9999" else
                (d.type, {"uid": tag, "kind": "plant", "printer": "Brother QL-820NWB"}, {})),
            "package.created": lambda: (d.type, {"tag": tag[:-1] + "7", "item": "Flower",
                                                 "sources": [{"harvest_name": harvest,
                                                              "weight": weight(rng, 100, 450)}]}, {}),
            "package.adjusted": lambda: (d.type, {"tag": tag[:-1] + "7", "quantity": weight(rng, 10, 400),
                                                  "reason": "Drying"}, {}),
            "room.counted": lambda: (d.type, {"location": "Flower Room 1", "scanned": [tag],
                                              "expected_count": 1}, {}),
            "scale.checked": lambda: (d.type, {"scale_id": "SCALE-1", "unit": "g", "zero": "0.0",
                                               "reference": "500.0", "reading": "500.1", "tolerance": "0.2",
                                               "passed": True, "legal_for_trade": True}, {}),
            "record.corrected": lambda: (d.type, {"reason": "Wrong room"},
                                         {**witness, "corrects": self.recent.get(d.facility)}),
        }
        return table[d.type]()

    def __call__(self, d: Drawn) -> IncomingEvent:
        type_, data, extra = self.data(d)
        if type_ == "record.corrected" and extra["corrects"] is None:
            type_, data, extra = "plant.scanned", {"tag": d.tag}, {}
        event = build_event(type_, data, id=d.id, facility=d.facility, device=d.device, user=d.user,
                            at=datetime.fromisoformat(d.at.replace("Z", "+00:00")), seq=d.seq, **extra)
        self.recent[d.facility] = d.id
        return IncomingEvent(d.id, d.facility, d.device, d.seq, type_, d.at, event.to_json(),
                             mentioned_tags(event), mentioned_names(event))


async def timed(samples: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    times, rows = [], 0
    for _ in range(samples):
        t = time.perf_counter()
        found = await call()
        times.append((time.perf_counter() - t) * 1000)
        rows += len(found.rows) if hasattr(found, "rows") else 0
    times.sort()

    def at(q: float) -> float:
        return round(times[min(len(times) - 1, int(len(times) * q))], 2)

    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "rows_avg": round(rows / samples)}


async def time_all(ledger: Ledger, shape: Shape, samples: int) -> dict[str, Any]:
    rng = random.Random(11)
    facilities = [facility_name(f) for f in range(shape.facilities)]
    clock = Clock({f: ZONE for f in facilities})
    first = START.year * 12 + START.month - 1
    months = [divmod(first + m, 12) for m in range(shape.years * 12)]  # (year, month - 1)

    def facility() -> str:
        return rng.choice(facilities)

    def month() -> Period:
        year, index = rng.choice(months)
        after = date(year + (index + 1) // 12, (index + 1) % 12 + 1, 1)
        return Period.days(date(year, index + 1, 1), date.fromordinal(after.toordinal() - 1),
                           clock.zone(facilities[0]))

    out: dict[str, Any] = {}
    for register in REGISTERS:
        out[f"{register.name}: all history, one facility"] = await timed(
            samples, lambda r=register: r.build(ledger, facility(), clock))  # type: ignore[misc]
        out[f"{register.name}: one month, one facility"] = await timed(
            samples, lambda r=register: r.build(ledger, facility(), clock, period=month()))  # type: ignore[misc]

    def plant() -> str:
        f = rng.randrange(shape.facilities)
        return tag_for(f, rng.randrange(shape.plants))

    def batch() -> str:
        year, index = rng.choice(months)
        return harvest_name(facility(), f"{year:04d}-{index + 1:02d}")

    lookups: dict[str, Callable[[], Awaitable[Any]]] = {
        "activity: one tag": lambda: activity(ledger, plant(), None, clock),
        "activity: one harvest batch": lambda: activity(ledger, batch(), None, clock),
        "activity: one worker, one facility, all history": lambda: activity(
            ledger, rng.choice(WORKERS), facility(), clock),
        "activity: one worker, one facility, one month": lambda: activity(
            ledger, rng.choice(WORKERS), facility(), clock, period=month()),
        "activity: one kiosk, one facility, all history": lambda: activity(
            ledger, f"kiosk-{rng.randrange(shape.kiosks):02d}", facility(), clock),
        "activity: one kiosk, one facility, one month": lambda: activity(
            ledger, f"kiosk-{rng.randrange(shape.kiosks):02d}", facility(), clock, period=month()),
    }
    for name, call in lookups.items():
        out[name] = await timed(samples * 3, call)
    return out


async def run_one(url: str, shape: Shape, samples: int, reuse: bool = False,
                  processes: int = 1) -> dict[str, Any]:
    if reuse:
        filled: dict[str, Any] = {"reused": url.split("@")[-1]}
    else:
        # In bulk (bench/bulk.py: the rows ingest writes, the chain linked, PostgreSQL vacuumed
        # and analysed as autovacuum keeps a ledger that grew over years): through
        # ``Ledger.store`` these events filled at about 1,300 a second.
        filled = await bulk_fill(url, shape, processes=processes, progress=every(30))
    ledger = await open_ledger(url)
    try:
        filled["events"] = (await ledger.counts()).events
        timings = await time_all(ledger, shape, samples)
    finally:
        await ledger.close()
    return {"ledger": url.split(":", 1)[0], "fill": filled, "registers": timings}


async def run_postgres(admin_dsn: str, shape: Shape, samples: int, processes: int) -> dict[str, Any]:
    import psycopg

    name = f"canopy_bench_registers_{int(time.time())}"
    async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await run_one(f"{admin_dsn.rsplit('/', 1)[0]}/{name}", shape, samples, processes=processes)
    finally:
        async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--ledger", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--dsn", default=os.environ.get(
        "CANOPY_BENCH_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", type=Path, help="keep the SQLite ledger here (reused if present)")
    parser.add_argument("--url", help="time this ledger, already filled by bench/bulk.py (sqlite:///… or"
                        " postgresql://…), instead of filling one")
    parser.add_argument("--processes", type=int, default=1, help="processes that fill (bench/bulk.py)")
    parser.add_argument("--years", type=int, default=YEARS, help="years of events (with --url: the months"
                        " the ledger holds, from 2019-12, that random months are drawn from)")
    args = parser.parse_args()
    shape = Shape(events=args.events, years=args.years)
    out: list[dict[str, Any]] = []
    if args.url:
        out.append(await run_one(args.url, shape, args.samples, reuse=True))
    elif args.ledger in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.keep or Path(tmp) / "ledger.db"
            reuse = path.exists()
            out.append(await run_one(f"sqlite:///{path}", shape, args.samples, reuse, args.processes))
    if not args.url and args.ledger in ("postgres", "both"):
        out.append(await run_postgres(args.dsn, shape, args.samples, args.processes))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
