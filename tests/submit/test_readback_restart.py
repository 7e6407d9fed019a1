"""A read-back's "before" picture lives in the ledger, so a bridge restarted between
a send whose answer was lost and the read-back still tells "landed" from "not sent"."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bridge.ingest import mentioned_tags
from bridge.ledger import Answer, IncomingEvent, Ledger, open_ledger
from bridge.state.metrc import MetrcClient, RecordHarvestWaste
from bridge.submit import MetrcMapper, Op, business_date
from canopy.events import Event, build_event
from canopy.ids import uuid7
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator

LICENSE = DEMO_LICENSES[0]
HARVEST = "2025-10-20-Dry Room-H"
ZONE = "America/Los_Angeles"


def waste(grams: str, seq: int) -> Event:
    return build_event("harvest.waste", {"harvest_name": HARVEST, "waste_type": "Plant Material",
                                         "weight": {"value": grams, "unit": "g", "scale_id": "bench-1",
                                                    "raw": f"S S {grams} g"}},
                       id=uuid7(), facility=LICENSE, device="kiosk-01", user="worker-1",
                       at=datetime.now(UTC), seq=seq)


async def mapped(ledger: Ledger, client: MetrcClient, event: Event) -> Op:
    op = await MetrcMapper(client, ZONE, pictures=ledger).map(event)  # a fresh bridge's mapper
    assert isinstance(op, Op)
    return op


async def test_a_restarted_bridge_reads_back_against_the_picture_taken_before_the_send(
        ledger_url: str) -> None:
    async with MetrcSimulator() as sim, MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, LICENSE,
                                                    timeout=5) as client:
        harvest = await client.find_harvest(HARVEST)
        assert harvest is not None
        # An older 50 g waste record: exactly what a careless read-back would mistake for ours.
        await client.record_harvest_waste([RecordHarvestWaste(
            id=harvest.id, waste_type="Plant Material", unit_of_weight="Grams",
            waste_weight=Decimal(50), actual_date=business_date(datetime.now(UTC), ZONE))])
        sent, unsent = waste("50", 1), waste("50", 2)

        ledger = await open_ledger(ledger_url)
        try:
            for event in (sent, unsent):
                op = await mapped(ledger, client, event)
                assert op.before is not None
                await op.before()
                if event is sent:  # the state applied it; the answer never came back
                    await client.record_harvest_waste([op.row])
        finally:
            await ledger.close()

        ledger = await open_ledger(ledger_url)  # the bridge restarted
        try:
            assert await (await mapped(ledger, client, sent)).landed() is True
            assert await (await mapped(ledger, client, unsent)).landed() is False
        finally:
            await ledger.close()


async def test_pictures_of_settled_events_are_dropped(ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    try:
        old, new = waste("10", 1), waste("20", 2)
        await ledger.store([IncomingEvent(e.id, LICENSE, "kiosk-01", e.seq, e.type,
                                          "2026-11-22T10:00:00.000Z", e.to_json(), mentioned_tags(e))
                            for e in (old, new)], [])
        await ledger.keep_readback(old.id, "[1, 2]")
        assert await ledger.readback(old.id) == "[1, 2]"
        await ledger.keep_readback(old.id, "[1, 2, 3]")  # taken again before a resend
        assert await ledger.readback(old.id) == "[1, 2, 3]"
        await ledger.settle([Answer(old.id, "accepted", "")])
        await ledger.keep_readback(new.id, "[]")
        assert await ledger.readback(old.id) is None
        assert await ledger.readback(new.id) == "[]"
    finally:
        await ledger.close()
