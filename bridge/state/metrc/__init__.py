"""Metrc v2: a typed async client for the writes and reads the floor needs, and the
plug-in (``METRC``) that connects a licence: client, mapper, sender, reference source.

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
    CreatePlantPlantings,
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

# isort: split
# The plug-in's parts use the protocol names above, so they come after them.
from bridge.state.metrc._mapper import MemoryPictures, MetrcMapper, MetrcSender, Pictures
from bridge.state.metrc._refsource import FULL_HISTORY, MetrcRefSource, room_kind
from bridge.state.metrc._system import METRC, Metrc

__all__ = [
    "FULL_HISTORY",
    "MAX_PAGE_SIZE",
    "METRC",
    "UNITS",
    "AdjustPackage",
    "ChangePlantBatchGrowthPhase",
    "ChangePlantGrowthPhase",
    "CreateHarvestPackage",
    "CreatePackagePlantings",
    "CreatePlantPlantings",
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
    "MemoryPictures",
    "Metrc",
    "MetrcAuthError",
    "MetrcClient",
    "MetrcError",
    "MetrcMapper",
    "MetrcRateLimited",
    "MetrcRefSource",
    "MetrcRejected",
    "MetrcRow",
    "MetrcRowErrors",
    "MetrcSender",
    "MetrcServerError",
    "MetrcUnavailable",
    "MovePackage",
    "MovePlant",
    "Package",
    "PackageAdjustment",
    "PackageItem",
    "Pictures",
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
    "room_kind",
    "row_errors_from_body",
    "unit_name",
    "wire_dumps",
    "wire_loads",
]
