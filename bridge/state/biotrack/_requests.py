"""Typed write requests, one frozen dataclass per BioTrack classic action.

Field names are Pythonic; ``fields()`` turns them into the wire names from
state-apis.md §3.3. Every id is validated as 16 digits when the request is
built, so a typo is caught before it costs a call (and before it could
land on someone else's plant).

Quantities are ``Decimal`` (the event model never uses floats); they become
JSON numbers on the wire, except ``inventory_adjust``'s quantity which OpenTHC
sends as a ``"%0.6f"`` string, and we copy that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any, ClassVar, Literal

from bridge.state.biotrack._wire import barcode_id

WeightUom = Literal["g", "mg", "kg", "oz", "lb"]
Uom = Literal["g", "mg", "kg", "oz", "lb", "each", "ml"]
_WEIGHT_UOMS = ("g", "mg", "kg", "oz", "lb")
_UOMS = (*_WEIGHT_UOMS, "each", "ml")


class InventoryType(IntEnum):
    """BioTrack ``invtype`` codes (the WA-era list; states may differ) [O CRE-A]."""

    KIEF = 5
    FLOWER = 6
    CLONE = 7
    OTHER_PLANT_MATERIAL = 9
    SEED = 10
    PLANT_TISSUE = 11
    MATURE_PLANT = 12
    FLOWER_LOT = 13
    OTHER_PLANT_MATERIAL_LOT = 14
    WASTE = 27
    USABLE_MARIJUANA = 28
    WET_FLOWER = 29


class AdjustReason(IntEnum):
    """``inventory_adjust`` ``type`` codes [O CRE-A]."""

    INVENTORY_AUDIT = 1
    THEFT = 2
    SEIZURE = 3
    CORRECTION = 4
    MOISTURE_LOSS = 5
    DEPLETION = 6


# The weight buckets harvest and cure take (§3.3; Florida's three "buckets").
_COLLECTION_TYPES = (
    InventoryType.FLOWER,
    InventoryType.OTHER_PLANT_MATERIAL,
    InventoryType.WASTE,
)


def _ids(values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    ids = tuple(barcode_id(v) for v in values)
    if not ids:
        raise ValueError("at least one BioTrack id is required")
    if len(set(ids)) != len(ids):
        raise ValueError(f"the same id is listed twice: {ids}")
    return ids


def _number(value: Decimal) -> int | float:
    """A JSON number for a Decimal: whole amounts stay integers ("40", not "40.0")."""
    return int(value) if value == value.to_integral_value() else float(value)


def _positive(value: Decimal, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{what} must be a positive Decimal, got {value!r}")
    return value


def _room(value: int, what: str = "room") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive integer room id, got {value!r}")
    return value


def _epoch(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"collectiontime must be Unix epoch seconds, got {value!r}")
    return value


def _uom(value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"unit {value!r} is not one of {', '.join(allowed)}")
    return value


class BioTrackWrite:
    """Base of the write requests: the action name and the wire fields."""

    __slots__ = ()
    action: ClassVar[str]
    # Actions that carry the facility's ``location`` license number (§3.2).
    takes_location: ClassVar[bool] = False

    def fields(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Weight:
    """One bucket of a harvest or cure: flower, other plant material, or waste."""

    amount: Decimal
    invtype: InventoryType
    uom: WeightUom = "g"

    def __post_init__(self) -> None:
        _positive(self.amount, "weight")
        if self.invtype not in _COLLECTION_TYPES:
            raise ValueError(f"harvest/cure weights are flower, other or waste, not {self.invtype}")
        _uom(self.uom, _WEIGHT_UOMS)

    def wire(self) -> dict[str, Any]:
        return {"amount": _number(self.amount), "invtype": int(self.invtype), "uom": self.uom}


@dataclass(frozen=True, slots=True, kw_only=True)
class Removal:
    """Take ``quantity`` out of inventory ``barcode_id`` (for splits and lots)."""

    barcode_id: str
    quantity: Decimal
    uom: Uom = "g"

    def __post_init__(self) -> None:
        object.__setattr__(self, "barcode_id", barcode_id(self.barcode_id))
        _positive(self.quantity, "quantity")
        _uom(self.uom, _UOMS)

    def wire(self) -> dict[str, Any]:
        return {
            "barcodeid": self.barcode_id,
            "remove_quantity": _number(self.quantity),
            "remove_quantity_uom": self.uom,
        }


def _weights(values: Sequence[Weight]) -> tuple[Weight, ...]:
    weights = tuple(values)
    if not weights:
        raise ValueError("at least one weight is required")
    return weights


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantNew(BioTrackWrite):
    """``plant_new``: ``quantity`` plants from a clone or seed inventory ``source``."""

    action: ClassVar[str] = "plant_new"
    takes_location: ClassVar[bool] = True
    room: int
    quantity: int
    strain: str
    source: str
    mother: bool = False

    def __post_init__(self) -> None:
        _room(self.room)
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or (
            self.quantity <= 0
        ):
            raise ValueError(f"quantity must be a positive whole number, got {self.quantity!r}")
        if not self.strain.strip():
            raise ValueError("strain is required")
        object.__setattr__(self, "source", barcode_id(self.source))

    def fields(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "quantity": self.quantity,
            "strain": self.strain.strip(),
            "source": self.source,
            "mother": int(self.mother),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlantIds(BioTrackWrite):
    barcode_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "barcode_ids", _ids(self.barcode_ids))

    def fields(self) -> dict[str, Any]:
        return {"barcodeid": list(self.barcode_ids)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantMove(_PlantIds):
    """``plant_move``: plants into plant room ``room``."""

    action: ClassVar[str] = "plant_move"
    room: int

    def __post_init__(self) -> None:
        _PlantIds.__post_init__(self)
        _room(self.room)

    def fields(self) -> dict[str, Any]:
        return {"room": self.room, "barcodeid": list(self.barcode_ids)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantHarvestSchedule(_PlantIds):
    """``plant_harvest_schedule``: required before weights in NM/IL/FL (§3.6)."""

    action: ClassVar[str] = "plant_harvest_schedule"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantHarvestScheduleUndo(_PlantIds):
    action: ClassVar[str] = "plant_harvest_schedule_undo"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Collection(_PlantIds):
    """What harvest and cure share: weights collected from plants at a time."""

    takes_location: ClassVar[bool] = True
    weights: tuple[Weight, ...]
    collectiontime: int
    collect_additional: bool = False

    def __post_init__(self) -> None:
        _PlantIds.__post_init__(self)
        object.__setattr__(self, "weights", _weights(self.weights))
        _epoch(self.collectiontime)

    def _collection_fields(self) -> dict[str, Any]:
        return {
            "barcodeid": list(self.barcode_ids),
            "collectiontime": self.collectiontime,
            "weights": [w.wire() for w in self.weights],
            "collectadditional": int(self.collect_additional),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantHarvest(_Collection):
    """``plant_harvest``: the wet weights. With ``wet`` flower is recorded as type 29."""

    action: ClassVar[str] = "plant_harvest"
    new_room: int | None = None
    wet: bool = True

    def __post_init__(self) -> None:
        _Collection.__post_init__(self)
        if self.new_room is not None:
            _room(self.new_room, "new_room")

    def fields(self) -> dict[str, Any]:
        out = {**self._collection_fields(), "wet": int(self.wet)}
        if self.new_room is not None:
            out["new_room"] = self.new_room
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantCure(_Collection):
    """``plant_cure``: the dry weights; outputs go to inventory room ``room``."""

    action: ClassVar[str] = "plant_cure"
    room: int | None = None

    def __post_init__(self) -> None:
        _Collection.__post_init__(self)
        if self.room is not None:
            _room(self.room)

    def fields(self) -> dict[str, Any]:
        out = self._collection_fields()
        if self.room is not None:
            out["room"] = self.room
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantWasteWeigh(BioTrackWrite):
    """``plant_waste_weigh``: weighed plant waste becomes a type-27 inventory item."""

    action: ClassVar[str] = "plant_waste_weigh"
    takes_location: ClassVar[bool] = True
    weight: Decimal
    uom: WeightUom = "g"
    collectiontime: int

    def __post_init__(self) -> None:
        _positive(self.weight, "weight")
        _uom(self.uom, _WEIGHT_UOMS)
        _epoch(self.collectiontime)

    def fields(self) -> dict[str, Any]:
        return {
            "weight": _number(self.weight),
            "uom": self.uom,
            "collectiontime": self.collectiontime,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantDestroySchedule(_PlantIds):
    """``plant_destroy_schedule``: starts the mandatory wait before ``plant_destroy``."""

    action: ClassVar[str] = "plant_destroy_schedule"
    reason_code: int
    reason: str
    override: bool = False

    def __post_init__(self) -> None:
        _PlantIds.__post_init__(self)
        if isinstance(self.reason_code, bool) or not isinstance(self.reason_code, int):
            raise ValueError(f"reason_code must be an integer, got {self.reason_code!r}")
        if not self.reason.strip():
            raise ValueError("a destroy reason is required")

    def fields(self) -> dict[str, Any]:
        return {
            "barcodeid": list(self.barcode_ids),
            "reason_extended": self.reason_code,
            "reason": self.reason.strip(),
            "override": int(self.override),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantDestroyScheduleUndo(_PlantIds):
    action: ClassVar[str] = "plant_destroy_schedule_undo"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantDestroy(_PlantIds):
    """``plant_destroy``: only after the scheduled wait has passed."""

    action: ClassVar[str] = "plant_destroy"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantConvertToInventory(_PlantIds):
    """``plant_convert_to_inventory``: plants become mature-plant (12) inventory."""

    action: ClassVar[str] = "plant_convert_to_inventory"


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryMove(BioTrackWrite):
    """``inventory_move``: inventory items into inventory room ``room``."""

    action: ClassVar[str] = "inventory_move"
    barcode_ids: tuple[str, ...]
    room: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "barcode_ids", _ids(self.barcode_ids))
        _room(self.room)

    def fields(self) -> dict[str, Any]:
        return {"data": [{"barcodeid": b, "room": self.room} for b in self.barcode_ids]}


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryAdjust(BioTrackWrite):
    """``inventory_adjust``: set the item's quantity to ``quantity``, with a reason.

    [I] The quantity is read as the new absolute amount (the adjust sync rows carry
    ``previous_quantity`` → ``new_quantity``), which makes a replay harmless.
    """

    action: ClassVar[str] = "inventory_adjust"
    barcode_id: str
    quantity: Decimal
    uom: Uom = "g"
    reason_code: AdjustReason
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "barcode_id", barcode_id(self.barcode_id))
        if not isinstance(self.quantity, Decimal) or not self.quantity.is_finite() or (
            self.quantity < 0
        ):
            raise ValueError(f"quantity must be a Decimal >= 0, got {self.quantity!r}")
        _uom(self.uom, _UOMS)
        object.__setattr__(self, "reason_code", AdjustReason(self.reason_code))
        if not self.reason.strip():
            raise ValueError("an adjustment reason is required")

    def fields(self) -> dict[str, Any]:
        return {
            "data": {
                "barcodeid": self.barcode_id,
                "quantity": f"{self.quantity:.6f}",
                "quantity_uom": self.uom,
                "type": int(self.reason_code),
                "reason": self.reason.strip(),
            }
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InventorySplit(BioTrackWrite):
    """``inventory_split``: each removal becomes a new sub-lot (one new id each)."""

    action: ClassVar[str] = "inventory_split"
    takes_location: ClassVar[bool] = True
    removals: tuple[Removal, ...]

    def __post_init__(self) -> None:
        if not self.removals:
            raise ValueError("at least one removal is required")
        object.__setattr__(self, "removals", tuple(self.removals))

    def fields(self) -> dict[str, Any]:
        return {"data": [r.wire() for r in self.removals]}


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryCreateLot(BioTrackWrite):
    """``inventory_create_lot``: combine removals into one lot (13 flower, 14 other)."""

    action: ClassVar[str] = "inventory_create_lot"
    removals: tuple[Removal, ...]
    lot_type: InventoryType | None = None
    is_medical: bool = False
    _lot_types: ClassVar[tuple[InventoryType, ...]] = (
        InventoryType.FLOWER_LOT,
        InventoryType.OTHER_PLANT_MATERIAL_LOT,
    )

    def __post_init__(self) -> None:
        if not self.removals:
            raise ValueError("at least one removal is required")
        object.__setattr__(self, "removals", tuple(self.removals))
        if self.lot_type is not None and self.lot_type not in self._lot_types:
            raise ValueError(f"lot_type must be 13 or 14, got {self.lot_type!r}")

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "data": [r.wire() for r in self.removals],
            "is_medical": int(self.is_medical),
        }
        if self.lot_type is not None:
            out["lot_type"] = int(self.lot_type)
        return out


WRITE_REQUESTS: tuple[type[BioTrackWrite], ...] = (
    PlantNew,
    PlantMove,
    PlantHarvestSchedule,
    PlantHarvestScheduleUndo,
    PlantHarvest,
    PlantCure,
    PlantWasteWeigh,
    PlantDestroySchedule,
    PlantDestroyScheduleUndo,
    PlantDestroy,
    PlantConvertToInventory,
    InventoryMove,
    InventoryAdjust,
    InventorySplit,
    InventoryCreateLot,
)
