"""The submitter's write-ahead intents and the ledger's leases, against the Metrc
simulator over HTTP and a real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.ingest import mentioned_tags
from bridge.ledger import (
    AMBIGUOUS,
    GAP_WAIT_MS,
    SENDING,
    Answer,
    Fence,
    IncomingEvent,
    LeaseLost,
    open_ledger,
)
from bridge.state.metrc import MetrcClient, MetrcMapper, MetrcSender
from bridge.submit import Call, Op, Submitter
from canopy.events import Event, build_event
from canopy.ids import uuid7
from statesim.metrc import DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator
from tests.pipeline.harness import Proc
from tests.provisioned import ProvisionedSite
from tests.submit.conftest import LICENSE, bridge_toml, wait_until, weight

ZONE = "America/Los_Angeles"
PLANT = "1A4FF01000000220000010{:02d}"  # 06..12 are flowering


def harvest(n: int, seq: int, device: str = "kiosk-01") -> Event:
    return build_event("plant.harvested", {"tag": PLANT.format(n), "harvest_name": "Late",
                                           "drying_location": "Dry Room", "weight": weight("321.5")},
                       id=uuid7(), facility=LICENSE, device=device, user="worker-1",
                       at=datetime.now(UTC), seq=seq)


def stored(events: list[Event]) -> list[IncomingEvent]:
    return [IncomingEvent(e.id, LICENSE, e.device, e.seq, e.type, e.at.isoformat(), e.to_json(),
                          mentioned_tags(e)) for e in events]


class LandsLate:
    """The real mapper, and the state applying the *original* (lost) call late: after
    the submitter's read-back said "not there", just before it sends again."""

    def __init__(self, mapper: MetrcMapper, client: MetrcClient, lost: str) -> None:
        self.mapper, self.client, self.lost = mapper, client, lost

    async def map(self, event: Event) -> Any:
        op = await self.mapper.map(event)
        assert isinstance(op, Op)
        if event.id != self.lost:
            return op
        row = op.row

        async def original_lands() -> None:
            await self.client.harvest_plants([row])

        op.before = original_lands
        return op


async def test_a_resend_refused_as_already_done_is_read_back_to_accepted(ledger_url: str) -> None:
    async with MetrcSimulator() as sim, MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, LICENSE,
                                                    timeout=5) as client:
        ledger = await open_ledger(ledger_url)
        try:
            lost, plain = harvest(6, 1), harvest(7, 2)
            await ledger.store(stored([lost, plain]), [])
            # A bridge died while sending ``lost``: its intent has no outcome.
            await ledger.begin_attempt(LICENSE, "harvest_plants", [lost.id], "digest", "bridge-gone")
            # ``plain`` was harvested in Metrc by someone else, and was never in a lost call.
            await client.harvest_plants([(await MetrcMapper(client, ZONE).map(plain)).row])  # type: ignore[union-attr]
            mapper = LandsLate(MetrcMapper(client, ZONE, pictures=ledger), client, lost.id)
            sub = Submitter(LICENSE, ledger, mapper, MetrcSender(client), batch_size=1,
                            bridge="bridge-new")
            await sub.resume()
            await sub.round()
            verdicts = await ledger.status_of([lost.id, plain.id])
            assert verdicts[lost.id] == ("accepted", "confirmed by reading it back")
            assert verdicts[plain.id][0] == "rejected"  # its refusal is the state's word
            assert "harvested" in verdicts[plain.id][1].lower()
            # The state refused both resends; the harvest holds one weight each.
            refused = [e for e in sim.log if e["path"] == "/plants/v2/harvest" and e["status"] == 400]
            assert len(refused) == 2
            (late,) = [h for h in sim.snapshot()["licenses"][LICENSE]["harvests"] if h["Name"] == "Late"]
            assert Decimal(str(late["TotalWetWeight"])) == Decimal(643)
        finally:
            await ledger.close()


async def test_the_intent_is_in_the_ledger_before_the_request_leaves(ledger_url: str) -> None:
    async with MetrcSimulator() as sim, MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, LICENSE,
                                                    timeout=5) as client:
        ledger = await open_ledger(ledger_url)
        try:
            event = harvest(8, 1)
            await ledger.store(stored([event]), [])
            seen: list[list[str]] = []

            class Watching(MetrcSender):
                async def send(self, call: Call, rows: list[Any]) -> None:
                    seen.append([a.outcome for a in await ledger.attempts(LICENSE)])
                    await super().send(call, rows)

            sub = Submitter(LICENSE, ledger, MetrcMapper(client, ZONE, pictures=ledger), Watching(client),
                            bridge="bridge-1")
            await sub.round()
            assert seen == [[SENDING]]
            (attempt,) = await ledger.attempts(LICENSE)
            assert (attempt.outcome, attempt.bridge, attempt.event_ids) == ("ok", "bridge-1", [event.id])
            assert len(attempt.digest) == 64
            assert SENDING in AMBIGUOUS
        finally:
            await ledger.close()


