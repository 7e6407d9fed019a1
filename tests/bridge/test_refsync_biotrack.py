"""BioTrack reference data down-sync against the real BioTrack simulator (HTTP) and Mosquitto.

BioTrack provides rooms, plants and plant sources (as plant_batches) only; the
other names get no retained message, which is how a kiosk knows they cannot be
checked offline.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bridge.refsync import RefSync
from bridge.state.biotrack import (
    BioTrackClient,
    BioTrackRefSource,
    InventoryType,
    PlantHarvest,
    PlantHarvestSchedule,
    PlantMove,
    Weight,
)
from canopy.refdata import Profile, row_count
from statesim.biotrack import DEMO_ACCOUNTS, BioTrackServer, start
from tests.bridge.test_refsync_support import SCALES, Bridge, Watcher, running
from tests.provisioned import ProvisionedSite

pytestmark = pytest.mark.timeout(60)

NORTH = DEMO_ACCOUNTS[0]
FACILITY = NORTH.location
PROFILE = Profile(system="biotrack", state="NM", timezone="America/Denver", tag_format="biotrack")
STATIC = {"profile": PROFILE, "scales": SCALES}
PUBLISHED = {"profile", "scales", "rooms", "plants", "plant_batches", "adjust_reasons",
             "harvest_waste_types"}



@pytest.fixture
def provisioned_facility() -> str:
    return FACILITY

@pytest.fixture
async def sim() -> AsyncIterator[BioTrackServer]:
    async with await start(seed=11) as running_sim:
        yield running_sim


@pytest.fixture
async def biotrack(sim: BioTrackServer) -> AsyncIterator[BioTrackClient]:
    async with BioTrackClient(sim.url, NORTH.ubi, NORTH.username, NORTH.password, training=False,
                              location=NORTH.location, timeout=5) as client:
        yield client


async def live_state(sim: BioTrackServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        response = await http.get("/_sim/state")
    response.raise_for_status()
    state: dict[str, Any] = response.json()["worlds"]["live"][FACILITY]
    return state


async def test_a_kiosk_connecting_later_gets_what_biotrack_can_answer(
    provisioned: ProvisionedSite, sim: BioTrackServer, biotrack: BioTrackClient
) -> None:
    source = BioTrackRefSource(biotrack)
    bridge = Bridge(provisioned)
    async with running(bridge.connection):
        sync = RefSync(FACILITY, source, bridge.publish, interval_s=300, static=STATIC)
        counts = await sync.sync_once()
        await bridge.mark_end(FACILITY)
    assert sync.names == ("profile", "rooms", "harvest_waste_types", "adjust_reasons", "plants",
                          "plant_batches", "scales")

    kiosk = Watcher(provisioned, FACILITY)
    await kiosk.start()
    try:
        assert kiosk.errors == []
        assert set(kiosk.names()) == PUBLISHED and len(kiosk.names()) == len(PUBLISHED)
        assert all(retained for _, _, retained in kiosk.messages)
        assert counts == {name: row_count(name, kiosk.rows(name)) for name in PUBLISHED}
        state = await live_state(sim)

        rooms = {room.name: room for room in kiosk.rows("rooms")}
        plant_rooms = {r["name"]: r["roomid"] for r in state["plant_rooms"]}
        inventory_rooms = {r["name"]: r["roomid"] for r in state["inventory_rooms"]}
        assert set(rooms) == set(plant_rooms) | set(inventory_rooms)
        for name, room in rooms.items():
            assert (room.for_plants, room.for_packages, room.kind) == (
                name in plant_rooms, name in inventory_rooms, "other"
            )

        room_names = {room_id: name for name, room_id in plant_rooms.items()}
        plants = {p.tag: p for p in kiosk.rows("plants")}
        assert set(plants) == set(state["plants"])
        for tag, plant in plants.items():
            row = state["plants"][tag]
            assert (plant.location, plant.strain, plant.phase, plant.plant_batch) == (
                room_names[row["room"]], row["strain"], "Other", ""
            )

        # Clone and seed lots are what new plants come from: BioTrack's plant batches.
        vault = {room_id: name for name, room_id in inventory_rooms.items()}
        sources = {(b.name, b.strain, b.count, b.location) for b in kiosk.rows("plant_batches")}
        assert sources == {
            (item_id, row["strain"], int(Decimal(row["remaining_quantity"])), vault[row["currentroom"]])
            for item_id, row in state["inventory"].items()
            if row["inventorytype"] in (InventoryType.CLONE, InventoryType.SEED)
        }
        assert len(sources) == 3  # two clone lots and a seed lot; flower and trim are not sources
    finally:
        await kiosk.stop()


async def test_moves_and_harvests_show_after_the_next_sync_and_nothing_else_is_republished(
    provisioned: ProvisionedSite, sim: BioTrackServer, biotrack: BioTrackClient
) -> None:
    bridge = Bridge(provisioned)
    kiosk = Watcher(provisioned, FACILITY)
    async with running(bridge.connection):
        await bridge.mark_end(FACILITY)
        await kiosk.start()
        sync = RefSync(FACILITY, BioTrackRefSource(biotrack), bridge.publish, interval_s=300, static=STATIC)
        await sync.sync_once()
        await kiosk.barrier(bridge)
        assert set(bridge.published) == PUBLISHED

        state = await live_state(sim)
        rooms = {r["name"]: r["roomid"] for r in state["plant_rooms"]}
        in_veg = sorted(tag for tag, row in state["plants"].items() if row["room"] == rooms["Veg Room"])
        moved, harvested = in_veg[0], in_veg[1]
        await biotrack.submit(PlantMove(barcode_ids=(moved,), room=rooms["Flower Room B"]))
        await biotrack.submit(PlantHarvestSchedule(barcode_ids=(harvested,)))
        await biotrack.submit(PlantHarvest(
            barcode_ids=(harvested,), collectiontime=int(time.time()),
            weights=(Weight(amount=Decimal("500"), invtype=InventoryType.FLOWER),),
        ))

        bridge.published.clear()
        seen = len(kiosk.messages)
        await sync.sync_once()
        await kiosk.barrier(bridge)
        assert bridge.published == ["plants"]
        assert kiosk.names()[seen:] == ["plants"]
        plants = {p.tag: p for p in kiosk.rows("plants")}
        assert plants[moved].location == "Flower Room B"
        assert plants[harvested].phase == "Harvested"  # drying: the cure is still recorded on it
        assert kiosk.errors == []
    await kiosk.stop()
