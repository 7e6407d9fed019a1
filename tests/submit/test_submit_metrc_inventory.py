"""Manicure, cure, batch destroys, plantings from a package, package moves and
adjustments: kiosk → Mosquitto → bridge → Metrc simulator over HTTP, and back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from canopy.ids import uuid7
from statesim.metrc import FaultPlan, FaultRule
from tests.submit.conftest import Line, weight

pytestmark = pytest.mark.timeout(120)
PLANT = "1A4FF01000000220000010{:02d}"  # 06..12 are flowering
BATCH = "BD Clone 2025-10-01"  # 60 untracked clones
BUDS = "1A4FF0300000022000004001"  # 450 g in the Vault
CLONES = "1A4FF0300000022000004002"  # 50 Each in Quarantine


def batch_destroy(batch: str, count: int, grams: str, **kw: Any) -> dict[str, Any]:
    return {"plant_batch": batch, "count": count, "reason": "Pest Infestation", "method": "Compost",
            "material_mixed": "Soil", "weight": weight(grams), **kw}


def manicure(n: int, harvest: str, grams: str) -> dict[str, Any]:
    return {"tag": PLANT.format(n), "harvest_name": harvest, "drying_location": "Dry Room",
            "weight": weight(grams)}


def named(line: Line, kind: str, name: str) -> dict[str, Any]:
    return next(x for x in line.license_state()[kind] if x["Name"] == name)


def package(line: Line, label: str) -> dict[str, Any]:
    return next(p for p in line.license_state()["packages"] if p["Label"] == label)


def batch_waste(line: Line, batch: str) -> list[tuple[int, Decimal]]:
    return [(w["PlantCount"], Decimal(str(w["WasteWeight"])))
            for w in line.license_state()["plant_waste"] if w["PlantBatchName"] == batch]


async def test_new_floor_events_land_in_metrc_and_bad_rows_are_named(line: Line) -> None:
    manicures = [await line.record("plant.manicured", manicure(6, "Trim-1", "40.5")),
                 await line.record("plant.manicured", manicure(7, "Trim-1", "30"))]
    cured = await line.record("plant.cured", {"tag": PLANT.format(8), "location": "Vault",
                                              "weight": weight("210.4")})
    completed = await line.record("plant.destroy_completed", {"tag": PLANT.format(9), "scheduled": uuid7()})
    moved = await line.record("package.moved", {"tag": BUDS, "location": "Quarantine"})
    adjusted = await line.record("package.adjusted", {"tag": BUDS, "quantity": weight("0.98", "lb"),
                                                      "reason": "Scale Variance", "note": "re-weighed"})
    bad_adjust = await line.record("package.adjusted", {"tag": BUDS, "quantity": weight("10"),
                                                        "reason": "Spilled"})
    destroyed = await line.record("plant.destroyed", batch_destroy(BATCH, 5, "60"))
    bad_destroy = await line.record("plant.destroyed", batch_destroy("No Such Batch", 2, "10"))
    planted = await line.record("plant_batch.created", {
        "name": "BD From Clones 1", "type": "Clone", "count": 12, "strain": "Blue Dream",
        "location": "Clone Room", "source_package": CLONES})
    bad_planting = await line.record("plant_batch.created", {
        "name": "BD From Clones 2", "type": "Clone", "count": 40, "strain": "Blue Dream",
        "location": "Clone Room", "source_package": CLONES})
    everything = [*manicures, cured, completed, moved, adjusted, bad_adjust, destroyed, bad_destroy,
                  planted, bad_planting]
    states = await line.settled(everything)

    rejected = {bad_adjust, bad_destroy, bad_planting}
    assert {i: states[i] for i in everything} == {
        i: "rejected" if i in rejected else "accepted" for i in everything}
    rows = {r.id: r for r in await line.outbox.recent(50)}
    assert rows[bad_adjust].message == "Adjustment reason Spilled could not be found."
    assert rows[bad_destroy].message == "Plant batch No Such Batch could not be found."
    assert rows[bad_planting].message == f"Package {CLONES} has 38 Each; cannot take 40 Each for plantings."
    assert "Metrc has no per-plant dry weight" in (rows[cured].message or "")
    assert "when it was reported" in (rows[completed].message or "")

    trim = named(line, "harvests", "Trim-1")
    assert Decimal(str(trim["TotalWetWeight"])) == Decimal("70.5")
    assert line.plant(PLANT.format(6))["GrowthPhase"] == "Flowering"
    assert line.plant(PLANT.format(6))["State"] == "Tracked"
    assert line.plant(PLANT.format(8))["State"] == "Tracked"  # the cure is not a Metrc call
    buds = package(line, BUDS)
    assert buds["LocationName"] == "Quarantine"
    assert Decimal(str(buds["Quantity"])) == Decimal("0.98") * Decimal("453.59237")
    (adjustment,) = [a for a in line.license_state()["package_adjustments"] if a["PackageLabel"] == BUDS]
    assert adjustment["AdjustmentReasonName"] == "Scale Variance"
    assert adjustment["AdjustmentNote"] == f"re-weighed (Canopy event {adjusted})"
    batch = named(line, "plant_batches", BATCH)
    assert (batch["UntrackedCount"], batch["DestroyedCount"]) == (55, 5)
    assert batch_waste(line, BATCH) == [(5, Decimal(60))]
    new_batch = named(line, "plant_batches", "BD From Clones 1")
    assert (new_batch["UntrackedCount"], new_batch["SourcePackageLabel"]) == (12, CLONES)
    assert Decimal(str(package(line, CLONES)["Quantity"])) == 38


@pytest.mark.profile(timeout_s=1.0)
async def test_manicure_and_batch_destroy_count_once_after_commit_then_timeout_or_500(line: Line) -> None:
    """Metrc applied the write and the answer was lost (a timeout, then a 500): the
    bridge reads back and never sends the weight or the destroy a second time."""
    await line.sim.set_faults(FaultPlan(rules=(
        FaultRule(action="commit_then_hang", path="/plants/v2/manicure", seconds=3, times=1),
        FaultRule(action="commit_then_error", path="/plantbatches/v2", methods=("DELETE",), status=500,
                  times=1),
        FaultRule(action="commit_then_error", path="/plants/v2/manicure", status=500, every=2, times=1),
    )))
    ids = [await line.record("plant.manicured", manicure(10, "Storm Trim", "55.25")),
           await line.record("plant.manicured", manicure(11, "Storm Trim", "44.75")),
           await line.record("plant.destroyed", batch_destroy(BATCH, 7, "33.3")),
           await line.record("plant.destroyed", batch_destroy(BATCH, 3, "12"))]
    states = await line.settled(ids, timeout=90)
    assert all(states[i] == "accepted" for i in ids), states

    assert Decimal(str(named(line, "harvests", "Storm Trim")["TotalWetWeight"])) == Decimal(100)
    batch = named(line, "plant_batches", BATCH)
    assert (batch["UntrackedCount"], batch["DestroyedCount"]) == (50, 10)
    assert sorted(batch_waste(line, BATCH)) == [(3, Decimal(12)), (7, Decimal("33.3"))]
    faults = [e["fault"] for e in line.sim.log if e["method"] != "GET" and e["fault"]]
    assert {"commit_then_hang", "commit_then_error"} <= {str(f) for f in faults}
    messages = {r.id: r.message for r in await line.outbox.recent(10)}
    assert "confirmed by reading it back" in {messages[i] for i in ids}


async def test_clones_from_a_mother_plant_land_as_a_batch_and_an_unknown_mother_is_named(line: Line) -> None:
    """California's lot source (canopy.refdata.LOT_SOURCES): POST /plants/v2/plantings."""
    def cuts(name: str, mother: str) -> dict[str, Any]:
        return {"name": name, "type": "Clone", "count": 8, "strain": "Blue Dream",
                "location": "Clone Room", "mother_tag": mother}
    unknown_mother = "1A4FF0100000022000009999"
    planted = await line.record("plant_batch.created", cuts("BD Cuts 1", PLANT.format(10)))
    orphan = await line.record("plant_batch.created", cuts("BD Cuts 2", unknown_mother))
    states = await line.settled([planted, orphan])
    assert (states[planted], states[orphan]) == ("accepted", "rejected")
    rows = {r.id: r for r in await line.outbox.recent(10)}
    assert rows[orphan].message == f"Plant {unknown_mother} could not be found."
    batch = named(line, "plant_batches", "BD Cuts 1")
    assert (batch["UntrackedCount"], batch["LocationName"]) == (8, "Clone Room")
    assert line.plant(PLANT.format(10))["State"] == "Tracked"  # the mother stays as it was
