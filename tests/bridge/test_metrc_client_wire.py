"""What MetrcClient puts on the wire and how it reads answers (httpx.MockTransport)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bridge.state.metrc import (
    AdjustPackage,
    ChangePlantBatchGrowthPhase,
    ChangePlantGrowthPhase,
    CreateHarvestPackage,
    CreatePackagePlantings,
    CreatePlantings,
    CreatePlantPlantings,
    DestroyPlant,
    DestroyPlantBatch,
    FinishHarvest,
    HarvestIngredient,
    HarvestPlant,
    ManicurePlant,
    MetrcClient,
    MetrcRow,
    MovePackage,
    MovePlant,
    RecordHarvestWaste,
    RecordPlantWaste,
    UnfinishHarvest,
    WriteResult,
    consecutive_tags,
    convert_quantity,
    unit_name,
)

LICENSE = "CCL24-0000101"
DAY = date(2026, 3, 2)
PLANT = "1A4FF0100000022000001006"
PACKAGE = "1A4FF0300000022000005001"

pytestmark = pytest.mark.timeout(30)


class Recorder:
    """A MockTransport handler that records requests and answers from a function."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._reply = reply or (lambda request: httpx.Response(200))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._reply(request)

    def client(self, **kwargs: Any) -> MetrcClient:
        return MetrcClient(
            "https://sandbox-api-ca.metrc.test/",
            "vendor-key",
            "user-key",
            LICENSE,
            transport=httpx.MockTransport(self),
            **kwargs,
        )

    @property
    def last_body(self) -> Any:
        return json.loads(self.requests[-1].content)


MOVE = MovePlant(label=PLANT, location="Flower Room A", actual_date=DAY)
DESTROY = DestroyPlant(
    label=PLANT,
    waste_method_name="Compost",
    waste_material_mixed="Soil",
    waste_weight=Decimal("15.69"),
    waste_unit_of_measure_name="Grams",
    waste_reason_name="Male Plants",
    reason_note="op 0192",
    actual_date=DAY,
)
PACKAGE_FROM_HARVEST = CreateHarvestPackage(
    tag=PACKAGE,
    item="Blue Dream - Buds",
    unit_of_weight="Grams",
    actual_date=DAY,
    ingredients=(HarvestIngredient(harvest_id=20001, weight=Decimal(450), unit_of_weight="Grams"),),
)
PLANTINGS = CreatePlantings(
    name="BD 1",
    type="Clone",
    count=12,
    strain="Blue Dream",
    location="Clone Room",
    actual_date=DAY,
)
BATCH_DESTROY = DestroyPlantBatch(
    plant_batch="BD 1",
    count=4,
    waste_method_name="Compost",
    waste_material_mixed="Soil",
    waste_reason_name="Pest Infestation",
    reason_note="mites (Canopy event 0192)",
    waste_weight=Decimal("31.5"),
    waste_unit_of_measure="Grams",
    actual_date=DAY,
)
PACKAGE_PLANTINGS = CreatePackagePlantings(
    package_label=PACKAGE,
    package_adjustment_amount=Decimal(12),
    package_adjustment_unit_of_measure_name="Each",
    plant_batch_name="BD From Package",
    plant_batch_type="Clone",
    plant_count=12,
    location_name="Clone Room",
    strain_name="Blue Dream",
    planted_date=DAY,
    unpackaged_date=DAY,
)
PLANT_PLANTINGS = CreatePlantPlantings(
    plant_label="1A4FF0100000022000000101",
    plant_batch_name="BD Cuts",
    plant_batch_type="Clone",
    plant_count=8,
    location_name="Clone Room",
    strain_name="Blue Dream",
    actual_date=DAY,
)

