"""Plant-batch destroys (DELETE /plantbatches/v2) and plantings from a clone package
(POST /packages/v2/plantings), through MetrcClient against the simulator over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from bridge.state.metrc import (
    CreatePackagePlantings,
    DestroyPlantBatch,
    MetrcClient,
    MetrcRowErrors,
)
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator
from tests.bridge.test_metrc_sim_writes import by_label, by_name, metrc, sim, state, today

__all__ = ["metrc", "sim"]  # fixtures shared with the writes tests

BATCH = "BD Clone 2025-10-01"  # seeded: 60 untracked clones
CLONES = "1A4FF0300000022000004002"  # seeded: 50 Each of Blue Dream clones

pytestmark = pytest.mark.timeout(60)


def destroy(count: int, **kw: Any) -> DestroyPlantBatch:
    fields: dict[str, Any] = {
        "plant_batch": BATCH, "count": count, "waste_method_name": "Compost",
        "waste_material_mixed": "Soil", "waste_reason_name": "Pest Infestation",
        "reason_note": "mites", "waste_weight": Decimal("85.5"),
        "waste_unit_of_measure": "Grams", "actual_date": today(),
    }
    return DestroyPlantBatch(**(fields | kw))


def plantings(name: str, count: int, **kw: Any) -> CreatePackagePlantings:
    fields: dict[str, Any] = {
        "package_label": CLONES, "package_adjustment_amount": Decimal(count),
        "package_adjustment_unit_of_measure_name": "Each", "plant_batch_name": name,
        "plant_batch_type": "Clone", "plant_count": count, "location_name": "Clone Room",
        "strain_name": "Blue Dream", "planted_date": today(), "unpackaged_date": today(),
    }
    return CreatePackagePlantings(**(fields | kw))


async def test_destroying_part_of_a_batch_lowers_its_count_and_records_the_waste(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    result = await metrc.destroy_plant_batches([destroy(12), destroy(3, waste_weight=Decimal("20"))])
    batch = by_name(await state(sim), "plant_batches")[BATCH]
    assert result.ids == (batch["Id"], batch["Id"])
    assert (batch["UntrackedCount"], batch["DestroyedCount"]) == (45, 15)
    waste = [w for w in await metrc.plant_waste() if w.plant_batch_name == BATCH]
    assert [(w.plant_count, w.waste_weight, w.waste_reason_name, w.note) for w in waste] == [
        (12, Decimal("85.5"), "Pest Infestation", "mites"),
        (3, Decimal(20), "Pest Infestation", "mites"),
    ]


async def test_destroying_the_last_plants_makes_the_batch_inactive(metrc: MetrcClient) -> None:
    await metrc.destroy_plant_batches([destroy(60)])
    assert BATCH not in {b.name for b in await metrc.active_plant_batches()}
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.destroy_plant_batches([destroy(1)])
    assert caught.value.rows[0].message == f"Plant batch {BATCH} has no untracked plants left."


# The first row of each bad batch is fine and runs first: later rows see what it left.
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        pytest.param(destroy(5, plant_batch="No Such Batch"), "Plant batch No Such Batch could not be found.",
                     id="unknown batch"),
        pytest.param(destroy(61), f"Plant batch {BATCH} has 58 untracked plants; cannot destroy 61.",
                     id="more than is left"),
        pytest.param(destroy(5, waste_reason_name="Bored"), "Waste reason Bored could not be found.",
                     id="unknown reason"),
        pytest.param(destroy(5, waste_reason_name="Other", reason_note=""),
                     "ReasonNote is required for waste reason Other.", id="reason needs a note"),
        pytest.param(destroy(5, waste_weight=Decimal(0)),
                     "WasteWeight must be greater than zero for reason Pest Infestation.", id="needs weight"),
        # A weight with no unit: the plant-batch endpoint's unit is WasteUnitOfMeasure.
        pytest.param(destroy(5, waste_unit_of_measure=None),
                     "WasteUnitOfMeasure is required.", id="needs its unit"),
    ],
)
async def test_a_bad_destroy_row_is_named_and_nothing_is_applied(
    sim: MetrcSimulator, metrc: MetrcClient, bad: DestroyPlantBatch, message: str
) -> None:
    before = await state(sim)
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.destroy_plant_batches([destroy(2), bad, destroy(1)])
    assert [(r.index, r.message) for r in caught.value.rows] == [(1, message)]
    assert await state(sim) == before


async def test_plantings_from_a_clone_package_take_plants_out_of_it(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    result = await metrc.create_package_plantings([plantings("BD From Pkg 1", 20)])
    snapshot = await state(sim)
    batch = by_name(snapshot, "plant_batches")["BD From Pkg 1"]
    assert result.ids == (batch["Id"],)
    fields = ("UntrackedCount", "StrainName", "LocationName", "SourcePackageLabel")
    assert tuple(batch[f] for f in fields) == (20, "Blue Dream", "Clone Room", CLONES)
    assert by_label(snapshot, "packages")[CLONES]["Quantity"] == 30


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        pytest.param(plantings("Too Many", 51),
                     f"Package {CLONES} has 48 Each; cannot take 51 Each for plantings.",
                     id="more than the package holds"),
        pytest.param(plantings("BD Clone 2025-10-01", 5), "Plant batch BD Clone 2025-10-01 already exists.",
                     id="name taken"),
        pytest.param(plantings("By Weight", 5, package_adjustment_unit_of_measure_name="Grams"),
                     f"PackageAdjustmentUnitOfMeasureName Grams cannot be used for package {CLONES} (Each).",
                     id="weight from a count package"),
        pytest.param(plantings("Unknown Pkg", 5, package_label="1A4FF0300000022000009999"),
                     "Package 1A4FF0300000022000009999 could not be found.", id="unknown package"),
        pytest.param(plantings("Bad Strain", 5, strain_name="Purple Haze"),
                     "Strain Purple Haze could not be found.", id="unknown strain"),
    ],
)
async def test_a_bad_plantings_row_is_named_and_nothing_is_applied(
    sim: MetrcSimulator, metrc: MetrcClient, bad: CreatePackagePlantings, message: str
) -> None:
    before = await state(sim)
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.create_package_plantings([plantings("Fine 1", 2), bad])
    assert [(r.index, r.message) for r in caught.value.rows] == [(1, message)]
    assert await state(sim) == before


async def test_the_batch_destroy_takes_its_unit_only_under_its_own_name(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    """``DELETE /plantbatches/v2`` names the unit ``WasteUnitOfMeasure`` (Metrc API docs,
    PlantBatches); the plants endpoint's ``WasteUnitOfMeasureName`` is not it."""
    row = destroy(2, waste_unit_of_measure=None).model_dump(by_alias=True, mode="json",
                                                            exclude={"waste_unit_of_measure"})
    row["WasteUnitOfMeasureName"] = "Grams"
    async with httpx.AsyncClient(base_url=sim.url) as raw:
        answer = await raw.request("DELETE", "/plantbatches/v2", params={"licenseNumber": DEMO_LICENSES[0]},
                                   json=[row], auth=(DEMO_VENDOR_KEY, DEMO_USER_KEY))
    assert answer.status_code == 400 and "WasteUnitOfMeasure is required." in answer.text
