"""BioTrack classic JSON API ("serverjson.asp", API 4.0): a typed async client.

Protocol code only: login and transparent re-login on errorcode 63, typed
write requests, typed sync reads, read-back helpers, and one error hierarchy
that says whether a failed write may have been applied. Retry and batching
policy live in the bridge's submitter. ``BIOTRACK`` is the plug-in that connects a
licence: client, mapper, sender, reference source, throttle.
"""

from bridge.state.biotrack._client import BioTrackClient
from bridge.state.biotrack._config import BioTrackConfig
from bridge.state.biotrack._errors import (
    BioTrackAmbiguous,
    BioTrackAuthError,
    BioTrackError,
    BioTrackNotSent,
    BioTrackProtocolError,
    BioTrackRateLimited,
    BioTrackRejected,
    BioTrackServerError,
    BioTrackUnavailable,
)
from bridge.state.biotrack._models import (
    Derivative,
    Employee,
    InventoryAdjustment,
    InventoryItem,
    Plant,
    PlantDerivative,
    PlantState,
    Room,
    Vendor,
    WriteResult,
)
from bridge.state.biotrack._requests import (
    AdjustReason,
    BioTrackWrite,
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
    PlantHarvestScheduleUndo,
    PlantMove,
    PlantNew,
    PlantWasteWeigh,
    Removal,
    Uom,
    Weight,
    WeightUom,
)
from bridge.state.biotrack._wire import barcode_id

# isort: split
# The plug-in's parts use the protocol names above, so they come after them.
from bridge.state.biotrack._mapper import BioTrackMapper, BioTrackSender
from bridge.state.biotrack._refsource import BioTrackRefSource, adjust_reason_name
from bridge.state.biotrack._system import BIOTRACK, BioTrack

__all__ = [
    "BIOTRACK",
    "AdjustReason",
    "BioTrack",
    "BioTrackAmbiguous",
    "BioTrackAuthError",
    "BioTrackClient",
    "BioTrackConfig",
    "BioTrackError",
    "BioTrackMapper",
    "BioTrackNotSent",
    "BioTrackProtocolError",
    "BioTrackRateLimited",
    "BioTrackRefSource",
    "BioTrackRejected",
    "BioTrackSender",
    "BioTrackServerError",
    "BioTrackUnavailable",
    "BioTrackWrite",
    "Derivative",
    "Employee",
    "InventoryAdjust",
    "InventoryAdjustment",
    "InventoryCreateLot",
    "InventoryItem",
    "InventoryMove",
    "InventorySplit",
    "InventoryType",
    "Plant",
    "PlantConvertToInventory",
    "PlantCure",
    "PlantDerivative",
    "PlantDestroy",
    "PlantDestroySchedule",
    "PlantDestroyScheduleUndo",
    "PlantHarvest",
    "PlantHarvestSchedule",
    "PlantHarvestScheduleUndo",
    "PlantMove",
    "PlantNew",
    "PlantState",
    "PlantWasteWeigh",
    "Removal",
    "Room",
    "Uom",
    "Vendor",
    "Weight",
    "WeightUom",
    "WriteResult",
    "adjust_reason_name",
    "barcode_id",
]