WRITES: list[tuple[str, str, MetrcRow, Callable[[MetrcClient, list[Any]], Awaitable[WriteResult]]]] = [
    ("POST", "/plantbatches/v2/plantings", PLANTINGS, lambda c, rows: c.create_plantings(rows)),
    (
        "POST",
        "/plantbatches/v2/growthphase",
        ChangePlantBatchGrowthPhase(
            name="BD 1",
            count=3,
            starting_tag=PLANT,
            growth_phase="Vegetative",
            new_location="Veg Room",
            growth_date=DAY,
        ),
        lambda c, rows: c.change_plant_batch_growth_phase(rows),
    ),
    ("PUT", "/plants/v2/location", MOVE, lambda c, rows: c.move_plants(rows)),
    (
        "PUT",
        "/plants/v2/growthphase",
        ChangePlantGrowthPhase(
            label=PLANT, growth_phase="Flowering", new_location="Flower Room A", growth_date=DAY
        ),
        lambda c, rows: c.change_plant_growth_phase(rows),
    ),
    (
        "PUT",
        "/plants/v2/harvest",
        HarvestPlant(
            plant=PLANT,
            weight=Decimal("812.5"),
            unit_of_weight="Grams",
            drying_location="Dry Room",
            actual_date=DAY,
        ),
        lambda c, rows: c.harvest_plants(rows),
    ),
    (
        "POST",
        "/plants/v2/manicure",
        ManicurePlant(
            plant=PLANT,
            weight=Decimal("40.25"),
            unit_of_weight="Grams",
            drying_location="Dry Room",
            actual_date=DAY,
            plant_count=1,
        ),
        lambda c, rows: c.manicure_plants(rows),
    ),
    ("DELETE", "/plants/v2", DESTROY, lambda c, rows: c.destroy_plants(rows)),
    ("DELETE", "/plantbatches/v2", BATCH_DESTROY, lambda c, rows: c.destroy_plant_batches(rows)),
    ("POST", "/packages/v2/plantings", PACKAGE_PLANTINGS, lambda c, rows: c.create_package_plantings(rows)),
    ("POST", "/plants/v2/plantings", PLANT_PLANTINGS, lambda c, rows: c.create_plant_plantings(rows)),
    (
        "POST",
        "/plants/v2/waste",
        RecordPlantWaste(
            waste_method_name="Grinder",
            mixed_material="Soil",
            waste_weight=Decimal("12.82"),
            unit_of_measure_name="Grams",
            reason_name="Trim",
            waste_date=DAY,
            plant_labels=(PLANT,),
        ),
        lambda c, rows: c.record_plant_waste(rows),
    ),
    (
        "POST",
        "/harvests/v2/waste",
        RecordHarvestWaste(
            id=20001,
            waste_type="Plant Material",
            unit_of_weight="Grams",
            waste_weight=Decimal("10.05"),
            actual_date=DAY,
        ),
        lambda c, rows: c.record_harvest_waste(rows),
    ),
    ("POST", "/harvests/v2/packages", PACKAGE_FROM_HARVEST, lambda c, rows: c.create_harvest_packages(rows)),
    (
        "POST",
        "/packages/v2/adjust",
        AdjustPackage(
            label=PACKAGE,
            quantity=Decimal("-2.0"),
            unit_of_measure="Grams",
            adjustment_reason="Drying",
            adjustment_date=DAY,
        ),
        lambda c, rows: c.adjust_packages(rows),
    ),
    (
        "PUT",
        "/packages/v2/adjust",
        AdjustPackage(
            label=PACKAGE,
            quantity=Decimal("448"),
            unit_of_measure="Grams",
            adjustment_reason="Scale Variance",
            adjustment_date=DAY,
        ),
        lambda c, rows: c.set_package_quantities(rows),
    ),
    (
        "PUT",
        "/packages/v2/location",
        MovePackage(label=PACKAGE, location="Vault", move_date=DAY),
        lambda c, rows: c.move_packages(rows),
    ),
    (
        "PUT",
        "/harvests/v2/finish",
        FinishHarvest(id=20001, actual_date=DAY),
        lambda c, rows: c.finish_harvests(rows),
    ),
    ("PUT", "/harvests/v2/unfinish", UnfinishHarvest(id=20001), lambda c, rows: c.unfinish_harvests(rows)),
]


@pytest.mark.parametrize(("method", "path", "row", "call"), WRITES, ids=[w[1] + " " + w[0] for w in WRITES])
async def test_each_write_is_one_call_with_a_json_array(
    method: str,
    path: str,
    row: MetrcRow,
    call: Callable[[MetrcClient, list[Any]], Awaitable[WriteResult]],
) -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        await call(client, [row, row])
    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    assert request.method == method
    assert request.url.path == path
    assert request.url.params["licenseNumber"] == LICENSE
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    expected_auth = base64.b64encode(b"vendor-key:user-key").decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    body = recorder.last_body
    assert isinstance(body, list)
    assert len(body) == 2
    assert body[0] == json.loads(json.dumps(row.to_metrc(), default=_plain))
    assert all(key[0].isupper() for key in body[0])  # Metrc's PascalCase names


