"""Metrc v2: a typed async client for the writes and reads the floor needs.

    async with MetrcClient(url, vendor_key, user_key, "CCL24-0000101") as metrc:
        await metrc.move_plants([MovePlant(label=tag, location="Flower A", actual_date=day)])

Protocol only: the caller batches, throttles, retries and reads back. Every failure
is one of ``MetrcRowErrors`` / ``MetrcRejected`` / ``MetrcAuthError`` /
``MetrcRateLimited`` / ``MetrcUnavailable`` (``MetrcServerError``), all subclasses of
the engine-neutral ``bridge.state`` errors.
"""

from bridge.state.metrc._client import MAX_PAGE_SIZE, MetrcClient, Window
from bridge.state.metrc._errors import (
    MetrcAuthError,
    MetrcError,
    MetrcRateLimited,
    MetrcRejected,
    MetrcRowErrors,
    MetrcServerError,
    MetrcUnavailable,
    row_errors_from_body,
)
from bridge.state.metrc._records import (
    Facility,
    Harvest,
    HarvestWasteRecord,
    HarvestWasteType,
    Item,
    Location,
    Package,
    PackageAdjustment,
    PackageItem,
    Plant,
    PlantBatch,
    PlantWasteRecord,
    Strain,
    Tag,
    UnitOfMeasure,
    WasteMethod,
    WasteReason,
    WriteResult,
)
from bridge.state.metrc._requests import (
    AdjustPackage,
    ChangePlantBatchGrowthPhase,
    ChangePlantGrowthPhase,
    CreateHarvestPackage,
    CreatePackagePlantings,
    CreatePlantings,
    DestroyPlant,
    DestroyPlantBatch,
    FinishHarvest,
    HarvestIngredient,
    HarvestPlant,
    ManicurePlant,
    MetrcRow,
    MovePackage,
    MovePlant,
    RecordHarvestWaste,
    RecordPlantWaste,
    SourcePlantBatch,
    UnfinishHarvest,
)
from bridge.state.metrc._tags import consecutive_tags, is_tag
from bridge.state.metrc._units import UNITS, QuantityType, quantity_type, unit_name
from bridge.state.metrc._units import convert as convert_quantity
from bridge.state.metrc._wire import dumps as wire_dumps
from bridge.state.metrc._wire import loads as wire_loads

__all__ = [
    "MAX_PAGE_SIZE",
    "UNITS",
    "AdjustPackage",
    "ChangePlantBatchGrowthPhase",
    "ChangePlantGrowthPhase",
    "CreateHarvestPackage",
    "CreatePackagePlantings",
    "CreatePlantings",
    "DestroyPlant",
    "DestroyPlantBatch",
    "Facility",
    "FinishHarvest",
    "Harvest",
    "HarvestIngredient",
    "HarvestPlant",
    "HarvestWasteRecord",
    "HarvestWasteType",
    "Item",
    "Location",
    "ManicurePlant",
    "MetrcAuthError",
    "MetrcClient",
    "MetrcError",
    "MetrcRateLimited",
    "MetrcRejected",
    "MetrcRow",
    "MetrcRowErrors",
    "MetrcServerError",
    "MetrcUnavailable",
    "MovePackage",
    "MovePlant",
    "Package",
    "PackageAdjustment",
    "PackageItem",
    "Plant",
    "PlantBatch",
    "PlantWasteRecord",
    "QuantityType",
    "RecordHarvestWaste",
    "RecordPlantWaste",
    "SourcePlantBatch",
    "Strain",
    "Tag",
    "UnfinishHarvest",
    "UnitOfMeasure",
    "WasteMethod",
    "WasteReason",
    "Window",
    "WriteResult",
    "consecutive_tags",
    "convert_quantity",
    "is_tag",
    "quantity_type",
    "row_errors_from_body",
    "unit_name",
    "wire_dumps",
    "wire_loads",
]
