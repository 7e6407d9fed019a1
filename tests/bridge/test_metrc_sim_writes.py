"""Every write the floor produces, through MetrcClient, against the simulator over real
HTTP on 127.0.0.1; the final state is checked through the admin API (GET /_sim/state)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bridge.state.metrc import (
    AdjustPackage,
    ChangePlantBatchGrowthPhase,
    ChangePlantGrowthPhase,
    CreateHarvestPackage,
    CreatePlantings,
    DestroyPlant,
    FinishHarvest,
    HarvestIngredient,
    HarvestPlant,
    ManicurePlant,
    MetrcAuthError,
    MetrcClient,
    MetrcRejected,
    MetrcRowErrors,
    MovePackage,
    MovePlant,
    RecordHarvestWaste,
    RecordPlantWaste,
    UnfinishHarvest,
    consecutive_tags,
)
from statesim.metrc import (
    DEMO_LICENSES,
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    MetrcSimulator,
    SimConfig,
)

FARM_A, FARM_B = DEMO_LICENSES
VEG = [f"1A4FF01000000220000010{n:02d}" for n in range(1, 6)]  # seeded, Veg Room
FLOWER = [f"1A4FF01000000220000010{n:02d}" for n in range(6, 13)]  # seeded, flowering
B_PLANT = "1A4FF0100000023000001001"  # farm B's flowering plant
FREE_PLANT_TAG = "1A4FF0100000022000001013"  # first unused plant tag of farm A
FREE_PACKAGE_TAG = "1A4FF0300000022000005001"
SEEDED_PACKAGE = "1A4FF0300000022000004001"

pytestmark = pytest.mark.timeout(60)


def today() -> date:
    """Business dates are the facility's calendar day (farm A is in California)."""
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


@pytest.fixture
async def sim() -> AsyncIterator[MetrcSimulator]:
    async with MetrcSimulator() as simulator:
        yield simulator


@pytest.fixture
async def metrc(sim: MetrcSimulator) -> AsyncIterator[MetrcClient]:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=10) as client:
        yield client


async def state(sim: MetrcSimulator, license_number: str = FARM_A) -> dict[str, Any]:
    """The simulator's full state for one license, read over HTTP."""
    async with httpx.AsyncClient(base_url=sim.url) as admin:
        response = await admin.get("/_sim/state", params={"license": license_number})
    response.raise_for_status()
    snapshot: dict[str, Any] = response.json()["licenses"][license_number]
    return snapshot


def by_label(snapshot: dict[str, Any], kind: str = "plants") -> dict[str, dict[str, Any]]:
    return {item["Label"]: item for item in snapshot[kind]}


