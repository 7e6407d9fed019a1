"""Typed answers: the result of a write and the rows of the ``sync_*`` reads.

Row field names follow BUNK's and erpnext_biotrack's captures (state-apis.md
§3.3: ``sync_plant`` rows carry ``id, location, room, strain, mother,
parentid, state, harvestscheduled, …, transactionid``). Every value goes
through ``_wire`` so string-or-number quirks never leak out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any, Literal

from bridge.state.biotrack import _wire


class PlantState(IntEnum):
    """``sync_plant`` ``state``: 0 growing, 1 drying (harvested wet), 2 cured."""

    GROWING = 0
    DRYING = 1
    CURED = 2


@dataclass(frozen=True, slots=True)
class Derivative:
    """An inventory item a harvest, cure or waste weigh created."""

    barcode_id: str
    inventory_type: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What BioTrack answered to a successful write."""

    action: str
    nonce: str
    transaction_id: str | None
    session_time: int | None
    barcode_ids: tuple[str, ...]
    derivatives: tuple[Derivative, ...]


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    name: str
    kind: Literal["plant", "inventory"]
    location: str | None
    quarantine: bool
    deleted: bool
    transaction_id: int | None


@dataclass(frozen=True, slots=True)
class Plant:
    id: str
    location: str | None
    room: int | None
    strain: str | None
    mother: bool
    parent_id: str | None
    state: PlantState
    harvest_scheduled: bool
    harvest_collected: bool
    cure_collected: bool
    destroy_scheduled: bool
    destroy_scheduled_at: int | None
    destroy_reason: str | None
    converted: bool
    deleted: bool
    session_time: int | None
    transaction_id: int | None

    @property
    def alive(self) -> bool:
        """Still a plant on the floor: not destroyed, not converted, not harvested."""
        return not (self.deleted or self.converted) and self.state is PlantState.GROWING


@dataclass(frozen=True, slots=True)
class InventoryItem:
    id: str
    location: str | None
    inventory_type: int
    strain: str | None
    product_name: str | None
    remaining_quantity: Decimal
    uom: str | None
    room: int | None
    parent_ids: tuple[str, ...]
    plant_ids: tuple[str, ...]
    deleted: bool
    session_time: int | None
    transaction_id: int | None


@dataclass(frozen=True, slots=True)
class Employee:
    employee_id: str
    name: str
    deleted: bool
    transaction_id: int | None


@dataclass(frozen=True, slots=True)
class Vendor:
    ubi: str | None
    location: str
    name: str
    location_type: int | None
    producer: bool
    processor: bool
    retail: bool
    deleted: bool
    transaction_id: int | None


@dataclass(frozen=True, slots=True)
class PlantDerivative:
    """One weight recorded against one plant by a harvest or a cure.

    ``weight`` is this plant's share; ``whole_weight`` the total of the call
    (a harvest of several plants splits each bucket evenly, as BUNK does).
    """

    plant_id: str
    inventory_id: str | None
    inventory_type: int
    weight: Decimal
    whole_weight: Decimal | None
    uom: str | None
    harvest: bool
    cure: bool
    collect_additional: bool
    collection_time: int | None
    transaction_id: int | None


@dataclass(frozen=True, slots=True)
class InventoryAdjustment:
    inventory_id: str
    location: str | None
    adjust_type: int | None
    previous_quantity: Decimal | None
    new_quantity: Decimal
    reason: str | None
    session_time: int | None
    transaction_id: int | None


def _opt_decimal(value: object) -> Decimal | None:
    return None if value is None or value == "" else _wire.decimal(value)


def _opt_barcode(value: object) -> str | None:
    return None if value is None or value == "" else _wire.barcode_id(value)


def _txn(row: Mapping[str, Any]) -> int | None:
    return _wire.optional_int(row.get("transactionid"))


def parse_write_result(action: str, nonce: str, body: Mapping[str, Any]) -> WriteResult:
    derivatives = [
        Derivative(
            _wire.barcode_id(d.get("barcode_id")), _wire.optional_int(d.get("barcode_type")) or 0
        )
        for d in _wire.rows(body, "derivatives")
    ]
    ids = _wire.barcode_list(body.get("barcode_id"))
    barcode_type = _wire.optional_int(body.get("barcode_type"))
    if barcode_type is not None and len(ids) == 1 and not derivatives:
        # plant_waste_weigh answers one id plus its type instead of a derivatives list.
        derivatives = [Derivative(ids[0], barcode_type)]
    return WriteResult(
        action=action,
        nonce=nonce,
        transaction_id=_wire.optional_str(body.get("transactionid")),
        session_time=_wire.optional_int(body.get("sessiontime")),
        barcode_ids=ids,
        derivatives=tuple(derivatives),
    )


def parse_room(row: Mapping[str, Any], kind: Literal["plant", "inventory"]) -> Room:
    room_id = _wire.optional_int(row.get("roomid", row.get("id")))
    if room_id is None:
        raise _wire.WireError(f"room row without an id: {dict(row)!r}")
    return Room(
        id=room_id,
        name=_wire.optional_str(row.get("name")) or "",
        kind=kind,
        location=_wire.optional_str(row.get("location")),
        quarantine=_wire.flag(row.get("quarantine")),
        deleted=_wire.flag(row.get("deleted")),
        transaction_id=_txn(row),
    )


