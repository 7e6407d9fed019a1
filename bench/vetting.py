"""Vetting benchmark: what checking who and when costs per event before it is mapped.

    .venv/bin/python bench/vetting.py [--events 2000] [--ledger-url postgresql://…]

Fills a ledger (SQLite in a temporary folder by default) with plant moves from 10
kiosks and a workers file of 50 workers, then runs every event through
``bridge.vetting.Vetting`` in front of a mapper that does nothing: the figure is
the checks' own cost (one ledger read and a roster lookup per event). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.config import FacilityProfile  # noqa: E402
from bridge.ingest import mentioned_tags  # noqa: E402
from bridge.ledger import Answer, IncomingEvent, open_ledger  # noqa: E402
from bridge.vetting import Vetting  # noqa: E402
from canopy.events import Event, build_event, format_utc  # noqa: E402
from canopy.ids import uuid7  # noqa: E402
from canopy.workerfile import Worker, WorkerFile, hash_pin, write_file  # noqa: E402

FACILITY = "CCL24-0000101"


class Nothing:
    async def map(self, event: Event) -> Answer:
        return Answer(event.id, "accepted")


async def measure(url: str, folder: Path, count: int) -> dict[str, object]:
    pin = hash_pin("123456")
    workers = WorkerFile(workers=[Worker(id=f"w-{n}", name=f"Worker {n}", pin=pin) for n in range(50)])
    write_file(folder / "workers.json", workers)
    profile = FacilityProfile.model_validate({
        "license": FACILITY, "state": "CA", "system": "metrc", "base_url": "http://127.0.0.1:9",
        "timezone": "America/Los_Angeles", "workers_file": str(folder / "workers.json"),
        "metrc": {"vendor_key": "v", "user_key": "u"}})
    ledger = await open_ledger(url)
    events: list[Event] = []
    rows: list[IncomingEvent] = []
    for n in range(count):
        device, seq = f"kiosk-{n % 10:02d}", n // 10 + 1
        data = {"tag": f"1A4FF01000000220000{n:05d}", "location": "Flower Room A"}
        event = build_event("plant.moved", data,
                            id=uuid7(), facility=FACILITY, device=device, user=f"w-{n % 50}",
                            at=datetime.now(UTC), seq=seq)
        events.append(event)
        rows.append(IncomingEvent(event.id, FACILITY, device, seq, event.type, format_utc(event.at),
                                  event.to_json(), mentioned_tags(event)))
    for start in range(0, len(rows), 500):
        await ledger.store(rows[start : start + 500], [])
    vetting = Vetting(Nothing(), profile, ledger)
    try:
        started = time.perf_counter()
        verdicts = [await vetting.map(e) for e in events]
        elapsed = time.perf_counter() - started
    finally:
        await ledger.close()
    passed = sum(1 for v in verdicts if isinstance(v, Answer) and v.status == "accepted")
    return {"ledger": url.split(":", 1)[0], "events": count, "passed": passed,
            "ms_per_event": round(elapsed * 1000 / count, 3), "events_per_s": round(count / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--ledger-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.ledger_url or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        print(json.dumps(asyncio.run(measure(url, Path(tmp), args.events))))


if __name__ == "__main__":
    main()
