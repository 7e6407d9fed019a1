"""Submitter benchmark: prints one JSON object with the figures README.md records.

    .venv/bin/python bench/submit.py [--moves 1000] [--facilities 10]

- HTTP requests per 1,000 plant moves for several batch sizes (target: exactly
  ceil(1000 / batch size)), counted by the Metrc simulator itself;
- events per second from a SQLite ledger through the real submitter over real
  HTTP into the simulator, for 10 facility licences at once.

The simulator runs in this process on loopback; its write limit per call is
raised to the largest batch measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.config import FacilityProfile  # noqa: E402
from bridge.ingest import mentioned_tags  # noqa: E402
from bridge.ledger import IncomingEvent, SqliteLedger  # noqa: E402
from bridge.outages import LedgerOutages  # noqa: E402
from bridge.state.plugin import Shared  # noqa: E402
from bridge.state.registry import connect  # noqa: E402
from bridge.submit import Submitter  # noqa: E402
from canopy.events import build_event  # noqa: E402
from canopy.ids import uuid7  # noqa: E402
from statesim.metrc import (  # noqa: E402
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    MetrcSimulator,
    RateLimit,
    SimConfig,
    demo_seed_for,
)

BATCH_SIZES = (1, 5, 10, 25, 50)


async def fill(ledger: SqliteLedger, licence: str, plants: list[str], moves: int) -> None:
    now = datetime.now(UTC)
    rooms = ("Flower Room A", "Flower Room B")
    events = []
    for i in range(moves):
        # Each plant alternates between the two rooms, so every move is a real one.
        room = rooms[(i // len(plants)) % 2]
        event = build_event("plant.moved", {"tag": plants[i % len(plants)], "location": room},
                            id=uuid7(), facility=licence, device="kiosk-01", user="worker-1", at=now,
                            seq=i + 1)
        events.append(IncomingEvent(event.id, licence, "kiosk-01", i + 1, event.type,
                                    "2026-11-22T10:00:00.000Z", event.to_json(), mentioned_tags(event)))
    for start in range(0, len(events), 1000):
        await ledger.store(events[start : start + 1000], [])


def submitter(ledger: SqliteLedger, sim: MetrcSimulator, licence: str, batch: int) -> Submitter:
    """The submitter as the bridge builds it: on the licence's plug-in connection, so every
    call passes its throttle and outage record (paced far above what the simulator takes)."""
    profile = FacilityProfile.model_validate({
        "license": licence, "state": "CA", "system": "metrc", "base_url": sim.url,
        "timezone": "America/Los_Angeles", "batch_size": batch, "requests_per_s": 10_000,
        "reads_per_s": 10_000, "reads_at_once": 100,
        "metrc": {"vendor_key": DEMO_VENDOR_KEY, "user_key": DEMO_USER_KEY},
    })
    state = connect(profile, Shared(ledger, outages=lambda name: LedgerOutages(ledger, name)))
    return Submitter(licence, ledger, state.mapper, state.sender, batch_size=batch, flush_interval_s=0.05)


async def drain(subs: list[Submitter], ledger: SqliteLedger, total: int) -> float:
    start = time.perf_counter()
    tasks = [asyncio.create_task(s.run()) for s in subs]
    try:
        while sum(s.stats.accepted + s.stats.rejected for s in subs) < total:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    finally:
        for task in tasks:
            task.cancel()
    return time.perf_counter() - start


async def main(moves: int, facilities: int) -> dict[str, object]:
    seed = demo_seed_for(max(facilities, 1))
    config = SimConfig(max_objects=max(BATCH_SIZES), facility_limit=RateLimit(per_second=10_000,
                       concurrent=100), vendor_limit=RateLimit(per_second=10_000, concurrent=100))
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="canopy-submit-") as tmp:
        requests: dict[str, dict[str, int]] = {}
        for batch in BATCH_SIZES:
            async with MetrcSimulator(seed, config=config) as sim:
                ledger = await SqliteLedger.open(Path(tmp) / f"batch{batch}.db")
                licence = seed.licenses[0]
                await fill(ledger, licence.number, [p.label for p in licence.plants], moves)
                sub = submitter(ledger, sim, licence.number, batch)
                await drain([sub], ledger, moves)
                writes = [e for e in sim.log if e["method"] != "GET"]
                requests[str(batch)] = {"requests": len(writes), "target": math.ceil(moves / batch),
                                        "accepted": sub.stats.accepted, "rejected": sub.stats.rejected}
                await ledger.close()
        figures["requests_per_moves"] = {"moves": moves, "by_batch_size": requests}

        async with MetrcSimulator(seed, config=config) as sim:
            ledger = await SqliteLedger.open(Path(tmp) / "fleet.db")
            subs = []
            for licence in seed.licenses[:facilities]:
                await fill(ledger, licence.number, [p.label for p in licence.plants], moves)
                subs.append(submitter(ledger, sim, licence.number, 10))
            elapsed = await drain(subs, ledger, moves * facilities)
            figures["fleet"] = {
                "facilities": facilities,
                "events": moves * facilities,
                "batch_size": 10,
                "seconds": round(elapsed, 2),
                "events_per_s": round(moves * facilities / elapsed, 1),
                "accepted": sum(s.stats.accepted for s in subs),
                "rejected": sum(s.stats.rejected for s in subs),
            }
            await ledger.close()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--moves", type=int, default=1000)
    parser.add_argument("--facilities", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.moves, args.facilities)), indent=2))