def _plain(value: object) -> object:
    """What the wire must carry: Decimal as a JSON number, date as YYYY-MM-DD."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(value)


async def test_destroy_sends_its_body_on_delete_with_metrc_field_names() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json={"Ids": [10006], "Warnings": None}))
    async with recorder.client() as client:
        result = await client.destroy_plants([DESTROY])
    assert result == WriteResult(ids=(10006,))
    assert recorder.requests[0].method == "DELETE"
    assert recorder.last_body == [
        {
            "Id": None,
            "Label": PLANT,
            "WasteMethodName": "Compost",
            "WasteMaterialMixed": "Soil",
            "WasteWeight": 15.69,
            "WasteUnitOfMeasureName": "Grams",
            "WasteReasonName": "Male Plants",
            "ReasonNote": "op 0192",
            "Count": 0,
            "ActualDate": "2026-03-02",
        }
    ]


async def test_batch_destroy_sends_its_body_on_delete_with_metrc_field_names() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json={"Ids": [5001], "Warnings": None}))
    async with recorder.client() as client:
        result = await client.destroy_plant_batches([BATCH_DESTROY])
    assert result == WriteResult(ids=(5001,))
    assert (recorder.requests[0].method, recorder.requests[0].url.path) == ("DELETE", "/plantbatches/v2")
    assert recorder.last_body == [
        {
            "PlantBatch": "BD 1",
            "Count": 4,
            "WasteMethodName": "Compost",
            "WasteMaterialMixed": "Soil",
            "WasteReasonName": "Pest Infestation",
            "ReasonNote": "mites (Canopy event 0192)",
            "WasteWeight": 31.5,
            # The plant-batch endpoint's own spelling (Metrc API docs, DELETE /plantbatches/v2).
            "WasteUnitOfMeasure": "Grams",
            "ActualDate": "2026-03-02",
        }
    ]


async def test_plantings_from_a_package_use_metrc_field_names() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json={"Ids": [5003], "Warnings": None}))
    async with recorder.client() as client:
        result = await client.create_package_plantings([PACKAGE_PLANTINGS])
    assert result == WriteResult(ids=(5003,))
    assert recorder.last_body == [
        {
            "PackageLabel": PACKAGE,
            "PackageAdjustmentAmount": 12,
            "PackageAdjustmentUnitOfMeasureName": "Each",
            "PlantBatchName": "BD From Package",
            "PlantBatchType": "Clone",
            "PlantCount": 12,
            "LocationName": "Clone Room",
            "SublocationName": None,
            "StrainName": "Blue Dream",
            "PatientLicenseNumber": None,
            "PlantedDate": "2026-03-02",
            "UnpackagedDate": "2026-03-02",
        }
    ]


def test_new_rows_check_their_shape() -> None:
    with pytest.raises(ValidationError):
        DestroyPlantBatch(plant_batch="BD 1", count=0, waste_reason_name="Male Plants",
                          waste_weight=Decimal(0), actual_date=DAY)
    with pytest.raises(ValidationError):
        PACKAGE_PLANTINGS.model_validate(PACKAGE_PLANTINGS.model_dump() | {"plant_batch_type": "Tissue"})


async def test_nested_and_optional_fields_are_spelled_like_metrc() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        await client.create_harvest_packages([PACKAGE_FROM_HARVEST])
        await client.create_plantings([PLANTINGS])
    package, planting = recorder.requests[0], recorder.requests[1]
    package_row = json.loads(package.content)[0]
    assert package_row["Tag"] == PACKAGE
    assert package_row["Ingredients"] == [
        {"HarvestId": 20001, "HarvestName": None, "Weight": 450.0, "UnitOfWeight": "Grams"}
    ]
    assert package_row["IsProductionBatch"] is False
    assert package_row["ExpirationDate"] is None
    assert json.loads(planting.content)[0] == {
        "Name": "BD 1",
        "Type": "Clone",
        "Count": 12,
        "Strain": "Blue Dream",
        "Location": "Clone Room",
        "Sublocation": None,
        "PatientLicenseNumber": None,
        "ActualDate": "2026-03-02",
        "SourcePlantBatches": None,
    }


async def test_write_results() -> None:
    replies = iter(
        [
            httpx.Response(200, json={"Ids": [1, 2], "Warnings": None}),
            httpx.Response(200, json={"Ids": [3], "Warnings": ["Plant count is low"]}),
            httpx.Response(200),
        ]
    )
    recorder = Recorder(lambda request: next(replies))
    async with recorder.client() as client:
        assert await client.move_plants([MOVE]) == WriteResult(ids=(1, 2))
        assert (await client.move_plants([MOVE])).warnings == ("Plant count is low",)
        assert await client.move_plants([MOVE]) == WriteResult()


async def test_an_empty_batch_is_a_caller_bug() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(ValueError, match="at least one row"):
            await client.move_plants([])
    assert recorder.requests == []


def test_rows_check_their_shape() -> None:
    with pytest.raises(ValidationError):
        MovePlant(location="Veg Room", actual_date=DAY)  # neither id nor label
    with pytest.raises(ValidationError):
        MovePlant(id=5, label=PLANT, location="Veg Room", actual_date=DAY)
    with pytest.raises(ValidationError):  # a datetime is not a business date
        MovePlant(label=PLANT, location="Veg Room", actual_date=datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    with pytest.raises(ValidationError):
        HarvestPlant(
            plant=PLANT,
            weight=Decimal(0),
            unit_of_weight="Grams",
            drying_location="Dry Room",
            actual_date=DAY,
        )
    with pytest.raises(ValidationError):
        HarvestIngredient(weight=Decimal(1), unit_of_weight="Grams")
    with pytest.raises(ValidationError):
        MovePlant(label=PLANT, location="Veg Room", actual_date=DAY, colour="red")  # type: ignore[call-arg]


def envelope(records: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    chunk = records[(page - 1) * size : page * size]
    pages = max(1, -(-len(records) // size))
    return {
        "Data": chunk,
        "Total": len(records),
        "TotalRecords": len(records),
        "PageSize": size,
        "RecordsOnPage": len(chunk),
        "Page": page,
        "CurrentPage": page,
        "TotalPages": pages,
    }


async def test_lists_walk_every_page() -> None:
    locations = [
        {"Id": i, "Name": f"Room {i}", "LocationTypeName": "Default", "ForPlants": True} for i in range(1, 46)
    ]

    def reply(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["pageNumber"])
        size = int(request.url.params["pageSize"])
        return httpx.Response(200, json=envelope(locations, page, size))

    recorder = Recorder(reply)
    async with recorder.client() as client:
        found = await client.locations()
    assert [loc.name for loc in found] == [f"Room {i}" for i in range(1, 46)]
    assert [r.url.params["pageNumber"] for r in recorder.requests] == ["1", "2", "3"]
    assert {r.url.params["pageSize"] for r in recorder.requests} == {"20"}
    assert {r.url.params["licenseNumber"] for r in recorder.requests} == {LICENSE}


async def test_a_smaller_page_size_and_an_empty_list() -> None:
    items = [{"Id": i, "Name": f"Item {i}"} for i in range(7)]
    recorder = Recorder(
        lambda r: httpx.Response(
            200, json=envelope(items, int(r.url.params["pageNumber"]), int(r.url.params["pageSize"]))
        )
    )
    async with recorder.client(page_size=5) as client:
        assert len(await client.items()) == 7
    assert len(recorder.requests) == 2

    empty = Recorder(lambda r: httpx.Response(200, json=envelope([], 1, 20)))
    async with empty.client() as client:
        assert await client.strains() == []
    assert len(empty.requests) == 1

    with pytest.raises(ValueError, match="page_size"):
        Recorder().client(page_size=21)


async def test_bare_array_endpoints_and_unlicensed_ones() -> None:
    units = [{"QuantityType": "WeightBased", "Name": "Grams", "Abbreviation": "g"}]
    recorder = Recorder(lambda r: httpx.Response(200, json=units))
    async with recorder.client() as client:
        found = await client.units_of_measure()
    assert found[0].name == "Grams"
    request = recorder.requests[0]
    assert request.url.path == "/unitsofmeasure/v2/active"
    assert "licenseNumber" not in request.url.params  # a † endpoint


async def test_last_modified_window_is_sent_in_utc() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=envelope([], 1, 20)))
    pacific = timezone(timedelta(hours=-8))
    window = (datetime(2026, 3, 1, 16, 0, tzinfo=pacific), datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    async with recorder.client() as client:
        await client.flowering_plants(modified=window)
        with pytest.raises(ValueError, match="timezone-aware"):
            await client.flowering_plants(modified=(datetime(2026, 3, 1), datetime(2026, 3, 2)))
    params = recorder.requests[0].url.params
    assert params["lastModifiedStart"] == "2026-03-02T00:00:00Z"
    assert params["lastModifiedEnd"] == "2026-03-02T09:30:00Z"


async def test_read_models_tolerate_metrc_quirks() -> None:
    plant = {
        "Id": 24,
        "Label": PLANT,
        "State": "Tracked",
        "GrowthPhase": "Flowering",
        "LocationName": "Flower Room A",
        "HarvestedWetWeight": 812.35,
        "PlantedDate": "2014-10-10",
        "FloweringDate": "2015-12-15T00:00:00Z",
        "HarvestedDate": "0001-01-01",
        "DestroyedDate": None,
        "LastModified": "2026-02-08T07:05:59.7441994+00:00",
        "SomethingNew": {"nested": True},
    }
    recorder = Recorder(lambda r: httpx.Response(200, json=plant))
    async with recorder.client() as client:
        found = await client.plant(PLANT)
    assert found is not None
    assert recorder.requests[0].url.path == f"/plants/v2/{PLANT}"
    assert found.harvested_wet_weight == Decimal("812.35")  # exact, not a float
    assert found.flowering_date == date(2015, 12, 15)
    assert found.harvested_date is None  # 0001-01-01 means unset
    assert found.last_modified is not None and found.last_modified.year == 2026


async def test_read_back_of_a_missing_object_is_none() -> None:
    recorder = Recorder(lambda r: httpx.Response(404, json={"Message": "Not found"}))
    async with recorder.client() as client:
        assert await client.plant(PLANT) is None
        assert await client.package(PACKAGE) is None
        assert await client.harvest(20001) is None


async def test_find_harvest_by_name_looks_at_active_then_inactive() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        name = "old" if request.url.path.endswith("inactive") else "current"
        harvests = [
            {
                "Id": 1 if name == "current" else 2,
                "Name": name,
                "TotalWetWeight": 1000.5,
                "TotalWasteWeight": 10,
                "UnitOfWeightName": "Grams",
            }
        ]
        return httpx.Response(200, json=envelope(harvests, 1, 20))

    recorder = Recorder(reply)
    async with recorder.client() as client:
        current = await client.find_harvest("current")
        old = await client.find_harvest("old")
        missing = await client.find_harvest("nope")
    assert current is not None and current.total_wet_weight == Decimal("1000.5")
    assert old is not None and old.id == 2
    assert missing is None
    paths = [r.url.path for r in recorder.requests]
    assert paths == [
        "/harvests/v2/active",
        "/harvests/v2/active",
        "/harvests/v2/inactive",
        "/harvests/v2/active",
        "/harvests/v2/inactive",
    ]


def test_tags_and_units_helpers() -> None:
    assert consecutive_tags("ABCDEF012345670000020401", 25)[-1] == "ABCDEF012345670000020425"
    assert consecutive_tags("1A4FF0100000022000000999", 2) == [
        "1A4FF0100000022000000999",
        "1A4FF0100000022000001000",
    ]
    with pytest.raises(ValueError, match="not a Metrc tag"):
        consecutive_tags("short", 2)
    assert unit_name("grams") == "Grams"
    assert unit_name("oz") == "Ounces"
    assert convert_quantity(Decimal(1), "Pounds", "Grams") == Decimal("453.59237")
    assert convert_quantity(Decimal(2), "Ounces", "grams") == Decimal("56.699046250")
    with pytest.raises(ValueError, match="cannot convert"):
        convert_quantity(Decimal(1), "Each", "Grams")


def test_a_destroy_leaves_out_what_it_has_no_value_for() -> None:
    """Never an empty ``WasteMaterialMixed``: a field without a value is not sent."""
    plant = DestroyPlant(label="1A4FF0100000022000001010", waste_method_name="Grinder",
                         waste_material_mixed=None, waste_weight=Decimal(120),
                         waste_unit_of_measure_name="Grams", waste_reason_name="Male Plants",
                         actual_date=DAY).to_metrc()
    assert "WasteMaterialMixed" not in plant and plant["WasteUnitOfMeasureName"] == "Grams"
    batch = BATCH_DESTROY.model_copy(update={"waste_method_name": None, "waste_material_mixed": "",
                                             "waste_unit_of_measure": None}).to_metrc()
    assert {"WasteMethodName", "WasteMaterialMixed", "WasteUnitOfMeasure"}.isdisjoint(batch)
    assert batch["PlantBatch"] == "BD 1" and batch["WasteReasonName"] == "Pest Infestation"
