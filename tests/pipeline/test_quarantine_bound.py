"""Quarantine is bounded per device: a flood of garbage from one kiosk login is counted,
not kept, and never crowds out another kiosk's quarantine (issue 11, item 3)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest

from bridge.ingest import Ingest, IngestSettings
from bridge.ledger import Ledger, open_ledger
from canopy.mqtt import MqttSettings
from cli.broker import Mosquitto
from tests.pipeline.test_ingest import DEV, FAC, FakeKiosk, event

pytestmark = pytest.mark.timeout(90)
ROWS, BYTES = 20, 64 * 1024
OTHER = "kiosk-08"


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    opened = await open_ledger(ledger_url)
    yield opened
    await opened.close()


async def until(check: object, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not reached in time")


async def test_a_flood_from_one_device_keeps_at_most_the_bound_and_counts_the_rest(
    broker: Mosquitto, ledger: Ledger, caplog: pytest.LogCaptureFixture,
) -> None:
    settings = IngestSettings(quarantine_max_rows=ROWS, quarantine_max_bytes=BYTES)
    ingest = Ingest(MqttSettings(port=broker.port), settings, ledger, client_id="bridge-q")
    task = asyncio.create_task(ingest.run())
    await asyncio.wait_for(ingest.conn.wait_connected(), 10)
    await asyncio.sleep(0.2)
    flood, other = FakeKiosk(broker), FakeKiosk(broker, device=OTHER)
    caplog.set_level(logging.WARNING, logger="bridge.ingest")
    try:
        # 300 invalid events from one device: a wrong type, and some large bodies so
        # the byte bound is met before the row bound for part of them.
        for n in range(300):
            pad = "x" * (9000 if n % 3 == 0 else 10)
            flood.publish(event(n + 1, type=[], note=pad))
        # The other kiosk: a few invalid ones, then a good event.
        bad_other = [event(n + 1, type="plant.nope") for n in range(3)]
        for payload in bad_other:
            other.publish(payload.replace(DEV.encode(), OTHER.encode()))
        good = json.loads(event(10).replace(DEV.encode(), OTHER.encode()))
        other.publish(json.dumps(good).encode())

        async def all_answered() -> bool:
            return len(flood.acks) >= 300 and len(other.acks) >= 4

        await until(all_answered, 60)
    finally:
        flood.close()
        other.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    counts = await ledger.quarantine_counts()
    kept, size, dropped = counts[(FAC, DEV)]
    assert kept <= ROWS and size <= BYTES
    assert kept + dropped == 300  # every one counted, kept or not
    assert dropped >= 300 - ROWS
    rows = [r for r in await ledger.quarantined(1000) if r.device == DEV]
    assert len(rows) == kept and sum(len(r.payload) for r in rows) == size
    # The other device's quarantine is whole, and its good event stored.
    assert counts[(FAC, OTHER)] == (3, sum(len(p) for p in bad_other), 0)
    assert good["id"] in await ledger.event_ids()
    # Every kiosk is told about every event, kept or only counted.
    assert all(a["status"] == "rejected" for a in flood.acks)
    # Logged once each, with device and reason; the overflow once for the device.
    said = [r.getMessage() for r in caplog.records]
    kept_lines = [m for m in said if m.startswith(f"quarantined a message from {FAC}/{DEV}")]
    assert len(kept_lines) == kept
    full = [r for r in caplog.records if "is full" in r.getMessage()]
    assert len(full) == 1 and f"{FAC}/{DEV}" in full[0].getMessage()
    assert sum(f"{FAC}/{OTHER}" in r.getMessage() for r in caplog.records) == 3
