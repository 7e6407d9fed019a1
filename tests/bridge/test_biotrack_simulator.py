"""BioTrack client against the real simulator over real HTTP on 127.0.0.1.

Each test starts its own simulator on a free port, so state and faults never
leak between tests. The admin routes (``/_sim/*``) are used only to look at
state and to script faults, never to perform the writes under test.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bridge.state.biotrack import (
    AdjustReason,
    BioTrackAmbiguous,
    BioTrackAuthError,
    BioTrackClient,
    BioTrackNotSent,
    BioTrackRateLimited,
    BioTrackRejected,
    BioTrackServerError,
    InventoryAdjust,
    InventoryCreateLot,
    InventoryMove,
    InventorySplit,
    InventoryType,
    PlantConvertToInventory,
    PlantCure,
    PlantDestroy,
    PlantDestroySchedule,
    PlantDestroyScheduleUndo,
    PlantHarvest,
    PlantHarvestSchedule,
    PlantMove,
    PlantNew,
    PlantState,
    PlantWasteWeigh,
    Removal,
    Weight,
)
from statesim.biotrack import DEMO_ACCOUNTS, BioTrackServer, SimConfig, start

pytestmark = pytest.mark.timeout(60)

NORTH, VIEWER, SOUTH = DEMO_ACCOUNTS
NOW = int(time.time())


@pytest.fixture
async def sim() -> AsyncIterator[BioTrackServer]:
    async with await start(seed=7) as running:
        yield running


def connect(sim: BioTrackServer, account: Any = NORTH, *, training: bool = False,
            timeout: float = 10.0) -> BioTrackClient:
    return BioTrackClient(sim.url, account.ubi, account.username, account.password,
                          training=training, location=account.location, timeout=timeout)


@pytest.fixture
async def north(sim: BioTrackServer) -> AsyncIterator[BioTrackClient]:
    async with connect(sim) as client:
        yield client


@pytest.fixture
async def south(sim: BioTrackServer) -> AsyncIterator[BioTrackClient]:
    async with connect(sim, SOUTH) as client:
        yield client


@pytest.fixture
async def admin(sim: BioTrackServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=10) as client:
        yield client


async def state(admin: httpx.AsyncClient) -> dict[str, Any]:
    response = await admin.get("/_sim/state")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def faults(admin: httpx.AsyncClient, *rules: dict[str, Any], **plan: Any) -> None:
    response = await admin.post("/_sim/faults", json={"rules": list(rules), **plan})
    response.raise_for_status()


def live(snapshot: dict[str, Any], location: str = NORTH.location) -> dict[str, Any]:
    loc: dict[str, Any] = snapshot["worlds"]["live"][location]
    return loc


async def clones(client: BioTrackClient) -> str:
    item = next(i for i in await client.inventory(active=True) if i.inventory_type == 7)
    return item.id


async def new_plants(client: BioTrackClient, count: int = 2) -> tuple[str, ...]:
    rooms = await client.plant_rooms()
    result = await client.submit(
        PlantNew(room=rooms[0].id, quantity=count, strain="Blue Dream", source=await clones(client))
    )
    return result.barcode_ids


async def harvested(client: BioTrackClient) -> str:
    (plant,) = await new_plants(client, 1)
    await client.submit(PlantHarvestSchedule(barcode_ids=(plant,)))
    await client.submit(PlantHarvest(
        barcode_ids=(plant,), collectiontime=NOW,
        weights=(Weight(amount=Decimal("812.5"), invtype=InventoryType.FLOWER),
                 Weight(amount=Decimal("40"), invtype=InventoryType.WASTE)),
    ))
    return plant


# -- reference data -----------------------------------------------------------------


async def test_sync_reads_return_typed_reference_data(north: BioTrackClient) -> None:
    plant_rooms = await north.plant_rooms()
    inventory_rooms = await north.inventory_rooms()
    employees = await north.employees()
    vendors = await north.vendors()
    plants = await north.plants()
    inventory = await north.inventory()
    assert [r.name for r in plant_rooms] == ["Clone Room", "Veg Room", "Flower Room A",
                                             "Flower Room B"]
    assert {r.kind for r in plant_rooms} == {"plant"}
    assert [r.quarantine for r in inventory_rooms] == [False, False, True]
    assert [e.name for e in employees] == ["Ana Ortiz", "Ben Cole"]
    assert [(v.location, v.ubi) for v in vendors] == [(SOUTH.location, SOUTH.ubi)]
    assert len(plants) == 10 and all(p.location == NORTH.location for p in plants)
    assert all(p.state is PlantState.GROWING for p in plants)
    assert {i.inventory_type for i in inventory} == {6, 7, 9, 10}


# -- plant writes ---------------------------------------------------------------------


async def test_plant_new_from_clones(north: BioTrackClient, admin: httpx.AsyncClient) -> None:
    source = await clones(north)
    before = await north.find_inventory(source)
    rooms = await north.plant_rooms()
    result = await north.submit(
        PlantNew(room=rooms[1].id, quantity=3, strain="Blue Dream", source=source)
    )
    assert len(result.barcode_ids) == 3
    assert all(len(i) == 16 and i.isdigit() and i.startswith(NORTH.location)
               for i in result.barcode_ids)
    after = await north.find_inventory(source)
    assert before is not None and after is not None
    assert after.remaining_quantity == before.remaining_quantity - 3
    snapshot = live(await state(admin))
    for plant_id in result.barcode_ids:
        row = snapshot["plants"][plant_id]
        assert (row["room"], row["parentid"], row["state"]) == (rooms[1].id, source, 0)
        assert str(row["transactionid"]) == result.transaction_id


async def test_plant_new_is_refused_without_source_or_beyond_stock(
    north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    rooms = await north.plant_rooms()
    source = await clones(north)
    before = await state(admin)
    with pytest.raises(BioTrackRejected) as info:
        await north.submit(PlantNew(room=rooms[0].id, quantity=500, strain="X", source=source))
    assert info.value.errorcode == 202
    with pytest.raises(BioTrackRejected) as info:
        await north.submit(PlantNew(room=999, quantity=1, strain="X", source=source))
    assert info.value.errorcode == 200 and "valid room" in info.value.message
    after = await state(admin)
    assert live(after)["plants"] == live(before)["plants"]
    assert live(after)["inventory"] == live(before)["inventory"]


async def test_plant_move(north: BioTrackClient) -> None:
    plants = await new_plants(north, 2)
    rooms = await north.plant_rooms()
    await north.submit(PlantMove(barcode_ids=plants, room=rooms[2].id))
    for plant_id in plants:
        plant = await north.find_plant(plant_id)
        assert plant is not None and plant.room == rooms[2].id


async def test_harvest_needs_schedule_then_records_wet_weight(
    north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    (plant,) = await new_plants(north, 1)
    harvest = PlantHarvest(
        barcode_ids=(plant,), collectiontime=NOW,
        weights=(Weight(amount=Decimal("812.5"), invtype=InventoryType.FLOWER),
                 Weight(amount=Decimal("40"), invtype=InventoryType.WASTE)),
    )
    with pytest.raises(BioTrackRejected) as info:
        await north.submit(harvest)
    assert info.value.errorcode == 602 and "scheduled for harvest" in info.value.message

    await north.submit(PlantHarvestSchedule(barcode_ids=(plant,)))
    result = await north.submit(harvest)
    assert [d.inventory_type for d in result.derivatives] == [29, 27]
    found = await north.find_plant(plant)
    assert found is not None and found.state is PlantState.DRYING and found.harvest_collected
    weights = {w.inventory_type: w.weight for w in await north.plant_weights(plant)}
    assert weights == {29: Decimal("812.5"), 27: Decimal("40")}
    snapshot = live(await state(admin))
    wet = snapshot["inventory"][result.derivatives[0].barcode_id]
    assert (wet["inventorytype"], wet["remaining_quantity"]) == (29, "812.5")
    assert [(w["source"], w["weight"]) for w in snapshot["waste"]] == [("plant_harvest", "40")]
    with pytest.raises(BioTrackRejected, match="no longer in a state"):
        await north.submit(harvest)


async def test_cure_records_dry_weight(north: BioTrackClient) -> None:
    plant = await harvested(north)
    vault = (await north.inventory_rooms())[0]
    result = await north.submit(PlantCure(
        barcode_ids=(plant,), collectiontime=NOW, room=vault.id,
        weights=(Weight(amount=Decimal("190.25"), invtype=InventoryType.FLOWER),
                 Weight(amount=Decimal("55"), invtype=InventoryType.OTHER_PLANT_MATERIAL)),
    ))
    assert [d.inventory_type for d in result.derivatives] == [6, 9]
    found = await north.find_plant(plant)
    assert found is not None and found.state is PlantState.CURED and found.cure_collected
    cured = [w for w in await north.plant_weights(plant) if w.cure]
    assert {(w.inventory_type, w.weight) for w in cured} == {(6, Decimal("190.25")),
                                                            (9, Decimal("55"))}
    flower = await north.find_inventory(result.derivatives[0].barcode_id)
    assert flower is not None and flower.room == vault.id and flower.plant_ids == (plant,)


async def test_waste_weigh_creates_waste_inventory(
    north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    result = await north.submit(PlantWasteWeigh(weight=Decimal("1.5"), uom="kg",
                                                collectiontime=NOW))
    (waste_id,) = result.barcode_ids
    assert result.derivatives[0].inventory_type == 27
    item = await north.find_inventory(waste_id)
    assert item is not None
    assert (item.inventory_type, item.remaining_quantity, item.uom) == (27, Decimal("1.5"), "kg")
    waste = live(await state(admin))["waste"]
    assert [(w["inventoryid"], w["collectiontime"]) for w in waste] == [(waste_id, NOW)]


async def test_destroy_waits_for_the_hold(north: BioTrackClient,
                                          admin: httpx.AsyncClient) -> None:
    plants = await new_plants(north, 2)
    keep, destroy = plants
    schedule = PlantDestroySchedule(barcode_ids=plants, reason_code=1, reason="male plants")
    await north.submit(schedule)
    with pytest.raises(BioTrackRejected) as info:
        await north.submit(PlantDestroy(barcode_ids=(destroy,)))
    assert info.value.errorcode == 602 and "72 hour" in info.value.message
    await north.submit(PlantDestroyScheduleUndo(barcode_ids=(keep,)))

    (await admin.post("/_sim/clock", json={"advance_s": 72 * 3600})).raise_for_status()
    with pytest.raises(BioTrackRejected, match="not been scheduled"):
        await north.submit(PlantDestroy(barcode_ids=(keep,)))
    await north.submit(PlantDestroy(barcode_ids=(destroy,)))
    gone = await north.find_plant(destroy)
    kept = await north.find_plant(keep)
    assert gone is not None and gone.deleted and gone.destroy_reason == "male plants"
    assert kept is not None and kept.alive and not kept.destroy_scheduled
    assert destroy not in {p.id for p in await north.plants(active=True)}


async def test_manicure_keeps_the_plant_growing_until_the_last_harvest(
    north: BioTrackClient,
) -> None:
    (plant,) = await new_plants(north, 1)
    await north.submit(PlantHarvestSchedule(barcode_ids=(plant,)))

    def harvest(grams: str, *, more: bool) -> PlantHarvest:
        return PlantHarvest(barcode_ids=(plant,), collectiontime=NOW, collect_additional=more,
                            weights=(Weight(amount=Decimal(grams), invtype=InventoryType.FLOWER),))

    await north.submit(harvest("120.5", more=True))
    found = await north.find_plant(plant)
    assert found is not None and found.alive and found.harvest_collected
    await north.submit(harvest("95", more=True))  # a second manicure
    await north.submit(harvest("700", more=False))  # the final harvest
    found = await north.find_plant(plant)
    assert found is not None and found.state is PlantState.DRYING
    weights = sorted(w.weight for w in await north.plant_weights(plant))
    assert weights == [Decimal("95"), Decimal("120.5"), Decimal("700")]
    assert all(w.collect_additional for w in await north.plant_weights(plant) if w.weight < 700)
    with pytest.raises(BioTrackRejected, match="no longer in a state"):
        await north.submit(harvest("10", more=True))


async def test_destroy_hold_is_configurable() -> None:
    async with await start(config=SimConfig(destroy_hold_s=24 * 3600)) as sim, \
            connect(sim) as north, httpx.AsyncClient(base_url=sim.base_url) as admin:
        (plant,) = await new_plants(north, 1)
        await north.submit(PlantDestroySchedule(barcode_ids=(plant,), reason_code=4, reason="disease"))
        with pytest.raises(BioTrackRejected, match="mandatory 24 hour waiting period"):
            await north.submit(PlantDestroy(barcode_ids=(plant,)))
        (await admin.post("/_sim/clock", json={"advance_s": 24 * 3600})).raise_for_status()
        await north.submit(PlantDestroy(barcode_ids=(plant,)))
        found = await north.find_plant(plant)
        assert found is not None and found.deleted


async def test_convert_to_inventory_keeps_the_id(north: BioTrackClient) -> None:
    (plant,) = await new_plants(north, 1)
    result = await north.submit(PlantConvertToInventory(barcode_ids=(plant,)))
    assert result.barcode_ids == (plant,)
    item = await north.find_inventory(plant)
    found = await north.find_plant(plant)
    assert item is not None and item.inventory_type == 12
    assert found is not None and found.converted
    with pytest.raises(BioTrackRejected):
        await north.submit(PlantMove(barcode_ids=(plant,), room=1))


# -- inventory writes -----------------------------------------------------------------


async def flower(client: BioTrackClient) -> str:
    return next(i.id for i in await client.inventory() if i.inventory_type == 6)


async def test_inventory_move_and_adjust(north: BioTrackClient) -> None:
    item_id = await flower(north)
    drying = (await north.inventory_rooms())[1]
    await north.submit(InventoryMove(barcode_ids=(item_id,), room=drying.id))
    await north.submit(InventoryAdjust(barcode_id=item_id, quantity=Decimal("440.1"),
                                       reason_code=AdjustReason.MOISTURE_LOSS, reason="dried"))
    item = await north.find_inventory(item_id)
    assert item is not None and item.room == drying.id
    assert item.remaining_quantity == Decimal("440.1")
    (adjustment,) = await north.inventory_adjustments()
    assert (adjustment.previous_quantity, adjustment.new_quantity) == (Decimal("453.6"),
                                                                       Decimal("440.1"))
    assert adjustment.adjust_type == 5 and adjustment.reason == "dried"
    # Quarantine is an inventory room, plant rooms are not.
    with pytest.raises(BioTrackRejected, match="valid room"):
        await north.submit(InventoryMove(barcode_ids=(item_id,), room=1))


async def test_inventory_split_and_lot(north: BioTrackClient, admin: httpx.AsyncClient) -> None:
    item_id = await flower(north)
    split = await north.submit(InventorySplit(removals=(
        Removal(barcode_id=item_id, quantity=Decimal("100")),
        Removal(barcode_id=item_id, quantity=Decimal("3.5"), uom="oz"),
    )))
    assert len(split.barcode_ids) == 2
    subs = [await north.find_inventory(i) for i in split.barcode_ids]
    assert [s.remaining_quantity for s in subs if s] == [Decimal("100"),
                                                         Decimal("3.5") * Decimal("28.349523125")]
    assert all(s is not None and s.parent_ids == (item_id,) for s in subs)

    lot = await north.submit(InventoryCreateLot(
        lot_type=InventoryType.FLOWER_LOT,
        removals=tuple(Removal(barcode_id=i, quantity=Decimal(50)) for i in split.barcode_ids),
    ))
    made = await north.find_inventory(lot.barcode_ids[0])
    assert made is not None and made.inventory_type == 13
    assert made.remaining_quantity == Decimal(100) and set(made.parent_ids) == set(
        split.barcode_ids)

    # An audit finds 3 kg: enough stock for a lot over the 5-pound limit.
    await north.submit(InventoryAdjust(barcode_id=item_id, quantity=Decimal(3000),
                                       reason_code=AdjustReason.INVENTORY_AUDIT, reason="audit"))
    before = await state(admin)
    with pytest.raises(BioTrackRejected) as info:
        await north.submit(InventoryCreateLot(
            removals=(Removal(barcode_id=item_id, quantity=Decimal("6"), uom="lb"),)))
    assert info.value.errorcode == 202 and "5 pounds" in info.value.message
    assert live(await state(admin))["inventory"] == live(before)["inventory"]


# -- sessions, modes, isolation ------------------------------------------------------------


async def test_expired_session_is_renewed_transparently(
    sim: BioTrackServer, north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    await north.plant_rooms()
    expired = await admin.post("/_sim/sessions/expire", json={"ubi": NORTH.ubi})
    assert expired.json() == {"expired": 1}
    plants = await new_plants(north, 1)
    assert len(plants) == 1
    calls = (await state(admin))["calls"]
    assert [c["action"] for c in calls].count("login") == 2
    assert any(str(c["errorcode"]) == "63" for c in calls)


async def test_session_ttl_expiry_on_the_simulator_clock() -> None:
    async with await start(config=SimConfig(session_ttl_s=60)) as sim, connect(sim) as north, \
            httpx.AsyncClient(base_url=sim.base_url) as admin:
        await north.plant_rooms()
        await admin.post("/_sim/clock", json={"advance_s": 61})
        assert len(await north.plant_rooms()) == 4
        logins = [c for c in (await state(admin))["calls"] if c["action"] == "login"]
        assert len(logins) == 2


async def test_training_mode_is_a_separate_world(
    sim: BioTrackServer, north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    async with connect(sim, training=True) as practice:
        made = await new_plants(practice, 2)
        assert [await practice.find_plant(p) is not None for p in made] == [True, True]
    assert [await north.find_plant(p) for p in made] == [None, None]
    snapshot = await state(admin)
    assert set(made) <= set(snapshot["worlds"]["training"][NORTH.location]["plants"])
    assert not set(made) & set(live(snapshot)["plants"])
    assert all(c["training"] for c in snapshot["calls"] if c["action"] == "plant_new")


async def test_another_licenses_ids_are_refused(
    north: BioTrackClient, south: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    north_plant = (await north.plants())[0]
    south_rooms = await south.plant_rooms()
    before = live(await state(admin))["plants"][north_plant.id]
    with pytest.raises(BioTrackRejected) as info:
        await south.submit(PlantMove(barcode_ids=(north_plant.id,), room=south_rooms[0].id))
    assert info.value.errorcode == 602
    assert f"possession of identifier {north_plant.id}" in info.value.message
    with pytest.raises(BioTrackRejected, match="possession"):
        await south.submit(InventoryAdjust(barcode_id=await flower(north), quantity=Decimal(0),
                                           reason_code=AdjustReason.THEFT, reason="x"))
    # North's own plant into South's room: the room is not North's.
    with pytest.raises(BioTrackRejected, match="valid room"):
        await north.submit(PlantMove(barcode_ids=(north_plant.id,), room=south_rooms[0].id))
    assert live(await state(admin))["plants"][north_plant.id] == before
    assert await south.find_plant(north_plant.id) is None


async def test_wrong_location_license_is_refused(sim: BioTrackServer) -> None:
    async with BioTrackClient(sim.url, NORTH.ubi, NORTH.username, NORTH.password,
                              training=False, location=SOUTH.location) as client:
        with pytest.raises(BioTrackRejected) as info:
            await client.submit(PlantWasteWeigh(weight=Decimal(1), collectiontime=NOW))
    assert info.value.errorcode == 602 and "license number" in info.value.message


async def test_bad_password_and_read_only_user(sim: BioTrackServer) -> None:
    async with BioTrackClient(sim.url, NORTH.ubi, NORTH.username, "wrong",
                              training=False) as client:
        with pytest.raises(BioTrackAuthError, match="Invalid username or password"):
            await client.plant_rooms()
    async with connect(sim, VIEWER) as viewer:
        assert len(await viewer.plant_rooms()) == 4
        with pytest.raises(BioTrackAuthError) as info:
            await viewer.submit(PlantWasteWeigh(weight=Decimal(1), collectiontime=NOW))
    assert info.value.errorcode == 62


# -- faults ------------------------------------------------------------------------------


async def test_outage_window_then_recovery(
    sim: BioTrackServer, north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    await north.plant_rooms()  # logged in before the outage starts
    await faults(admin, {"kind": "status", "status": 503, "for_s": 600, "retry_after_s": 30})
    with pytest.raises(BioTrackServerError) as info:
        await north.plant_rooms()
    assert info.value.status == 503 and info.value.retry_after == 30
    assert info.value.retryable
    await admin.post("/_sim/clock", json={"advance_s": 601})
    assert len(await north.plant_rooms()) == 4


async def test_login_during_outage_means_not_sent(north: BioTrackClient,
                                                 admin: httpx.AsyncClient) -> None:
    await faults(admin, {"kind": "status", "status": 503, "for_s": 600})
    with pytest.raises(BioTrackNotSent) as info:
        await north.submit(PlantWasteWeigh(weight=Decimal(1), collectiontime=NOW))
    assert info.value.status == 503 and info.value.maybe_applied is False
    assert [c["action"] for c in (await state(admin))["calls"]] == ["login"]


async def test_outage_as_hang_is_ambiguous(sim: BioTrackServer,
                                           admin: httpx.AsyncClient) -> None:
    async with connect(sim, timeout=0.5) as north:
        await north.plant_rooms()
        await faults(admin, {"kind": "hang"})
        with pytest.raises(BioTrackAmbiguous) as info:
            await north.submit(PlantWasteWeigh(weight=Decimal(1), collectiontime=NOW))
    assert info.value.maybe_applied
    assert live(await state(admin))["waste"] == []


async def test_server_down_is_not_sent(sim: BioTrackServer) -> None:
    async with connect(sim) as north:
        await north.plant_rooms()
        await sim.stop()
        with pytest.raises(BioTrackNotSent) as info:
            await north.submit(PlantWasteWeigh(weight=Decimal(1), collectiontime=NOW))
    assert info.value.maybe_applied is False


async def test_commit_then_500_lands_and_read_back_shows_it(
    north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    plants = await new_plants(north, 1)
    target = (await north.plant_rooms())[3].id
    await faults(admin, {"kind": "commit_then_500", "actions": ["plant_move"], "count": 1})
    with pytest.raises(BioTrackServerError) as info:
        await north.submit(PlantMove(barcode_ids=plants, room=target), nonce="move-1")
    assert info.value.maybe_applied
    found = await north.find_plant(plants[0])
    assert found is not None and found.room == target
    replayed = await north.replay("move-1")
    assert replayed.transaction_id is not None
    # The rule fired once; the next move answers normally.
    await north.submit(PlantMove(barcode_ids=plants, room=target))


async def test_commit_then_hang_on_a_harvest_then_replay(
    sim: BioTrackServer, admin: httpx.AsyncClient
) -> None:
    async with connect(sim, timeout=0.5) as north:
        (plant,) = await new_plants(north, 1)
        await north.submit(PlantHarvestSchedule(barcode_ids=(plant,)))
        await faults(admin, {"kind": "commit_then_hang", "actions": ["plant_harvest"]})
        with pytest.raises(BioTrackAmbiguous):
            await north.submit(PlantHarvest(
                barcode_ids=(plant,), collectiontime=NOW,
                weights=(Weight(amount=Decimal(700), invtype=InventoryType.FLOWER),),
            ), nonce="harvest-1")
        await admin.delete("/_sim/faults")
        # Read back before retrying: the weight is there, so don't send it again.
        weights = await north.plant_weights(plant)
        assert [(w.inventory_type, w.weight) for w in weights] == [(29, Decimal(700))]
        replayed = await north.replay("harvest-1")
        assert replayed.derivatives[0].barcode_id == weights[0].inventory_id
        with pytest.raises(BioTrackRejected, match="could not be found"):
            await north.replay("never-sent")


async def test_reset_is_ambiguous_and_nothing_landed(
    north: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    await north.plant_rooms()
    await faults(admin, {"kind": "reset", "actions": ["plant_waste_weigh"]})
    with pytest.raises(BioTrackAmbiguous):
        await north.submit(PlantWasteWeigh(weight=Decimal(1), collectiontime=NOW))
    assert live(await state(admin))["waste"] == []


async def test_rate_limit_every_second_call(north: BioTrackClient,
                                            admin: httpx.AsyncClient) -> None:
    await north.plant_rooms()
    await faults(admin, {"kind": "status", "status": 429, "every_n": 2, "retry_after_s": 1.5})
    assert await north.employees()
    with pytest.raises(BioTrackRateLimited) as info:
        await north.employees()
    assert info.value.retry_after == 1.5 and info.value.maybe_applied is False
    assert await north.employees()
    stats = (await state(admin))["fault_stats"]
    assert stats == [{"matched": 3, "fired": 1}]


async def test_latency_and_leaked_header_are_tolerated(north: BioTrackClient,
                                                       admin: httpx.AsyncClient) -> None:
    await faults(admin, {"kind": "leak_header"}, latency_s=0.05)
    assert len(await north.plant_rooms()) == 4
    raw = await admin.post("/serverjson.asp", content=json.dumps({"API": "4.0",
                                                                  "action": "login"}))
    assert raw.text.startswith("Content-Type: text/plain")


async def test_bad_fault_plan_is_refused(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/_sim/faults", json={"rules": [{"kind": "explode"}]})
    assert response.status_code == 400
    response = await admin.post("/_sim/faults", json={"rules": [], "latency": 1})
    assert response.status_code == 400


# -- the raw wire ---------------------------------------------------------------------------


async def raw(admin: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await admin.post("/serverjson.asp", content=json.dumps(body),
                                headers={"Content-Type": "text/JSON"})
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


async def test_answers_mix_string_and_number_types(admin: httpx.AsyncClient) -> None:
    answers = [await raw(admin, {"API": "4.0", "action": "sync_plant", "sessionid": "nope"})
               for _ in range(24)]
    assert {type(a["success"]) for a in answers} == {int, str}
    assert {type(a["errorcode"]) for a in answers} == {int, str}
    assert all(int(a["errorcode"]) == 63 for a in answers)
    assert all(a["error"] == "Your session has expired." for a in answers)


async def test_api_version_nosession_and_login_shapes(admin: httpx.AsyncClient) -> None:
    old = await raw(admin, {"API": "3.0", "action": "login"})
    assert int(old["errorcode"]) == 17
    missing = await raw(admin, {"API": "4.0", "action": "login", "username": "x"})
    assert "errorcode" not in missing and "license_number" in missing["error"]
    login = await raw(admin, {"API": "4.0", "action": "login", "license_number": NORTH.ubi,
                              "username": NORTH.username, "password": NORTH.password})
    assert len(login["sessionid"]) == 128 and int(login["success"]) == 1
    inline = await raw(admin, {"API": "4.0", "action": "sync_employee", "nosession": 1,
                               "license_number": SOUTH.ubi, "username": SOUTH.username,
                               "password": SOUTH.password, "download": 1})
    assert [e["employee_name"] for e in inline["employee"]] == ["Cara Diaz", "Dev Patel"]
    unknown = await raw(admin, {"API": "4.0", "action": "make_coffee",
                                "sessionid": login["sessionid"]})
    assert int(unknown["success"]) == 0 and int(unknown["errorcode"]) == 200


async def test_ids_are_16_digits_and_unique_statewide(
    sim: BioTrackServer, north: BioTrackClient, south: BioTrackClient, admin: httpx.AsyncClient
) -> None:
    made: list[str] = []
    async with connect(sim, training=True) as practice:
        for client in (north, south, practice, north, south):
            made.extend(await new_plants(client, 5))
        made.extend((await north.submit(PlantWasteWeigh(weight=Decimal(2),
                                                        collectiontime=NOW))).barcode_ids)
    assert len(set(made)) == len(made) == 26
    snapshot = await state(admin)
    every_id = [
        object_id
        for world in snapshot["worlds"].values()
        for loc in world.values()
        for table in ("plants", "inventory")
        for object_id in loc[table]
        if not (table == "inventory" and object_id in loc["plants"])  # converted plants
    ]
    assert len(every_id) == len(set(every_id))
    assert all(len(i) == 16 and i.isdigit() for i in every_id)
    assert set(made) <= set(every_id)


async def test_concurrent_clients_share_one_login(north: BioTrackClient,
                                                  admin: httpx.AsyncClient) -> None:
    results = await asyncio.gather(*(north.plant_rooms() for _ in range(8)))
    assert all(len(r) == 4 for r in results)
    calls = (await state(admin))["calls"]
    assert [c["action"] for c in calls].count("login") == 1


# -- the command line -------------------------------------------------------------------------


async def test_module_runs_as_a_command() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "statesim.biotrack", "--port", "0", "--seed", "3",
        "--destroy-hold", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("BioTrack simulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        async with BioTrackClient(url, NORTH.ubi, NORTH.username, NORTH.password,
                                  training=False, location=NORTH.location) as client:
            plants = await new_plants(client, 1)
            await client.submit(PlantDestroySchedule(barcode_ids=plants, reason_code=1,
                                                     reason="test"))
            await client.submit(PlantDestroy(barcode_ids=plants))  # hold is 0 here
    finally:
        proc.terminate()
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0