async def test_each_kiosk_is_submitted_in_seq_order_whatever_the_arrival_order(ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    try:
        a1, a2, a3, b1 = harvest(6, 1), harvest(7, 2), harvest(8, 3), harvest(9, 1, "kiosk-02")
        # Two bridges stored them: kiosk-01's 3 and 2 arrived before its 1.
        for batch in ([a3], [b1], [a2], [a1]):
            await ledger.store(stored(batch), [])
            await asyncio.sleep(0.002)
        order = [(t.device, t.seq) for t in await ledger.to_submit(LICENSE, 10)]
        assert order == [("kiosk-01", 1), ("kiosk-02", 1), ("kiosk-01", 2), ("kiosk-01", 3)]
        # kiosk-03's event 7 came without its event 6 (still on its way through another
        # bridge): it waits a moment for it, then goes (6 may have been quarantined).
        c7 = harvest(10, 7, "kiosk-03")
        await ledger.store(stored([c7]), [])
        assert c7.id not in {t.id for t in await ledger.to_submit(LICENSE, 10)}
        await asyncio.sleep(GAP_WAIT_MS / 1000 + 0.2)
        assert c7.id in {t.id for t in await ledger.to_submit(LICENSE, 10)}
    finally:
        await ledger.close()


async def test_a_kiosks_event_waits_behind_its_predecessor_that_is_itself_waiting(ledger_url: str) -> None:
    """Three bridges took kiosk-01's events 1, 2 and 3: the one with 1 died, so 2 waits
    for 1 and 3 (whose predecessor 2 is in the ledger) must wait behind 2, not go first."""
    ledger = await open_ledger(ledger_url)
    try:
        a2, a3, b1 = harvest(6, 2), harvest(7, 3), harvest(8, 1, "kiosk-02")
        await ledger.store(stored([a2, a3, b1]), [])
        assert [(t.device, t.seq) for t in await ledger.to_submit(LICENSE, 10)] == [("kiosk-02", 1)]
        a1 = harvest(9, 1)  # the kiosk sent 1 again, through a live bridge
        await ledger.store(stored([a1]), [])
        order = [(t.device, t.seq) for t in await ledger.to_submit(LICENSE, 10)]
        # kiosk-01's places in the arrival order (2, 3, then 1 last) refilled in seq order.
        assert order == [("kiosk-01", 1), ("kiosk-01", 2), ("kiosk-02", 1), ("kiosk-01", 3)]
    finally:
        await ledger.close()


async def test_a_late_event_goes_before_its_kiosks_later_ones_beyond_the_window(ledger_url: str) -> None:
    """Event 1 arrived after 30 later events of its kiosk (resent once its bridge died):
    a window of 10 by arrival must still start with 1, never send 2 to 11 before it."""
    ledger = await open_ledger(ledger_url)
    try:
        later = [harvest(10 + n, n) for n in range(2, 32)]
        await ledger.store(stored(later), [])
        await asyncio.sleep(0.002)
        first = harvest(9, 1)
        await ledger.store(stored([first]), [])
        order = [t.seq for t in await ledger.to_submit(LICENSE, 10)]
        assert order == list(range(1, 12))
    finally:
        await ledger.close()


async def test_a_lease_taken_over_fences_the_old_holder_out(pg_dsn: str) -> None:
    one, two = await open_ledger(pg_dsn), await open_ledger(pg_dsn)
    try:
        event = harvest(6, 1)
        await one.store(stored([event]), [])
        token = await one.acquire_lease(LICENSE, "bridge-1", 0.5)
        assert token is not None
        assert await two.acquire_lease(LICENSE, "bridge-2", 10) is None  # held
        old = Fence(LICENSE, "bridge-1", token)
        n = await one.begin_attempt(LICENSE, "harvest_plants", [event.id], "d", "bridge-1", old)
        await asyncio.sleep(0.7)  # bridge-1 stalls past its lease
        assert await two.acquire_lease(LICENSE, "bridge-2", 10) == token + 1
        assert await one.renew_leases([old], 10) == set()
        with pytest.raises(LeaseLost):
            await one.settle([Answer(event.id, "accepted")], old)
        with pytest.raises(LeaseLost):  # the answer and its verdicts: both or neither
            await one.end_attempt(n, "ok", 200, "", old, [Answer(event.id, "accepted")])
        assert [a.outcome for a in await one.attempts(LICENSE)] == [SENDING]
        with pytest.raises(LeaseLost):
            await one.begin_attempt(LICENSE, "harvest_plants", [event.id], "d", "bridge-1", old)
        assert (await one.status_of([event.id]))[event.id][0] == "stored"
        # The newcomer sees the old holder's unanswered intent and will read it back.
        assert await two.uncertain_ids(LICENSE) == {event.id}
        assert await two.lease_holders() == {LICENSE: "bridge-2"}
        # A call is started only while the lease has its timeout to run.
        new = Fence(LICENSE, "bridge-2", token + 1, guard_ms=60_000)
        with pytest.raises(LeaseLost, match="ends before"):
            await two.begin_attempt(LICENSE, "harvest_plants", [event.id], "d", "bridge-2", new)
    finally:
        await one.close()
        await two.close()


async def test_a_sqlite_ledger_refuses_a_second_bridge(tmp_path: Path, provisioned: ProvisionedSite) -> None:
    async with MetrcSimulator() as sim:
        conf = bridge_toml(tmp_path, provisioned, sim.url)
        first = Proc("bridge", ["bridge", "-c", str(conf)], tmp_path / "bridge.log")
        first.start()
        try:
            await wait_until(lambda: "connected to" in first.tail(), 20, "bridge connected", [first])
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli", "bridge", "-c", str(conf), stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode != 0
            stderr = err.decode()
            assert "another bridge is already submitting from the SQLite ledger" in stderr
            assert "bridge-submit, pid" in stderr  # who holds it
            assert "PostgreSQL" in stderr
            assert "Traceback" not in stderr
            assert first.alive()
        finally:
            first.kill9()
        # Once the first is gone (even by kill -9) the lock is free again.
        ledger = await open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        try:
            await ledger.claim_submitting("bridge-c")
        finally:
            await ledger.close()
