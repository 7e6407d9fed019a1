"""Metrc reference data down-sync against the real Metrc simulator (HTTP) and Mosquitto.

What a kiosk sees is checked on the broker: retained messages a subscriber gets
when it connects after the bridge published, each accepted by
``canopy.refdata.decode``, with rows equal to the simulator's state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.refsync import RefSync
from bridge.state.metrc import Location, MetrcClient, MetrcRefSource, MovePlant, room_kind
from canopy.refdata import REF_NAMES, row_count
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator, SimConfig
from tests.bridge.test_refsync_support import PROFILE, ROSTER, SCALES, Bridge, Watcher, running
from tests.provisioned import ProvisionedSite

pytestmark = pytest.mark.timeout(60)

FARM_A = DEMO_LICENSES[0]
STATIC = {"profile": PROFILE, "scales": SCALES, "workers": ROSTER}
VEG_PLANT = "1A4FF0100000022000001001"



@pytest.fixture
def provisioned_facility() -> str:
    return FARM_A

@pytest.fixture
async def sim() -> AsyncIterator[MetrcSimulator]:
    async with MetrcSimulator() as simulator:
        yield simulator


@pytest.fixture
async def metrc(sim: MetrcSimulator) -> AsyncIterator[MetrcClient]:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=5) as client:
        yield client


def seeded(sim: MetrcSimulator) -> dict[str, Any]:
    state: dict[str, Any] = sim.snapshot(FARM_A)["licenses"][FARM_A]
    return state


def today() -> Any:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


async def test_a_kiosk_connecting_later_gets_every_name_as_the_state_has_it(
    provisioned: ProvisionedSite, sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    bridge = Bridge(provisioned)
    async with running(bridge.connection):
        sync = RefSync(FARM_A, MetrcRefSource(metrc), bridge.publish, interval_s=300, static=STATIC)
        counts = await sync.sync_once()
        await bridge.mark_end(FARM_A)
    assert sync.last_success is not None and sync.last_error is None

    # The bridge has disconnected; the kiosk connects afterwards.
    kiosk = Watcher(provisioned, FARM_A)
    await kiosk.start()
    try:
        assert kiosk.errors == []
        assert sorted(kiosk.names()) == sorted(REF_NAMES)
        assert all(retained for _, _, retained in kiosk.messages)
        assert counts == {
            name: row_count(name, kiosk.rows(name)) for name in REF_NAMES
        }
        state = seeded(sim)

        assert kiosk.rows("profile") == PROFILE
        assert kiosk.rows("scales") == SCALES

        rooms = {room.name: room for room in kiosk.rows("rooms")}
        assert set(rooms) == {loc["Name"] for loc in state["locations"]}
        for loc in state["locations"]:
            assert (rooms[loc["Name"]].for_plants, rooms[loc["Name"]].for_packages) == (
                loc["ForPlants"], loc["ForPackages"]
            )
        # Propagation, Drying and Storage types say what a room is for; "Cultivation"
        # (veg and flower rooms alike) and "Default" do not.
        assert {name: room.kind for name, room in rooms.items()} == {
            "Clone Room": "vegetative", "Veg Room": "other", "Flower Room A": "other",
            "Flower Room B": "other", "Dry Room": "drying", "Vault": "storage", "Quarantine": "other",
        }

        plants = {plant.tag: plant for plant in kiosk.rows("plants")}
        tracked = {p["Label"]: p for p in state["plants"] if p["GrowthPhase"] in ("Vegetative", "Flowering")
                   and p["State"] == "Tracked"}
        assert set(plants) == set(tracked)
        for tag, plant in plants.items():
            want = tracked[tag]
            assert (plant.location, plant.phase, plant.strain, plant.plant_batch) == (
                want["LocationName"], want["GrowthPhase"], want["StrainName"], want["PlantBatchName"] or ""
            )
        assert {p.phase for p in plants.values()} == {"Vegetative", "Flowering"}

        assert kiosk.rows("plant_tags") == sorted(state["plant_tags"]["available"])
        assert kiosk.rows("package_tags") == sorted(state["package_tags"]["available"])
        assert VEG_PLANT not in kiosk.rows("plant_tags")  # in use, so not available

        assert sorted(s.name for s in kiosk.rows("strains")) == sorted(s["Name"] for s in state["strains"])
        items = {(i.name, i.category, i.unit) for i in kiosk.rows("items")}
        assert items == {
            (i["Name"], i["ProductCategoryName"], i["UnitOfMeasureName"]) for i in state["items"]
        }

        batches = {(b.name, b.strain, b.count, b.location) for b in kiosk.rows("plant_batches")}
        assert batches == {
            (b["Name"], b["StrainName"], b["UntrackedCount"], b["LocationName"])
            for b in state["plant_batches"] if b["UntrackedCount"] > 0
        }
        harvests = {(h.name, h.location) for h in kiosk.rows("harvests")}
        assert harvests == {(h["Name"], h["DryingLocationName"]) for h in state["harvests"]
                            if h["FinishedDate"] is None}

        # Plant waste: methods usable on plants only (the incinerator is for products).
        assert sorted(m.name for m in kiosk.rows("waste_methods")) == ["Compost", "Grinder", "Landfill"]
        reasons = {r.name: (r.requires_note, r.requires_weight) for r in kiosk.rows("waste_reasons")}
        assert reasons == {
            "Contamination": (False, True), "Male Plants": (False, False),
            "Pest Infestation": (False, True), "Trim": (False, True), "Other": (True, True),
        }
    finally:
        await kiosk.stop()


async def test_a_moved_plant_is_republished_and_unchanged_names_are_not(
    provisioned: ProvisionedSite, sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    bridge = Bridge(provisioned)
    kiosk = Watcher(provisioned, FARM_A)
    async with running(bridge.connection):
        await bridge.mark_end(FARM_A)
        await kiosk.start()
        sync = RefSync(FARM_A, MetrcRefSource(metrc), bridge.publish, interval_s=300, static=STATIC)
        await sync.sync_once()
        await kiosk.barrier(bridge)
        assert sorted(bridge.published) == sorted(REF_NAMES)  # everything once after start
        before = {p.tag: p.location for p in kiosk.rows("plants")}
        assert before[VEG_PLANT] == "Veg Room"

        # Moved in the state system, and read straight away (same second as the move).
        await metrc.move_plants([MovePlant(label=VEG_PLANT, location="Flower Room A", actual_date=today())])
        bridge.published.clear()
        seen = len(kiosk.messages)
        await sync.sync_once()
        await kiosk.barrier(bridge)
        assert bridge.published == ["plants"]
        assert kiosk.names()[seen:] == ["plants"]
        after = {p.tag: p.location for p in kiosk.rows("plants")}
        assert after == before | {VEG_PLANT: "Flower Room A"}

        # Nothing changed: nothing is published.
        bridge.published.clear()
        seen = len(kiosk.messages)
        await sync.sync_once()
        await kiosk.barrier(bridge)
        assert bridge.published == []
        assert len(kiosk.messages) == seen
        assert kiosk.errors == []
    await kiosk.stop()


async def test_lists_stay_whole_where_metrc_answers_nothing_without_a_window() -> None:
    # New York's v2 answered /locations/v2/active empty without lastModified bounds.
    async with (
        MetrcSimulator(config=SimConfig(no_window="empty")) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=5) as client,
    ):
        windowed = await MetrcRefSource(client).fetch()
        bare = await MetrcRefSource(client, window_start=None).fetch()
        rooms = len(seeded(sim)["locations"])
    assert len(windowed["rooms"]) == rooms
    assert len(windowed["plants"]) == 12
    assert bare["rooms"] == [] and bare["plants"] == []
    # Endpoints without a window (tags, waste reasons) are the same either way.
    assert bare["plant_tags"] == windowed["plant_tags"]
    assert bare["waste_reasons"] == windowed["waste_reasons"]


async def test_unchanged_names_are_refreshed_after_republish_after_s(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    sent: list[str] = []
    sync = RefSync(FARM_A, MetrcRefSource(metrc), lambda topic, _: sent.append(topic), interval_s=300,
                   static=STATIC, republish_after_s=0)
    await sync.sync_once()
    await sync.sync_once()
    assert len(sent) == 2 * len(REF_NAMES)


@pytest.mark.parametrize(("flags", "type_name", "kind"), [
    # (ForPlantBatches, ForPlants, ForHarvests, ForPackages): what the room may hold decides.
    ((True, True, False, False), "Propagation", "vegetative"),
    ((True, False, False, False), "Room 2", "vegetative"),
    ((False, False, True, True), "Drying", "drying"),
    ((False, False, True, False), "Shed", "drying"),
    ((False, False, False, True), "Storage", "storage"),
    ((False, True, False, False), "Cultivation", "other"),  # veg or flower: the profile says
    ((True, True, True, True), "Default", "other"),
    # Words in the type's name say nothing: a plant room called "Drying Canopy" is not a dryer.
    ((False, True, False, False), "Drying Canopy", "other"),
    ((False, False, False, True), "Flower Vault", "storage"),
])
def test_room_kinds_come_from_the_location_type_flags(
    flags: tuple[bool, bool, bool, bool], type_name: str, kind: str,
) -> None:
    batches, plants, harvests, packages = flags
    location = Location(id=1, name="R", location_type_name=type_name, for_plant_batches=batches,
                        for_plants=plants, for_harvests=harvests, for_packages=packages)
    assert room_kind(location) == kind
    assert room_kind(location, {"R": "flowering"}) == "flowering"  # the facility profile wins


async def test_the_facility_profile_names_a_room_kind_the_state_cannot(metrc: MetrcClient) -> None:
    source = MetrcRefSource(metrc, room_kinds={"Flower Room A": "flowering", "Veg Room": "vegetative"})
    rooms = {room.name: room.kind for room in (await source.fetch())["rooms"]}
    assert rooms["Flower Room A"] == "flowering" and rooms["Veg Room"] == "vegetative"
    assert rooms["Flower Room B"] == "other" and rooms["Dry Room"] == "drying"
