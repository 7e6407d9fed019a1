"""Typed views of what Metrc v2 reads return.

Only the fields Canopy uses are declared; everything else Metrc sends is ignored,
so a new field in a state's API does not break a read. Metrc writes "unset" dates
as ``0001-01-01`` (with or without a time); those become ``None`` here. Business
dates that come back with a time keep the calendar date as written.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_pascal

__all__ = [
    "Facility",
    "Harvest",
    "HarvestWasteRecord",
    "HarvestWasteType",
    "Item",
    "Location",
    "Package",
    "PackageAdjustment",
    "PackageItem",
    "Plant",
    "PlantBatch",
    "PlantWasteRecord",
    "Strain",
    "Tag",
    "UnitOfMeasure",
    "WasteMethod",
    "WasteReason",
    "WriteResult",
]

_UNSET_PREFIX = "0001-01-01"


def _business_date(value: Any) -> Any:
    if isinstance(value, str):
        if not value or value.startswith(_UNSET_PREFIX):
            return None
        return value[:10]
    return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, str) and (not value or value.startswith(_UNSET_PREFIX)):
        return None
    return value


MetrcDate = Annotated[date | None, BeforeValidator(_business_date)]
MetrcTimestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]


class MetrcRecord(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_pascal,
        validate_by_name=True,
        validate_by_alias=True,
    )


class WriteResult(BaseModel):
    """What a write returned: ``{"Ids": [...], "Warnings": ...}`` or an empty 200."""

    model_config = ConfigDict(frozen=True)

    ids: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()


class Plant(MetrcRecord):
    id: int
    label: str
    state: str | None = None
    growth_phase: str | None = None
    plant_batch_id: int | None = None
    plant_batch_name: str | None = None
    plant_batch_type_name: str | None = None
    strain_id: int | None = None
    strain_name: str | None = None
    location_id: int | None = None
    location_name: str | None = None
    sublocation_name: str | None = None
    harvest_id: int | None = None
    harvested_unit_of_weight_name: str | None = None
    harvested_wet_weight: Decimal | None = None
    harvest_count: int | None = None
    is_on_hold: bool = False
    planted_date: MetrcDate = None
    vegetative_date: MetrcDate = None
    flowering_date: MetrcDate = None
    harvested_date: MetrcDate = None
    destroyed_date: MetrcDate = None
    destroyed_note: str | None = None
    last_modified: MetrcTimestamp = None


class PlantBatch(MetrcRecord):
    id: int
    name: str
    plant_batch_type_name: str | None = None
    strain_name: str | None = None
    location_name: str | None = None
    sublocation_name: str | None = None
    untracked_count: int = 0
    tracked_count: int = 0
    packaged_count: int = 0
    destroyed_count: int = 0
    planted_date: MetrcDate = None
    is_on_hold: bool = False
    last_modified: MetrcTimestamp = None


class Harvest(MetrcRecord):
    id: int
    name: str
    harvest_type: str | None = None
    drying_location_name: str | None = None
    drying_sublocation_name: str | None = None
    current_weight: Decimal = Decimal(0)
    total_waste_weight: Decimal = Decimal(0)
    plant_count: int = 0
    total_wet_weight: Decimal = Decimal(0)
    package_count: int = 0
    total_packaged_weight: Decimal = Decimal(0)
    unit_of_weight_name: str | None = None
    is_on_hold: bool = False
    harvest_start_date: MetrcDate = None
    finished_date: MetrcDate = None
    last_modified: MetrcTimestamp = None

    @property
    def is_finished(self) -> bool:
        return self.finished_date is not None


class HarvestWasteRecord(MetrcRecord):
    id: int
    waste_type_name: str | None = None
    waste_weight: Decimal
    unit_of_weight_name: str | None = None
    actual_date: MetrcDate = None


class PackageItem(MetrcRecord):
    id: int | None = None
    name: str
    product_category_name: str | None = None
    unit_of_measure_name: str | None = None


class Package(MetrcRecord):
    id: int
    label: str
    package_type: str | None = None
    item: PackageItem | None = None
    quantity: Decimal
    unit_of_measure_name: str | None = None
    location_name: str | None = None
    sublocation_name: str | None = None
    source_harvest_names: str | None = None
    note: str | None = None
    packaged_date: MetrcDate = None
    is_on_hold: bool = False
    is_finished: bool = False
    finished_date: MetrcDate = None
    last_modified: MetrcTimestamp = None


class PackageAdjustment(MetrcRecord):
    package_id: int | None = None
    package_label: str
    item_name: str | None = None
    adjustment_quantity: Decimal
    adjustment_unit_of_measure_name: str | None = None
    adjustment_reason_name: str | None = None
    adjustment_note: str | None = None
    adjustment_date: MetrcDate = None


class PlantWasteRecord(MetrcRecord):
    plant_waste_number: str | None = None
    waste_method_name: str | None = None
    waste_weight: Decimal | None = None
    waste_unit_of_measure_name: str | None = None
    waste_reason_name: str | None = None
    plant_batch_name: str | None = None
    plant_count: int | None = None
    waste_date: MetrcDate = None
    # Not in Metrc's documented shape, read when present (the simulator sends it):
    # the op id the submitter put in the note is how it finds its own write.
    note: str | None = None


class Location(MetrcRecord):
    id: int
    name: str
    location_type_name: str | None = None
    for_plant_batches: bool = False
    for_plants: bool = False
    for_harvests: bool = False
    for_packages: bool = False


class Strain(MetrcRecord):
    id: int
    name: str
    testing_status: str | None = None
    thc_level: Decimal | None = None
    cbd_level: Decimal | None = None
    indica_percentage: Decimal | None = None
    sativa_percentage: Decimal | None = None


class Item(MetrcRecord):
    id: int
    name: str
    product_category_name: str | None = None
    product_category_type: str | None = None
    quantity_type: str | None = None
    unit_of_measure_name: str | None = None
    strain_name: str | None = None


class WasteMethod(MetrcRecord):
    name: str
    for_plants: bool = True
    for_product_destruction: bool = False


class WasteReason(MetrcRecord):
    """A plant waste reason or a package adjust reason (same shape)."""

    name: str
    requires_note: bool = False
    requires_waste_weight: bool = False
    requires_immature_waste_weight: bool = False
    requires_mature_waste_weight: bool = False


class HarvestWasteType(MetrcRecord):
    name: str


class UnitOfMeasure(MetrcRecord):
    quantity_type: str
    name: str
    abbreviation: str


class Tag(MetrcRecord):
    id: int
    label: str
    tag_inventory_type_name: str | None = None
    tag_type_name: str | None = None
    max_group_size: int | None = None


class FacilityLicense(MetrcRecord):
    number: str
    license_type: str | None = None


class Facility(MetrcRecord):
    name: str
    display_name: str | None = None
    license: FacilityLicense
    facility_type: dict[str, Any] = Field(default_factory=dict)
