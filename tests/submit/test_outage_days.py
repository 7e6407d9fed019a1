"""Days without the state system, on a test clock: the bridge keeps going, records
the outage, raises the 72-hour alert once, and drains everything when access returns.
All along, the bridge status the kiosks read says so: unreachable since the outage's
start, then that the state must be notified, then reachable again."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.config import FacilityProfile, MetrcCredentials
from bridge.ingest import mentioned_tags
from bridge.ledger import IncomingEvent, SqliteLedger
from bridge.outages import LedgerOutages, StateStatusFeed
from bridge.state.plugin import Shared
from bridge.state.registry import connect
from bridge.submit import Submitter
from canopy import bridge_status, topics
from canopy.bridge_status import StateSystem
from canopy.events import build_event
from canopy.ids import uuid7
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, FaultPlan, MetrcSimulator

pytestmark = pytest.mark.timeout(120)
LICENSE = DEMO_LICENSES[0]
HOUR_MS = 3_600_000


async def test_outage_over_simulated_days(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ledger = await SqliteLedger.open(tmp_path / "ledger.db")
    clock = {"now": 1_790_000_000_000}
    ledger.clock = lambda: clock["now"]
    event = build_event("plant.moved", {"tag": "1A4FF0100000022000001001", "location": "Flower Room A"},
                        id=uuid7(), facility=LICENSE, device="kiosk-01", user="worker-1",
                        at=datetime.now(UTC), seq=1)
    stored = IncomingEvent(event.id, LICENSE, "kiosk-01", 1, event.type, "2026-11-22T10:00:00.000Z",
                           event.to_json(), mentioned_tags(event))
    await ledger.store([stored], [])
    async with MetrcSimulator() as sim:
        await sim.set_faults(FaultPlan(outage_seconds=3600, outage_mode="503"))
        profile = FacilityProfile(
            license=LICENSE, state="CA", system="metrc", base_url=sim.url, timezone="America/Los_Angeles",
            metrc=MetrcCredentials(vendor_key=DEMO_VENDOR_KEY, user_key=DEMO_USER_KEY),  # type: ignore[arg-type]
            requests_per_s=100, timeout_s=2)
        state = connect(profile, Shared(ledger, outages=lambda licence: LedgerOutages(ledger, licence)))
        sub = Submitter(LICENSE, ledger, state.mapper, state.sender, flush_interval_s=0.05,
                        backoff_max_s=0.05)
        published: list[bytes] = []
        feed = StateStatusFeed(ledger, "bridge-1", {LICENSE: 72.0}, published.append)

        async def kiosks_read() -> StateSystem:
            await feed.check()
            status = bridge_status.decode(topics.bridge_status("bridge-1"), published[-1])
            assert status is not None and status.state == "online"
            return status.facilities[LICENSE]

        caplog.set_level(logging.CRITICAL, logger="bridge.submit._submitter")
        task = asyncio.create_task(sub.run())
        try:
            for _ in range(100):  # the state answers 503; a day passes
                if await ledger.outages(LICENSE):
                    break
                await asyncio.sleep(0.05)
            clock["now"] += 24 * HOUR_MS
            await asyncio.sleep(0.5)
            (outage,) = await ledger.outages(LICENSE, open_only=True)
            assert 24 <= outage.hours(clock["now"]) < 25
            assert not outage.alerted  # a day is not yet 72 hours
            assert await kiosks_read() == StateSystem(False, outage.started, notify=False, after_h=72.0)
            assert (await ledger.status_of([event.id]))[event.id][0] == "stored"  # kept, not lost

            clock["now"] += 49 * HOUR_MS  # three days and an hour
            await asyncio.sleep(0.5)
            (outage,) = await ledger.outages(LICENSE, open_only=True)
            assert outage.alerted
            assert await kiosks_read() == StateSystem(False, outage.started, notify=True, after_h=72.0)
            assert not await feed.check()  # nothing changed: nothing published again
            alerts = [r for r in caplog.records if "ALERT" in r.getMessage()]
            assert len(alerts) == 1
            assert "73 hours" in alerts[0].getMessage()

            await sim.set_faults(FaultPlan())  # access is back
            for _ in range(100):
                if (await ledger.status_of([event.id]))[event.id][0] == "accepted":
                    break
                await asyncio.sleep(0.05)
            (outage,) = await ledger.outages(LICENSE)
            assert outage.ended is not None
            assert outage.hours() >= 73
            assert len([r for r in caplog.records if "ALERT" in r.getMessage()]) == 1  # raised once
            assert await kiosks_read() == StateSystem(True, after_h=72.0)
        finally:
            task.cancel()
            await state.aclose()
            await ledger.close()