def by_name(snapshot: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {item["Name"]: item for item in snapshot[kind]}


# -- each write changes the state as Metrc would ---------------------------------------


async def test_plantings_then_tagging_uses_consecutive_tags(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    result = await metrc.create_plantings(
        [
            CreatePlantings(
                name="GEL Clone A",
                type="Clone",
                count=30,
                strain="Gelato",
                location="Clone Room",
                actual_date=today(),
            ),
        ]
    )
    assert len(result.ids) == 1
    tags = consecutive_tags(FREE_PLANT_TAG, 12)
    tagged = await metrc.change_plant_batch_growth_phase(
        [
            ChangePlantBatchGrowthPhase(
                name="GEL Clone A",
                count=12,
                starting_tag=FREE_PLANT_TAG,
                growth_phase="Vegetative",
                new_location="Veg Room",
                growth_date=today(),
            ),
        ]
    )
    assert len(tagged.ids) == 12

    snapshot = await state(sim)
    batch = by_name(snapshot, "plant_batches")["GEL Clone A"]
    assert (batch["UntrackedCount"], batch["TrackedCount"]) == (18, 12)
    assert batch["LocationName"] == "Clone Room"
    plants = by_label(snapshot)
    for tag in tags:
        assert plants[tag]["GrowthPhase"] == "Vegetative"
        assert plants[tag]["LocationName"] == "Veg Room"
        assert plants[tag]["StrainName"] == "Gelato"
        assert plants[tag]["PlantBatchName"] == "GEL Clone A"
    assert set(tags) <= set(snapshot["plant_tags"]["used"])
    assert not set(tags) & set(snapshot["plant_tags"]["available"])
    available = {tag.label for tag in await metrc.available_plant_tags()}
    assert not set(tags) & available
    assert consecutive_tags(FREE_PLANT_TAG, 13)[-1] in available


async def test_move_plants(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    result = await metrc.move_plants(
        [
            MovePlant(label=VEG[0], location="Flower Room B", actual_date=today()),
            MovePlant(label=VEG[1], location="Quarantine", actual_date=today()),
        ]
    )
    assert result.ids == ()  # PUT answers an empty 200
    plants = by_label(await state(sim))
    assert plants[VEG[0]]["LocationName"] == "Flower Room B"
    assert plants[VEG[1]]["LocationName"] == "Quarantine"
    assert plants[VEG[2]]["LocationName"] == "Veg Room"
    plant = await metrc.plant(VEG[0])
    assert plant is not None and plant.location_name == "Flower Room B"
    await metrc.move_plants([MovePlant(id=plant.id, location="Veg Room", actual_date=today())])
    assert by_label(await state(sim))[VEG[0]]["LocationName"] == "Veg Room"


async def test_growth_phase_to_flowering_with_a_new_tag(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await metrc.change_plant_growth_phase(
        [
            ChangePlantGrowthPhase(
                label=VEG[0], growth_phase="Flowering", new_location="Flower Room A", growth_date=today()
            ),
            ChangePlantGrowthPhase(
                label=VEG[1],
                new_tag=FREE_PLANT_TAG,
                growth_phase="Flowering",
                new_location="Flower Room B",
                growth_date=today(),
            ),
        ]
    )
    snapshot = await state(sim)
    plants = by_label(snapshot)
    assert plants[VEG[0]]["GrowthPhase"] == "Flowering"
    assert plants[VEG[0]]["FloweringDate"] == today().isoformat()
    assert VEG[1] not in plants  # re-tagged
    assert plants[FREE_PLANT_TAG]["GrowthPhase"] == "Flowering"
    assert plants[FREE_PLANT_TAG]["LocationName"] == "Flower Room B"
    assert {VEG[1], FREE_PLANT_TAG} <= set(snapshot["plant_tags"]["used"])
    assert [p.label for p in await metrc.flowering_plants()].count(FREE_PLANT_TAG) == 1


async def test_harvest_adds_wet_weight_per_plant_to_a_named_harvest(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    day = today()
    await metrc.harvest_plants(
        [
            HarvestPlant(
                plant=FLOWER[0],
                weight=Decimal("812.5"),
                unit_of_weight="Grams",
                drying_location="Dry Room",
                actual_date=day,
            ),
            HarvestPlant(
                plant=FLOWER[1],
                weight=Decimal("1.5"),
                unit_of_weight="Pounds",
                drying_location="Dry Room",
                actual_date=day,
            ),
        ]
    )
    auto_name = f"{day.isoformat()}-Dry Room-H"  # Metrc's generated name
    await metrc.harvest_plants(
        [
            HarvestPlant(
                plant=FLOWER[2],
                weight=Decimal("700"),
                unit_of_weight="Grams",
                drying_location="Dry Room",
                harvest_name=auto_name,
                actual_date=day,
            ),
        ]
    )
    harvest = await metrc.find_harvest(auto_name)
    assert harvest is not None
    assert harvest.harvest_type == "WholePlant"
    assert harvest.plant_count == 3
    assert harvest.unit_of_weight_name == "Grams"
    assert harvest.total_wet_weight == Decimal("812.5") + Decimal("680.388555") + Decimal(700)
    assert harvest.current_weight == harvest.total_wet_weight
    plants = by_label(await state(sim))
    assert plants[FLOWER[0]]["State"] == "Harvested"
    assert plants[FLOWER[0]]["HarvestedWetWeight"] == 812.5
    assert plants[FLOWER[0]]["HarvestId"] == harvest.id
    assert plants[FLOWER[1]]["HarvestedUnitOfWeightName"] == "Pounds"
    harvested = await metrc.plant(FLOWER[0])
    assert harvested is not None and harvested.state == "Harvested"
    assert FLOWER[0] in {p.label for p in await metrc.inactive_plants()}
    assert FLOWER[0] not in {p.label for p in await metrc.flowering_plants()}


async def test_manicure_keeps_the_plant_flowering(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    result = await metrc.manicure_plants(
        [
            ManicurePlant(
                plant=FLOWER[3],
                weight=Decimal("42.25"),
                unit_of_weight="Grams",
                drying_location="Dry Room",
                harvest_name="Trim Run 1",
                actual_date=today(),
            ),
        ]
    )
    assert len(result.ids) == 1
    snapshot = await state(sim)
    harvest = by_name(snapshot, "harvests")["Trim Run 1"]
    assert harvest["HarvestType"] == "Product"
    assert harvest["TotalWetWeight"] == 42.25
    assert harvest["Id"] == result.ids[0]
    plant = by_label(snapshot)[FLOWER[3]]
    assert (plant["State"], plant["GrowthPhase"], plant["HarvestCount"]) == ("Tracked", "Flowering", 1)


async def test_destroy_with_waste_method_reason_and_weight(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    result = await metrc.destroy_plants(
        [
            DestroyPlant(
                label=VEG[4],
                waste_method_name="Compost",
                waste_material_mixed="Soil",
                waste_weight=Decimal("15.69"),
                waste_unit_of_measure_name="grams",
                waste_reason_name="Contamination",
                reason_note="op-0192 mold",
                actual_date=today(),
            ),
        ]
    )
    assert len(result.ids) == 1
    snapshot = await state(sim)
    plant = by_label(snapshot)[VEG[4]]
    assert plant["State"] == "Destroyed"
    assert plant["DestroyedNote"] == "op-0192 mold"
    [waste] = snapshot["plant_waste"]
    assert waste["WasteReasonName"] == "Contamination"
    assert waste["WasteWeight"] == 15.69
    assert waste["WasteUnitOfMeasureName"] == "Grams"
    assert waste["PlantLabels"] == [VEG[4]]
    records = await metrc.plant_waste()
    assert [r.note for r in records] == ["op-0192 mold"]
    assert VEG[4] in snapshot["plant_tags"]["used"]  # a destroyed plant's tag is not freed


async def test_plant_waste_by_labels_and_by_location(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    result = await metrc.record_plant_waste(
        [
            RecordPlantWaste(
                waste_method_name="Grinder",
                mixed_material="Soil",
                waste_weight=Decimal("12.82"),
                unit_of_measure_name="Grams",
                reason_name="Trim",
                note="op-7",
                waste_date=today(),
                plant_labels=(FLOWER[4], FLOWER[5]),
            ),
            RecordPlantWaste(
                waste_method_name="Compost",
                mixed_material="Soil",
                waste_weight=Decimal("100"),
                unit_of_measure_name="Grams",
                reason_name="Pest Infestation",
                location_name="Veg Room",
                waste_date=today(),
            ),
        ]
    )
    assert len(result.ids) == 2
    records = (await state(sim))["plant_waste"]
    assert [(r["PlantCount"], r["WasteWeight"]) for r in records] == [(2, 12.82), (5, 100)]
    assert records[1]["LocationName"] == "Veg Room"
    plants = by_label(await state(sim))
    assert plants[FLOWER[4]]["State"] == "Tracked"  # waste does not destroy


async def test_harvest_waste_packages_adjust_move_and_finish(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    harvest = await metrc.find_harvest("2025-10-20-Dry Room-H")  # seeded: 5200 g, 450 packaged
    assert harvest is not None
    assert harvest.current_weight == Decimal(4750)

    waste = await metrc.record_harvest_waste(
        [
            RecordHarvestWaste(
                id=harvest.id,
                waste_type="Stems",
                unit_of_weight="Grams",
                waste_weight=Decimal("250.5"),
                actual_date=today(),
            ),
            RecordHarvestWaste(
                id=harvest.id,
                waste_type="Plant Material",
                unit_of_weight="Kilograms",
                waste_weight=Decimal("0.5"),
                actual_date=today(),
            ),
        ]
    )
    assert len(waste.ids) == 2
    records = await metrc.harvest_waste(harvest.id)
    assert [(r.waste_type_name, r.waste_weight, r.unit_of_weight_name) for r in records] == [
        ("Stems", Decimal("250.5"), "Grams"),
        ("Plant Material", Decimal("0.5"), "Kilograms"),
    ]

    packaged = await metrc.create_harvest_packages(
        [
            CreateHarvestPackage(
                tag=FREE_PACKAGE_TAG,
                location="Vault",
                item="Blue Dream - Buds",
                unit_of_weight="Grams",
                note="op-42",
                actual_date=today(),
                ingredients=(
                    HarvestIngredient(harvest_id=harvest.id, weight=Decimal(1000), unit_of_weight="Grams"),
                    HarvestIngredient(
                        harvest_name=harvest.name, weight=Decimal("0.5"), unit_of_weight="Kilograms"
                    ),
                ),
            ),
        ]
    )
    assert len(packaged.ids) == 1
    after = await metrc.harvest(harvest.id)
    assert after is not None
    assert after.total_waste_weight == Decimal("750.5")
    assert after.total_packaged_weight == Decimal(1950)
    assert after.current_weight == Decimal("2499.5")
    assert after.package_count == 2

    package = await metrc.package(FREE_PACKAGE_TAG)
    assert package is not None
    assert package.quantity == Decimal(1500)
    assert package.unit_of_measure_name == "Grams"
    assert package.item is not None and package.item.name == "Blue Dream - Buds"
    assert package.source_harvest_names == harvest.name
    assert package.note == "op-42"

    adjusted = await metrc.adjust_packages(
        [
            AdjustPackage(
                label=FREE_PACKAGE_TAG,
                quantity=Decimal("-12.5"),
                unit_of_measure="Grams",
                adjustment_reason="Drying",
                adjustment_date=today(),
            ),
            AdjustPackage(
                label=SEEDED_PACKAGE,
                quantity=Decimal("-1"),
                unit_of_measure="Ounces",
                adjustment_reason="Entry Error",
                reason_note="op-43 typo",
                adjustment_date=today(),
            ),
        ]
    )
    assert len(adjusted.ids) == 2
    await metrc.set_package_quantities(
        [
            AdjustPackage(
                label=FREE_PACKAGE_TAG,
                quantity=Decimal(1480),
                unit_of_measure="Grams",
                adjustment_reason="Scale Variance",
                adjustment_date=today(),
            ),
        ]
    )
    await metrc.move_packages(
        [
            MovePackage(label=FREE_PACKAGE_TAG, location="Dry Room", move_date=today()),
        ]
    )
    packages = by_label(await state(sim), "packages")
    assert packages[FREE_PACKAGE_TAG]["Quantity"] == 1480
    assert packages[FREE_PACKAGE_TAG]["LocationName"] == "Dry Room"
    assert packages[SEEDED_PACKAGE]["Quantity"] == pytest.approx(450 - 28.349523125)
    adjustments = await metrc.package_adjustments()
    assert [(a.package_label, a.adjustment_quantity) for a in adjustments] == [
        (FREE_PACKAGE_TAG, Decimal("-12.5")),
        (SEEDED_PACKAGE, Decimal(-1)),
        (FREE_PACKAGE_TAG, Decimal("-7.5")),
    ]

    finished = await metrc.finish_harvests([FinishHarvest(id=harvest.id, actual_date=today())])
    assert finished.ids == (harvest.id,)
    assert harvest.id not in {h.id for h in await metrc.active_harvests()}
    done = await metrc.find_harvest(harvest.name)
    assert done is not None and done.is_finished
    await metrc.unfinish_harvests([UnfinishHarvest(id=harvest.id)])
    assert harvest.id in {h.id for h in await metrc.active_harvests()}


# -- Metrc's rules: whole batches rejected, row indexes, name references -----------------


async def test_one_bad_row_rejects_the_whole_batch(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    before = await state(sim)
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.move_plants(
            [
                MovePlant(label=VEG[0], location="Flower Room A", actual_date=today()),
                MovePlant(label=VEG[1], location="Flower Room A", actual_date=today()),
                MovePlant(label=VEG[2], location="Flower Room Z", actual_date=today()),
                MovePlant(label=VEG[3], location="Flower Room A", actual_date=today()),
            ]
        )
    assert [(r.index, r.message) for r in caught.value.rows] == [
        (2, "Location Flower Room Z could not be found.")
    ]
    assert await state(sim) == before  # all or nothing


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [
                HarvestPlant(
                    plant=VEG[0],
                    weight=Decimal(100),
                    unit_of_weight="Grams",
                    drying_location="Dry Room",
                    actual_date=date(2026, 1, 1),
                )
            ],
            [(0, f"Plant {VEG[0]} is not in the Flowering phase.")],
            id="harvest-needs-flowering",
        ),
        pytest.param(
            [
                HarvestPlant(
                    plant=FLOWER[0],
                    weight=Decimal(100),
                    unit_of_weight="Each",
                    drying_location="Dry Room",
                    actual_date=date(2026, 1, 1),
                ),
                HarvestPlant(
                    plant=FLOWER[1],
                    weight=Decimal(100),
                    unit_of_weight="Grams",
                    drying_location="Vault",
                    actual_date=date(2026, 1, 1),
                ),
            ],
            [
                (0, "UnitOfWeight Each is not a unit of weight."),
                (1, "Location Vault (Storage) cannot hold harvests."),
            ],
            id="unit-and-location-type",
        ),
        pytest.param(
            [
                HarvestPlant(
                    plant="1A4FF0100000022000009999",
                    weight=Decimal(1),
                    unit_of_weight="Grams",
                    drying_location="Dry Room",
                    actual_date=date(2026, 1, 1),
                )
            ],
            [(0, "Plant 1A4FF0100000022000009999 could not be found.")],
            id="unknown-plant",
        ),
    ],
)
async def test_harvest_rules(
    metrc: MetrcClient, rows: list[HarvestPlant], expected: list[tuple[int, str]]
) -> None:
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.harvest_plants(rows)
    assert [(r.index, r.message) for r in caught.value.rows] == expected


async def test_tags_are_single_use(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    used = VEG[0]
    farm_b_tag = "1A4FF0100000023000001100"
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.change_plant_batch_growth_phase(
            [
                ChangePlantBatchGrowthPhase(
                    name="BD Clone 2025-10-01",
                    count=2,
                    starting_tag=used,
                    growth_phase="Vegetative",
                    new_location="Veg Room",
                    growth_date=today(),
                ),
                ChangePlantBatchGrowthPhase(
                    name="BD Clone 2025-10-01",
                    count=1,
                    starting_tag=farm_b_tag,
                    growth_phase="Vegetative",
                    new_location="Veg Room",
                    growth_date=today(),
                ),
                ChangePlantBatchGrowthPhase(
                    name="BD Clone 2025-10-01",
                    count=1,
                    starting_tag=SEEDED_PACKAGE,
                    growth_phase="Vegetative",
                    new_location="Veg Room",
                    growth_date=today(),
                ),
            ]
        )
    assert [(r.index, r.message) for r in caught.value.rows] == [
        (0, f"Tag {used} is not available."),
        (1, f"Tag {farm_b_tag} is not available."),  # another facility's tag
        (2, f"Tag {SEEDED_PACKAGE} is not available."),  # a package tag
    ]
    # The same new tag twice in one batch: the second use fails, so nothing is applied.
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.create_harvest_packages(
            [
                CreateHarvestPackage(
                    tag=FREE_PACKAGE_TAG,
                    item="Blue Dream - Buds",
                    unit_of_weight="Grams",
                    actual_date=today(),
                    ingredients=(
                        HarvestIngredient(
                            harvest_name="2025-10-20-Dry Room-H", weight=Decimal(10), unit_of_weight="Grams"
                        ),
                    ),
                )
            ]
            * 2
        )
    assert [r.index for r in caught.value.rows] == [1]
    assert FREE_PACKAGE_TAG in (await state(sim))["package_tags"]["available"]


async def test_batch_and_phase_rules(metrc: MetrcClient) -> None:
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.change_plant_batch_growth_phase(
            [
                ChangePlantBatchGrowthPhase(
                    name="OGK Seed 2025-10-15",
                    count=41,
                    starting_tag=FREE_PLANT_TAG,
                    growth_phase="Vegetative",
                    new_location="Veg Room",
                    growth_date=today(),
                ),
                ChangePlantBatchGrowthPhase(
                    name="No Such Batch",
                    count=1,
                    starting_tag=FREE_PLANT_TAG,
                    growth_phase="Flowering",
                    new_location="Veg Room",
                    growth_date=today(),
                ),
                ChangePlantBatchGrowthPhase(
                    name="OGK Seed 2025-10-15",
                    count=1,
                    starting_tag=FREE_PLANT_TAG,
                    growth_phase="Flowering",
                    new_location="Dry Room",
                    growth_date=today(),
                ),
            ]
        )
    assert [(r.index, r.message) for r in caught.value.rows] == [
        (0, "Plant batch OGK Seed 2025-10-15 has 40 untracked plants; cannot tag 41."),
        (1, "Plant batch No Such Batch could not be found."),
        (2, "Location Dry Room (Drying) cannot hold plants."),
    ]
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.change_plant_growth_phase(
            [
                ChangePlantGrowthPhase(
                    label=FLOWER[0],
                    growth_phase="Flowering",
                    new_location="Flower Room A",
                    growth_date=today(),
                ),
                ChangePlantGrowthPhase(
                    label=FLOWER[1], growth_phase="Vegetative", new_location="Veg Room", growth_date=today()
                ),
            ]
        )
    assert [r.message for r in caught.value.rows] == [
        f"Plant {FLOWER[0]} is already in the Flowering phase.",
        f"Plant {FLOWER[1]} is flowering and cannot go back to Vegetative.",
    ]


async def test_dates_reasons_and_weights(metrc: MetrcClient) -> None:
    tomorrow = today() + timedelta(days=1)
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.destroy_plants(
            [
                DestroyPlant(
                    label=VEG[0],
                    waste_method_name="Compost",
                    waste_material_mixed="Soil",
                    waste_weight=Decimal(5),
                    waste_unit_of_measure_name="Grams",
                    waste_reason_name="Other",
                    actual_date=today(),
                ),
                DestroyPlant(
                    label=VEG[1],
                    waste_method_name="Compost",
                    waste_material_mixed="Soil",
                    waste_weight=Decimal(0),
                    waste_unit_of_measure_name="Grams",
                    waste_reason_name="Contamination",
                    actual_date=today(),
                ),
                DestroyPlant(
                    label=VEG[2],
                    waste_method_name="Incinerator",
                    waste_material_mixed="Soil",
                    waste_weight=Decimal(5),
                    waste_unit_of_measure_name="Grams",
                    waste_reason_name="Male Plants",
                    actual_date=today(),
                ),
                DestroyPlant(
                    label=VEG[3],
                    waste_method_name="Compost",
                    waste_material_mixed="Soil",
                    waste_weight=Decimal(5),
                    waste_unit_of_measure_name="Grams",
                    waste_reason_name="Male Plants",
                    actual_date=tomorrow,
                ),
                DestroyPlant(
                    label=VEG[4],
                    waste_method_name="Compost",
                    waste_material_mixed="Soil",
                    waste_weight=Decimal(5),
                    waste_unit_of_measure_name="Grams",
                    waste_reason_name="Male Plants",
                    actual_date=date(2025, 9, 1),
                ),
            ]
        )
    assert [(r.index, r.message) for r in caught.value.rows] == [
        (0, "ReasonNote is required for waste reason Other."),
        (1, "WasteWeight must be greater than zero for reason Contamination."),
        (2, "Waste method Incinerator could not be found."),  # not a plant method
        (3, f"ActualDate {tomorrow.isoformat()} is in the future."),
        (4, "ActualDate 2025-09-01 is before planted date 2025-10-01."),
    ]
    harvest = await metrc.find_harvest("2025-10-20-Dry Room-H")
    assert harvest is not None
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.record_harvest_waste(
            [
                RecordHarvestWaste(
                    id=harvest.id,
                    waste_type="Stems",
                    unit_of_weight="Kilograms",
                    waste_weight=Decimal(5),
                    actual_date=today(),
                ),
                RecordHarvestWaste(
                    id=99999999,
                    waste_type="Stems",
                    unit_of_weight="Grams",
                    waste_weight=Decimal(5),
                    actual_date=today(),
                ),
                RecordHarvestWaste(
                    id=harvest.id,
                    waste_type="Leaves",
                    unit_of_weight="Grams",
                    waste_weight=Decimal(5),
                    actual_date=today(),
                ),
            ]
        )
    assert [(r.index, r.message) for r in caught.value.rows] == [
        (0, "Harvest 2025-10-20-Dry Room-H has 4750 Grams left; 5 Kilograms of waste is more than that."),
        (1, "Harvest with Id 99999999 could not be found."),
        (2, "Waste type Leaves could not be found."),
    ]
    with pytest.raises(MetrcRowErrors) as caught:
        await metrc.adjust_packages(
            [
                AdjustPackage(
                    label=SEEDED_PACKAGE,
                    quantity=Decimal(-451),
                    unit_of_measure="Grams",
                    adjustment_reason="Drying",
                    adjustment_date=today(),
                ),
                AdjustPackage(
                    label=SEEDED_PACKAGE,
                    quantity=Decimal(-1),
                    unit_of_measure="Each",
                    adjustment_reason="Drying",
                    adjustment_date=today(),
                ),
                AdjustPackage(
                    label=SEEDED_PACKAGE,
                    quantity=Decimal(-1),
                    unit_of_measure="Grams",
                    adjustment_reason="Theft",
                    adjustment_date=today(),
                ),
            ]
        )
    assert [r.message for r in caught.value.rows] == [
        f"Package {SEEDED_PACKAGE} has 450 Grams; the adjustment would make it negative.",
        f"UnitOfMeasure Each cannot be used for package {SEEDED_PACKAGE} (Grams).",
        "ReasonNote is required for adjustment reason Theft.",
    ]


# -- licenses and keys ---------------------------------------------------------------------


async def test_another_licenses_plant_is_401_and_nothing_changes(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    before_a, before_b = await state(sim, FARM_A), await state(sim, FARM_B)
    with pytest.raises(MetrcAuthError) as caught:
        await metrc.move_plants(
            [
                MovePlant(label=VEG[0], location="Flower Room A", actual_date=today()),
                MovePlant(label=B_PLANT, location="Flower Room A", actual_date=today()),
            ]
        )
    assert caught.value.status == 401
    with pytest.raises(MetrcAuthError):
        await metrc.plant(B_PLANT)  # read by label: 401, not 404
    assert await metrc.plant("1A4FF0100000022000009999") is None  # nobody's: 404
    assert (await state(sim, FARM_A), await state(sim, FARM_B)) == (before_a, before_b)


async def test_keys_and_license_access(sim: MetrcSimulator) -> None:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, "wrong-user", FARM_A) as bad_user:
        with pytest.raises(MetrcAuthError):
            await bad_user.locations()
    async with MetrcClient(sim.url, "canopy-v1-vendor", DEMO_USER_KEY, FARM_A) as v1_key:
        with pytest.raises(MetrcAuthError, match="only valid for V1"):
            await v1_key.locations()
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, "farm-a-user-key", FARM_B) as not_hers:
        with pytest.raises(MetrcAuthError):
            await not_hers.flowering_plants()
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, "farm-a-user-key", FARM_A) as hers:
        assert len(await hers.flowering_plants()) == len(FLOWER)
        assert [f.license.number for f in await hers.facilities()] == [FARM_A]


async def test_too_many_objects_is_413(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    rows = [MovePlant(label=VEG[0], location="Veg Room", actual_date=today())] * 11
    with pytest.raises(MetrcRejected) as caught:
        await metrc.move_plants(rows)
    assert caught.value.status == 413
    await metrc.move_plants(rows[:10])  # the limit itself is fine


async def test_apply_valid_rows_mode() -> None:
    """The reference's switch: apply the good rows and report the bad ones."""
    async with (
        MetrcSimulator(config=SimConfig(all_or_nothing=False)) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A) as metrc,
    ):
        with pytest.raises(MetrcRowErrors) as caught:
            await metrc.move_plants(
                [
                    MovePlant(label=VEG[0], location="Flower Room A", actual_date=today()),
                    MovePlant(label=VEG[1], location="Nowhere", actual_date=today()),
                ]
            )
        assert caught.value.indexes() == {1}
        plants = by_label(await state(sim))
        assert plants[VEG[0]]["LocationName"] == "Flower Room A"
        assert plants[VEG[1]]["LocationName"] == "Veg Room"
