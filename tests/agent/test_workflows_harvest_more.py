"""Harvest work besides the wet-weight loop: manicure (a mode of the loop), harvest waste
(domain.md §2.6 "Waste record") and the cure's dry weight. Weights come from the simulated
scale through the real driver, under the same rules as the harvest loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import SCALE_ID, WORKERS, flower_room_1, reference, tag
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(90)
PLANTS = flower_room_1()
DANA, SAM, _ = WORKERS
BATCH = "HB-20250520-1"  # the demo's harvest batch, drying in the Dry Room


async def weighing(kiosk: KioskRig, mode: str) -> None:
    await kiosk.sign_in()
    await kiosk.act("go", screen="harvest")
    assert (await kiosk.act("mode", mode=mode))["ok"]
    await kiosk.act("batch", name=BATCH)
    assert (await kiosk.act("start"))["ok"]


async def harvest_one(kiosk: KioskRig, plant: str, weight: str) -> None:
    await kiosk.scan(plant)
    saved = await kiosk.weigh(weight)
    assert saved is not None and saved["event"], saved
    await kiosk.empty_scale()


# --- manicure ---------------------------------------------------------------------------------

async def test_manicure_records_plant_manicured_and_the_plant_stays_alive(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await weighing(kiosk, "manicure")
        saved = []
        for plant, weight in zip(PLANTS[:3], ("120.5", "98.0", "131.2"), strict=True):
            assert (await kiosk.scan(plant))["ok"]
            answer = await kiosk.weigh(weight)
            assert answer is not None and answer["event"], answer
            assert answer["message"].startswith(f"Saved {weight} g manicured from plant {plant}.")
            saved.append(answer["event"])
            await kiosk.empty_scale()
        events = kiosk.events("plant.manicured")
        assert [e["id"] for e in events] == saved and kiosk.events("plant.harvested") == []
        for event, plant in zip(events, PLANTS[:3], strict=True):
            data = event["data"]
            assert (data["tag"], data["harvest_name"], data["drying_location"]) == (plant, BATCH, "Dry Room")
            assert data["weight"]["scale_id"] == SCALE_ID and data["weight"]["stable"] is True
        view = kiosk.state()["flow"]
        assert (view["mode"], view["count"], view["totals"]) == ("manicure", 3, ["349.7 g"])
        # Still alive and flowering where it was: it can be moved, and harvested whole later.
        info = kiosk.floor.plant(PLANTS[0])
        assert info is not None and info.alive and info.phase == "Flowering" and not info.harvest
        await kiosk.act("change_batch")
        await kiosk.act("mode", mode="whole")
        await kiosk.act("start")
        assert kiosk.state()["flow"]["count"] == 0  # the whole-plant count starts on its own
        await harvest_one(kiosk, PLANTS[0], "800.0")
        [harvested] = kiosk.events("plant.harvested")
        assert harvested["data"]["tag"] == PLANTS[0]


async def test_manicure_refuses_the_same_plant_twice_and_a_harvested_plant(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await weighing(kiosk, "whole")
        await harvest_one(kiosk, PLANTS[5], "812.0")
        await kiosk.act("change_batch")
        await kiosk.act("mode", mode="manicure")
        await kiosk.act("start")
        gone = await kiosk.scan(PLANTS[5])
        assert not gone["ok"] and "already weighed (812.0 g" in gone["message"]
        await harvest_one(kiosk, PLANTS[0], "110.0")
        twice = await kiosk.scan(PLANTS[0])
        assert not twice["ok"] and "already manicured (110.0 g" in twice["message"]
        assert [f["tag"] for f in kiosk.state()["flow"]["flagged"]] == [PLANTS[0], PLANTS[5]]
        assert await kiosk.weigh("90.0") is not None  # not armed: nothing logged
        assert len(kiosk.events("plant.manicured")) == 1
        assert not (await kiosk.act("mode", mode="half"))["ok"]


# --- harvest waste ------------------------------------------------------------------------------

async def test_harvest_waste_type_from_the_state_list_weight_from_the_scale_and_a_witness(
        tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:  # the demo profile wants a witness for waste
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="harvest_waste")
        assert not (await kiosk.scan(PLANTS[0]))["ok"]  # a plant is not a harvest batch
        assert (await kiosk.scan(BATCH))["ok"]
        assert not (await kiosk.act("type", name="Leaves and such"))["ok"]
        assert (await kiosk.act("type", name="Stems"))["ok"]
        early = await kiosk.act("save")
        assert not early["ok"] and "weigh the waste" in early["message"]
        taken = await kiosk.weigh("1.250", "kg")
        assert taken is not None and "1.250 kg" in taken["message"]
        blocked = await kiosk.act("save")
        assert not blocked["ok"] and "a witness signs in" in blocked["message"]
        await kiosk.act("second.start")
        assert not (await kiosk.scan(SAM.badge))["ok"]  # not the same person
        assert (await kiosk.scan(DANA.badge))["ok"]
        saved = await kiosk.act("confirm")  # the foot pedal's action
        assert saved["ok"] and saved["message"] == f"Saved: 1.250 kg Stems waste from {BATCH}.", saved
        [event] = kiosk.events("harvest.waste")
        assert (event["user"], event["witness"]) == (SAM.id, DANA.id)
        data = event["data"]
        assert (data["harvest_name"], data["waste_type"]) == (BATCH, "Stems")
        assert data["weight"] == {"value": "1.250", "unit": "kg", "scale_id": SCALE_ID, "stable": True,
                                  "raw": data["weight"]["raw"]}
        assert kiosk.state()["flow"]["saved"][0]["witness"] == "Dana Ortiz"
        # The same load is not a second waste record: the scale must be emptied first.
        await kiosk.act("type", name="Stems")
        again = await kiosk.act("save")
        assert not again["ok"] and len(kiosk.events("harvest.waste")) == 1


async def test_harvest_waste_without_the_state_list_cannot_be_checked_offline(tmp_path: Path) -> None:
    ref = reference(witness=False)
    del ref["harvest_waste_types"]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="harvest_waste")
        chosen = await kiosk.scan(BATCH)
        assert not chosen["ok"] and "cannot be checked offline" in chosen["message"]
        guessed = await kiosk.act("type", name="Stems")
        assert not guessed["ok"] and "cannot be checked offline" in guessed["message"]
        await kiosk.weigh("400.0")
        refused = await kiosk.act("save")
        assert not refused["ok"] and "cannot be checked offline" in refused["message"]
        assert kiosk.events("harvest.waste") == []
        # Once the list arrives the same waste is saved, without a witness where none is required.
        await kiosk.load_ref({"harvest_waste_types": [{"name": "Waste"}]})
        await kiosk.act("type", name="Waste")
        assert (await kiosk.act("save"))["ok"]
        [event] = kiosk.events("harvest.waste")
        assert event["data"]["waste_type"] == "Waste" and "witness" not in event


# --- cure ---------------------------------------------------------------------------------------

async def curing(kiosk: KioskRig) -> None:
    await kiosk.act("go", screen="cure")
    assert kiosk.state()["flow"]["room"] == "Vault"  # the one storage room
    assert kiosk.state()["flow"]["rooms"] == ["Dry Room", "Vault"]


async def test_cure_dry_weight_of_plants_harvested_here_or_by_the_state(tmp_path: Path) -> None:
    ref = reference()
    dried = tag(0, 501)
    ref["plants"] = [*ref["plants"], {"tag": dried, "location": "Dry Room", "phase": "Harvested"}]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await weighing(kiosk, "whole")
        await harvest_one(kiosk, PLANTS[0], "812.4")
        await curing(kiosk)
        armed = await kiosk.scan(PLANTS[0])
        assert armed["message"] == f"Plant {PLANTS[0]}: put it on the scale."
        saved = await kiosk.weigh("160.2")
        assert saved is not None and saved["event"], saved
        await kiosk.empty_scale()
        assert (await kiosk.scan(dried))["ok"]
        assert (await kiosk.weigh("98.7"))["event"]  # type: ignore[index]
        events = kiosk.events("plant.cured")
        assert [(e["data"]["tag"], e["data"]["location"], e["data"]["weight"]["value"]) for e in events] == \
            [(PLANTS[0], "Vault", "160.2"), (dried, "Vault", "98.7")]
        assert events[0]["data"]["weight"]["scale_id"] == SCALE_ID
        assert kiosk.state()["flow"]["count"] == 2


async def test_cure_refuses_a_plant_not_harvested_and_flags_a_plant_cured_twice(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await weighing(kiosk, "whole")
        await harvest_one(kiosk, PLANTS[0], "812.4")
        await curing(kiosk)
        growing = await kiosk.scan(PLANTS[1])
        assert not growing["ok"] and "not harvested yet (flowering)" in growing["message"]
        package = await kiosk.scan(tag(9, 1))
        assert not package["ok"] and "package tag" in package["message"]
        plants_only = await kiosk.act("room", name="Flower Room 1")
        assert not plants_only["ok"] and "plants only" in plants_only["message"]
        await kiosk.scan(PLANTS[0])
        await kiosk.weigh("150.0")
        await kiosk.empty_scale()
        twice = await kiosk.scan(PLANTS[0])
        assert not twice["ok"] and "already cured (150.0 g dry)" in twice["message"]
        assert kiosk.state()["flow"]["flagged"][0]["tag"] == PLANTS[0]
        # Also after leaving the screen: the kiosk remembers what it cured.
        await kiosk.act("go", screen="cure")
        assert not (await kiosk.scan(PLANTS[0]))["ok"]
        assert len(kiosk.events("plant.cured")) == 1