def parse_plant(row: Mapping[str, Any]) -> Plant:
    state = _wire.optional_int(row.get("state"))
    try:
        plant_state = PlantState(state or 0)
    except ValueError as exc:
        raise _wire.WireError(f"unknown plant state {state!r}") from exc
    removal_time = _wire.optional_int(row.get("removescheduletime"))
    return Plant(
        id=_wire.barcode_id(row.get("id")),
        location=_wire.optional_str(row.get("location")),
        room=_wire.optional_int(row.get("room")),
        strain=_wire.optional_str(row.get("strain")),
        mother=_wire.flag(row.get("mother")),
        parent_id=_opt_barcode(row.get("parentid")),
        state=plant_state,
        harvest_scheduled=_wire.flag(row.get("harvestscheduled")),
        harvest_collected=_wire.flag(row.get("harvestcollect")),
        cure_collected=_wire.flag(row.get("curecollect")),
        destroy_scheduled=_wire.flag(row.get("removescheduled")),
        destroy_scheduled_at=removal_time or None,
        destroy_reason=_wire.optional_str(row.get("removereason")),
        converted=_wire.flag(row.get("converted")),
        deleted=_wire.flag(row.get("deleted")),
        session_time=_wire.optional_int(row.get("sessiontime")),
        transaction_id=_txn(row),
    )


def parse_inventory(row: Mapping[str, Any]) -> InventoryItem:
    return InventoryItem(
        id=_wire.barcode_id(row.get("id")),
        location=_wire.optional_str(row.get("location")),
        inventory_type=_wire.optional_int(row.get("inventorytype")) or 0,
        strain=_wire.optional_str(row.get("strain")),
        product_name=_wire.optional_str(row.get("productname")),
        remaining_quantity=_wire.decimal(row.get("remaining_quantity", 0)),
        uom=_wire.optional_str(row.get("uom")),
        room=_wire.optional_int(row.get("currentroom")),
        parent_ids=_wire.barcode_list(row.get("parentid")),
        plant_ids=_wire.barcode_list(row.get("plantid")),
        deleted=_wire.flag(row.get("deleted")),
        session_time=_wire.optional_int(row.get("sessiontime")),
        transaction_id=_txn(row),
    )


def parse_employee(row: Mapping[str, Any]) -> Employee:
    employee_id = _wire.optional_str(row.get("employee_id"))
    if employee_id is None:
        raise _wire.WireError(f"employee row without employee_id: {dict(row)!r}")
    return Employee(
        employee_id=employee_id,
        name=_wire.optional_str(row.get("employee_name")) or "",
        deleted=_wire.flag(row.get("deleted")),
        transaction_id=_txn(row),
    )


def parse_vendor(row: Mapping[str, Any]) -> Vendor:
    location = _wire.optional_str(row.get("location"))
    if location is None:
        raise _wire.WireError(f"vendor row without location: {dict(row)!r}")
    return Vendor(
        ubi=_wire.optional_str(row.get("ubi")),
        location=location,
        name=_wire.optional_str(row.get("name")) or "",
        location_type=_wire.optional_int(row.get("locationtype")),
        producer=_wire.flag(row.get("producer")),
        processor=_wire.flag(row.get("processor")),
        retail=_wire.flag(row.get("retail")),
        deleted=_wire.flag(row.get("deleted")),
        transaction_id=_txn(row),
    )


def parse_plant_derivative(row: Mapping[str, Any]) -> PlantDerivative:
    return PlantDerivative(
        plant_id=_wire.barcode_id(row.get("plantid")),
        inventory_id=_opt_barcode(row.get("inventoryid")),
        inventory_type=_wire.optional_int(row.get("inventorytype")) or 0,
        weight=_wire.decimal(row.get("weight")),
        whole_weight=_opt_decimal(row.get("wholeweight")),
        uom=_wire.optional_str(row.get("uom")),
        harvest=_wire.flag(row.get("harvestcollect")),
        cure=_wire.flag(row.get("curecollect")),
        collect_additional=_wire.flag(row.get("collectadditional")),
        collection_time=_wire.optional_int(row.get("collectiontime")),
        transaction_id=_txn(row),
    )


def parse_inventory_adjustment(row: Mapping[str, Any]) -> InventoryAdjustment:
    return InventoryAdjustment(
        inventory_id=_wire.barcode_id(row.get("inventoryid")),
        location=_wire.optional_str(row.get("location")),
        adjust_type=_wire.optional_int(row.get("atype")),
        previous_quantity=_opt_decimal(row.get("previous_quantity")),
        new_quantity=_wire.decimal(row.get("new_quantity")),
        reason=_wire.optional_str(row.get("reason")),
        session_time=_wire.optional_int(row.get("sessiontime")),
        transaction_id=_txn(row),
    )
