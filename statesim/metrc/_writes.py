"""The write endpoints: the rules each row must pass, and what it changes.

Every operation reads and checks everything first and only then mutates, so a
rejected row leaves the license as it was. ``run_batch`` applies a request array to
a copy of the license and swaps it in only if every row passed (all-or-nothing);
with ``all_or_nothing=False`` the valid rows are applied and the others reported.
Message texts follow Metrc's where known ("Tag … is not available.") and its
style elsewhere.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from bridge.state.metrc import consecutive_tags, is_tag, quantity_type, unit_name
from bridge.state.metrc import convert_quantity as convert
from statesim.metrc._fields import NotYourLicense, Row, RowRejected
from statesim.metrc._seed import Reason, WasteMethod
from statesim.metrc._state import (
    Adjustment,
    Harvest,
    HarvestWaste,
    Item,
    License,
    Location,
    Package,
    Plant,
    PlantBatch,
    PlantWaste,
    Strain,
    Tag,
    World,
)

Holds = Literal["plant_batches", "plants", "harvests", "packages"]
_HOLDS_TEXT = {
    "plant_batches": "plant batches",
    "plants": "plants",
    "harvests": "harvests",
    "packages": "packages",
}
GROWTH_PHASES = ("Vegetative", "Flowering")


@dataclass
class WriteContext:
    """What a row operation sees: the world, the license copy it may change, the time."""

    world: World
    lic: License
    now: datetime
    user_name: str

    @property
    def today(self) -> date:
        return self.lic.today(self.now)

    # -- lookups by name (exact, as Metrc matches them) --------------------------------

    def location(self, name: str, holds: Holds) -> Location:
        found = self.lic.locations.get(name)
        if found is None:
            raise RowRejected(f"Location {name} could not be found.")
        allowed = {
            "plant_batches": found.type.for_plant_batches,
            "plants": found.type.for_plants,
            "harvests": found.type.for_harvests,
            "packages": found.type.for_packages,
        }[holds]
        if self.world.config.enforce_location_types and not allowed:
            raise RowRejected(f"Location {name} ({found.type.name}) cannot hold {_HOLDS_TEXT[holds]}.")
        return found

    def strain(self, name: str) -> Strain:
        found = self.lic.strains.get(name)
        if found is None:
            raise RowRejected(f"Strain {name} could not be found.")
        return found

    def item(self, name: str) -> Item:
        found = self.lic.items.get(name)
        if found is None:
            raise RowRejected(f"Item {name} could not be found.")
        return found

    def waste_method(self, name: str) -> WasteMethod:
        found = self.world.waste_methods.get(name)
        if found is None or not found.for_plants:
            raise RowRejected(f"Waste method {name} could not be found.")
        return found

    def plant_waste_reason(self, name: str) -> Reason:
        found = self.world.plant_waste_reasons.get(name)
        if found is None:
            raise RowRejected(f"Waste reason {name} could not be found.")
        return found

    def weight_unit(self, name: str, key: str) -> str:
        canonical = unit_name(name)
        if canonical is None:
            raise RowRejected(f"{key} {name} could not be found.")
        if quantity_type(canonical) != "WeightBased":
            raise RowRejected(f"{key} {name} is not a unit of weight.")
        return canonical

    # -- objects ----------------------------------------------------------------------

    def plant(self, row: Row) -> Plant:
        """The plant a row names by ``Id`` or ``Label``."""
        label, plant_id = row.optional_text("Label"), row.optional_integer("Id")
        if label is None and plant_id is None:
            raise RowRejected("Id or Label is required.")
        if label is not None:
            return self.plant_labelled(label)
        found = self.lic.plants.get(plant_id) if plant_id is not None else None
        if found is None:
            if self.world.owner_of_plant(plant_id=plant_id) is not None:
                raise NotYourLicense
            raise RowRejected(f"Plant with Id {plant_id} could not be found.")
        return found

    def plant_labelled(self, label: str) -> Plant:
        found = self.lic.plants_by_label.get(label)
        if found is None:
            if self.world.owner_of_plant(label=label) is not None:
                raise NotYourLicense
            raise RowRejected(f"Plant {label} could not be found.")
        return found

    def tracked_plant(self, plant: Plant) -> Plant:
        """Writes on a harvested, destroyed or held plant fail."""
        if plant.state == "Harvested":
            raise RowRejected(f"Plant {plant.label} has already been harvested.")
        if plant.state == "Destroyed":
            raise RowRejected(f"Plant {plant.label} has been destroyed.")
        if plant.is_on_hold:
            raise RowRejected(f"Plant {plant.label} is on hold.")
        return plant

    def harvest_by_id(self, harvest_id: int) -> Harvest:
        found = self.lic.harvests.get(harvest_id)
        if found is None:
            if self.world.owner_of_harvest(harvest_id) is not None:
                raise NotYourLicense
            raise RowRejected(f"Harvest with Id {harvest_id} could not be found.")
        return found

    def open_harvest(self, harvest: Harvest) -> Harvest:
        if not harvest.active:
            raise RowRejected(f"Harvest {harvest.name} is finished.")
        if harvest.is_on_hold:
            raise RowRejected(f"Harvest {harvest.name} is on hold.")
        return harvest

    def package(self, label: str) -> Package:
        found = self.lic.packages_by_label.get(label)
        if found is None:
            if self.world.owner_of_package(label=label) is not None:
                raise NotYourLicense
            raise RowRejected(f"Package {label} could not be found.")
        if not found.active:
            raise RowRejected(f"Package {label} is finished.")
        if found.is_on_hold:
            raise RowRejected(f"Package {label} is on hold.")
        return found

    def available_tag(self, label: str, kind: Literal["plant", "package"]) -> Tag:
        """An unused tag of this license's pool of that kind (anything else: not available)."""
        pool = self.lic.plant_tags if kind == "plant" else self.lic.package_tags
        found = pool.get(label) if is_tag(label) else None
        if found is None or found.used:
            raise RowRejected(f"Tag {label} is not available.")
        return found

    def check_date(self, key: str, value: date, *, not_before: date | None = None, what: str = "") -> date:
        if self.world.config.reject_future_dates and value > self.today:
            raise RowRejected(f"{key} {value.isoformat()} is in the future.")
        if not_before is not None and value < not_before:
            raise RowRejected(f"{key} {value.isoformat()} is before {what} {not_before.isoformat()}.")
        return value

    def touch(self, *objects: Any) -> None:
        for obj in objects:
            obj.last_modified = self.now


# -- plant batches ---------------------------------------------------------------------


def _batch_type(row: Row, field: str) -> str:
    batch_type = row.text(field)
    if batch_type not in ("Seed", "Clone"):
        raise RowRejected(f"{field} {batch_type} is not valid; use Seed or Clone.")
    return batch_type


def _new_batch(ctx: WriteContext, row: Row, name: str, batch_type: str, strain: Strain,
               location: Location | None, sublocation: str | None, count: int, planted: date,
               source_package_label: str | None = None) -> PlantBatch:
    """Store a new plant batch; its name must be new."""
    if ctx.lic.batch_named(name) is not None:
        raise RowRejected(f"Plant batch {name} already exists.")
    batch = PlantBatch(ctx.world.next_id("batch"), name, batch_type, strain, location, sublocation, count,
                       planted, ctx.now, patient_license_number=row.optional_text("PatientLicenseNumber"),
                       source_package_label=source_package_label)
    ctx.lic.batches[batch.id] = batch
    return batch


def create_plantings(ctx: WriteContext, row: Row) -> list[int]:
    name = row.text("Name")
    batch_type = _batch_type(row, "Type")
    count = row.integer("Count", minimum=1)
    strain = ctx.strain(row.text("Strain"))
    location_name = row.optional_text("Location")
    location = ctx.location(location_name, "plant_batches") if location_name else None
    sublocation = row.optional_text("Sublocation")
    actual = ctx.check_date("ActualDate", row.day("ActualDate"))
    for source in row.rows("SourcePlantBatches"):
        source_name = source.text("PlantBatchName")
        if ctx.lic.batch_named(source_name, active_only=False) is None:
            raise RowRejected(f"Plant batch {source_name} could not be found.")
    batch = _new_batch(ctx, row, name, batch_type, strain, location, sublocation, count, actual)
    return [batch.id]


def create_plant_plantings(ctx: WriteContext, row: Row) -> list[int]:
    """``POST /plants/v2/plantings``: a new batch of clones or seeds taken from a plant,
    which stays as it is. The plant must be alive and not on hold; the batch takes the
    strain named in the row [I: Metrc's check that it matches the plant's is not in the
    reference], planted not before the plant was."""
    plant = ctx.tracked_plant(ctx.plant_labelled(row.text("PlantLabel")))
    name = row.text("PlantBatchName")
    batch_type = _batch_type(row, "PlantBatchType")
    count = row.integer("PlantCount", minimum=1)
    strain = ctx.strain(row.text("StrainName"))
    location_name = row.optional_text("LocationName")
    location = ctx.location(location_name, "plant_batches") if location_name else None
    sublocation = row.optional_text("SublocationName")
    planted = ctx.check_date("ActualDate", row.day("ActualDate"), not_before=plant.planted_date,
                             what="plant's planted date")
    batch = _new_batch(ctx, row, name, batch_type, strain, location, sublocation, count, planted)
    return [batch.id]


def create_package_plantings(ctx: WriteContext, row: Row) -> list[int]:
    """``POST /packages/v2/plantings``: a new batch whose plants come out of a package.

    The package gives up ``PackageAdjustmentAmount`` (in its unit, converted), or
    ``PlantCount`` of its own unit when no amount is sent [I: Metrc's wording of
    the default is not in the reference]."""
    package = ctx.package(row.text("PackageLabel"))
    name = row.text("PlantBatchName")
    batch_type = _batch_type(row, "PlantBatchType")
    count = row.integer("PlantCount", minimum=1)
    strain = ctx.strain(row.text("StrainName"))
    location_name = row.optional_text("LocationName")
    location = ctx.location(location_name, "plant_batches") if location_name else None
    sublocation = row.optional_text("SublocationName")
    planted = ctx.check_date(
        "PlantedDate", row.day("PlantedDate"), not_before=package.packaged_date, what="packaged date"
    )
    ctx.check_date(
        "UnpackagedDate", row.day("UnpackagedDate"), not_before=package.packaged_date, what="packaged date"
    )
    amount = Decimal(count)
    if row.present("PackageAdjustmentAmount"):
        amount = row.decimal("PackageAdjustmentAmount")
        if amount < 0:
            raise RowRejected("PackageAdjustmentAmount must not be negative.")
    unit_text = row.optional_text("PackageAdjustmentUnitOfMeasureName") or package.unit
    try:
        taken = convert(amount, unit_text, package.unit)
    except ValueError:
        raise RowRejected(
            f"PackageAdjustmentUnitOfMeasureName {unit_text} cannot be used for package "
            f"{package.label} ({package.unit})."
        ) from None
    if taken > package.quantity:
        raise RowRejected(
            f"Package {package.label} has {_fmt(package.quantity)} {package.unit}; "
            f"cannot take {_fmt(taken)} {package.unit} for plantings."
        )
    batch = _new_batch(ctx, row, name, batch_type, strain, location, sublocation, count, planted,
                       source_package_label=package.label)
    package.quantity -= taken
    ctx.touch(package)
    return [batch.id]


def _plant_waste(
    ctx: WriteContext, row: Row, *, mature: bool, unit_key: str
) -> tuple[str | None, Reason, str | None, Decimal, str | None]:
    """The waste fields both plant destroys take, checked the same way: material,
    reason (its note and weight rules), weight and unit. The two endpoints differ
    only in which weight flag of the reason applies and what the unit field is called."""
    material = row.optional_text("WasteMaterialMixed")
    reason = ctx.plant_waste_reason(row.text("WasteReasonName"))
    note = row.optional_text("ReasonNote")
    if reason.requires_note and not note:
        raise RowRejected(f"ReasonNote is required for waste reason {reason.name}.")
    weight_required = reason.requires_waste_weight or (
        reason.requires_mature_waste_weight if mature else reason.requires_immature_waste_weight
    )
    weight = row.decimal("WasteWeight", allow_missing=not weight_required)
    if weight < 0 or (weight_required and weight == 0):
        raise RowRejected(f"WasteWeight must be greater than zero for reason {reason.name}.")
    unit_text = row.optional_text(unit_key)
    if weight > 0 and unit_text is None:
        raise RowRejected(f"{unit_key} is required.")
    unit = ctx.weight_unit(unit_text, unit_key) if unit_text else None
    return material, reason, note, weight, unit


def destroy_plant_batch(ctx: WriteContext, row: Row) -> list[int]:
    """``DELETE /plantbatches/v2``: destroy ``Count`` untracked plants, recording the waste.

    The unit field is ``WasteUnitOfMeasure`` here (Metrc API docs, PlantBatches,
    ``DELETE /plantbatches/v2``; state-apis.md §2 (f)), unlike ``DELETE /plants/v2``'s
    ``WasteUnitOfMeasureName``: a client sending the plants spelling sends no unit."""
    name = row.text("PlantBatch")
    batch = ctx.lic.batch_named(name)
    if batch is None:
        if ctx.lic.batch_named(name, active_only=False) is not None:
            raise RowRejected(f"Plant batch {name} has no untracked plants left.")
        raise RowRejected(f"Plant batch {name} could not be found.")
    count = row.integer("Count", minimum=1)
    if count > batch.untracked:
        raise RowRejected(
            f"Plant batch {name} has {batch.untracked} untracked plants; cannot destroy {count}."
        )
    method_name = row.optional_text("WasteMethodName")
    method = ctx.waste_method(method_name) if method_name else None
    material, reason, note, weight, unit = _plant_waste(
        ctx, row, mature=False, unit_key="WasteUnitOfMeasure"
    )
    actual = ctx.check_date(
        "ActualDate", row.day("ActualDate"), not_before=batch.planted_date, what="planted date"
    )
    batch.untracked -= count
    batch.destroyed += count
    waste = PlantWaste(
        ctx.world.next_id("plant_waste"),
        method.name if method else "",
        material,
        weight,
        unit,
        reason.name,
        count,
        actual,
        ctx.now,
        note=note,
        location=batch.location.name if batch.location else None,
        batch=batch,
    )
    ctx.lic.plant_waste.append(waste)
    ctx.touch(batch)
    return [batch.id]


def change_batch_growth_phase(ctx: WriteContext, row: Row) -> list[int]:
    name = row.text("Name")
    batch = ctx.lic.batch_named(name)
    if batch is None:
        if ctx.lic.batch_named(name, active_only=False) is not None:
            raise RowRejected(f"Plant batch {name} has no untracked plants left.")
        raise RowRejected(f"Plant batch {name} could not be found.")
    count = row.integer("Count", minimum=1)
    if count > batch.untracked:
        raise RowRejected(f"Plant batch {name} has {batch.untracked} untracked plants; cannot tag {count}.")
    starting = row.text("StartingTag")
    try:
        labels = consecutive_tags(starting, count)
    except ValueError:
        raise RowRejected(f"Tag {starting} is not available.") from None
    tags = [ctx.available_tag(label, "plant") for label in labels]
    phase = _growth_phase(row.text("GrowthPhase"))
    location = ctx.location(row.text("NewLocation"), "plants")
    sublocation = row.optional_text("NewSublocation")
    growth_date = ctx.check_date(
        "GrowthDate", row.day("GrowthDate"), not_before=batch.planted_date, what="planted date"
    )
    patient = row.optional_text("PatientLicenseNumber")
    ids: list[int] = []
    for tag in tags:
        plant = Plant(
            ctx.world.next_id("plant"),
            tag.label,
            phase,
            batch.strain,
            location,
            batch.planted_date,
            ctx.now,
            batch=batch,
            sublocation=sublocation,
            patient_license_number=patient,
            vegetative_date=growth_date if phase == "Vegetative" else None,
            flowering_date=growth_date if phase == "Flowering" else None,
        )
        ctx.lic.use_tag(tag)
        ctx.lic.add_plant(plant)
        ids.append(plant.id)
    batch.untracked -= count
    batch.tracked += count
    ctx.touch(batch)
    return ids


# -- plants ----------------------------------------------------------------------------


def move_plant(ctx: WriteContext, row: Row) -> list[int]:
    plant = ctx.tracked_plant(ctx.plant(row))
    location = ctx.location(row.text("Location"), "plants")
    sublocation = row.optional_text("Sublocation")
    ctx.check_date("ActualDate", row.day("ActualDate"), not_before=plant.planted_date, what="planted date")
    plant.location, plant.sublocation = location, sublocation
    ctx.touch(plant)
    return [plant.id]


def change_plant_growth_phase(ctx: WriteContext, row: Row) -> list[int]:
    plant = ctx.tracked_plant(ctx.plant(row))
    phase = _growth_phase(row.text("GrowthPhase"))
    if phase == plant.growth_phase:
        raise RowRejected(f"Plant {plant.label} is already in the {phase} phase.")
    if (
        phase == "Vegetative"
        and plant.growth_phase == "Flowering"
        and not ctx.world.config.allow_flowering_to_vegetative
    ):
        raise RowRejected(f"Plant {plant.label} is flowering and cannot go back to Vegetative.")
    new_tag_label = row.optional_text("NewTag")
    new_tag = (
        ctx.available_tag(new_tag_label, "plant") if new_tag_label and new_tag_label != plant.label else None
    )
    location = ctx.location(row.text("NewLocation"), "plants")
    sublocation = row.optional_text("NewSublocation")
    growth_date = ctx.check_date(
        "GrowthDate", row.day("GrowthDate"), not_before=plant.planted_date, what="planted date"
    )
    plant.growth_phase = phase
    if phase == "Flowering":
        plant.flowering_date = growth_date
    else:
        plant.vegetative_date = growth_date
    plant.location, plant.sublocation = location, sublocation
    if new_tag is not None:
        ctx.lic.use_tag(new_tag)  # the old tag stays used: tags are never reused
        ctx.lic.relabel_plant(plant, new_tag.label)
    ctx.touch(plant)
    return [plant.id]


def harvest_plant(ctx: WriteContext, row: Row) -> list[int]:
    return _harvest(ctx, row, whole_plant=True)


def manicure_plant(ctx: WriteContext, row: Row) -> list[int]:
    return _harvest(ctx, row, whole_plant=False)


def _harvest(ctx: WriteContext, row: Row, *, whole_plant: bool) -> list[int]:
    plant = ctx.tracked_plant(ctx.plant_labelled(row.text("Plant")))
    if plant.growth_phase != "Flowering":
        raise RowRejected(f"Plant {plant.label} is not in the Flowering phase.")
    weight = row.decimal("Weight", positive=True)
    unit = ctx.weight_unit(row.text("UnitOfWeight"), "UnitOfWeight")
    location = ctx.location(row.text("DryingLocation"), "harvests")
    sublocation = row.optional_text("DryingSublocation")
    actual = ctx.check_date(
        "ActualDate", row.day("ActualDate"), not_before=plant.planted_date, what="planted date"
    )
    plant_count = 1 if whole_plant else row.integer("PlantCount", default=1, minimum=1)
    harvest_type = "WholePlant" if whole_plant else "Product"
    name = row.optional_text("HarvestName") or (
        f"{actual.isoformat()}-{location.name}-{'H' if whole_plant else 'M'}"
    )
    harvest = ctx.lic.harvest_named(name)
    if harvest is not None:
        ctx.open_harvest(harvest)
        if harvest.harvest_type != harvest_type:
            raise RowRejected(f"Harvest {name} is a {harvest.harvest_type} harvest.")
    else:
        harvest = Harvest(
            ctx.world.next_id("harvest"),
            name,
            harvest_type,
            location,
            sublocation,
            unit,
            actual,
            ctx.now,
            patient_license_number=row.optional_text("PatientLicenseNumber"),
        )
        ctx.lic.harvests[harvest.id] = harvest
    harvest.total_wet_weight += convert(weight, unit, harvest.unit)
    harvest.plant_count += plant_count
    if plant.strain.name not in harvest.strains:
        harvest.strains.append(plant.strain.name)
    plant.harvest_id = harvest.id
    plant.harvest_count += 1
    if whole_plant:
        plant.state = "Harvested"
        plant.harvested_date = actual
        plant.harvested_unit = unit
        plant.harvested_wet_weight = weight
    ctx.touch(plant, harvest)
    return [harvest.id]


def destroy_plant(ctx: WriteContext, row: Row) -> list[int]:
    plant = ctx.tracked_plant(ctx.plant(row))
    method = ctx.waste_method(row.text("WasteMethodName"))
    material, reason, note, weight, unit = _plant_waste(
        ctx, row, mature=True, unit_key="WasteUnitOfMeasureName"
    )
    row.integer("Count", default=0, minimum=0)
    actual = ctx.check_date(
        "ActualDate", row.day("ActualDate"), not_before=plant.planted_date, what="planted date"
    )
    plant.state = "Destroyed"
    plant.destroyed_date = actual
    plant.destroyed_note = note
    waste = PlantWaste(
        ctx.world.next_id("plant_waste"),
        method.name,
        material,
        weight,
        unit,
        reason.name,
        1,
        actual,
        ctx.now,
        note=note,
        location=plant.location.name,
        plant_labels=[plant.label],
        batch=plant.batch,
    )
    ctx.lic.plant_waste.append(waste)
    ctx.touch(plant)
    return [plant.id]


def record_plant_waste(ctx: WriteContext, row: Row) -> list[int]:
    method = ctx.waste_method(row.text("WasteMethodName"))
    material = row.optional_text("MixedMaterial")
    weight = row.decimal("WasteWeight", positive=True)
    unit = ctx.weight_unit(row.text("UnitOfMeasureName"), "UnitOfMeasureName")
    reason = ctx.plant_waste_reason(row.text("ReasonName"))
    note = row.optional_text("Note")
    if reason.requires_note and not note:
        raise RowRejected(f"Note is required for waste reason {reason.name}.")
    labels = row.text_list("PlantLabels")
    location_name = row.optional_text("LocationName")
    if not labels and location_name is None:
        raise RowRejected("LocationName is required when PlantLabels is empty.")
    location = ctx.location(location_name, "plants") if location_name else None
    plants = [ctx.tracked_plant(ctx.plant_labelled(label)) for label in labels]
    waste_date = ctx.check_date("WasteDate", row.day("WasteDate"))
    if plants:
        count = len(plants)
    else:
        count = sum(1 for p in ctx.lic.plants.values() if p.tracked and p.location is location)
    waste = PlantWaste(
        ctx.world.next_id("plant_waste"),
        method.name,
        material,
        weight,
        unit,
        reason.name,
        count,
        waste_date,
        ctx.now,
        note=note,
        location=location.name if location else None,
        plant_labels=labels,
    )
    ctx.lic.plant_waste.append(waste)
    return [waste.id]


# -- harvests --------------------------------------------------------------------------


def record_harvest_waste(ctx: WriteContext, row: Row) -> list[int]:
    harvest = ctx.open_harvest(ctx.harvest_by_id(row.integer("Id")))
    waste_type = row.text("WasteType")
    if waste_type not in ctx.world.harvest_waste_types:
        raise RowRejected(f"Waste type {waste_type} could not be found.")
    unit = ctx.weight_unit(row.text("UnitOfWeight"), "UnitOfWeight")
    weight = row.decimal("WasteWeight", positive=True)
    amount = convert(weight, unit, harvest.unit)
    if amount > harvest.current_weight:
        raise RowRejected(
            f"Harvest {harvest.name} has {_fmt(harvest.current_weight)} {harvest.unit} left; "
            f"{_fmt(weight)} {unit} of waste is more than that."
        )
    actual = ctx.check_date(
        "ActualDate", row.day("ActualDate"), not_before=harvest.start_date, what="harvest date"
    )
    waste = HarvestWaste(
        ctx.world.next_id("harvest_waste"), harvest.id, waste_type, weight, unit, actual, ctx.now
    )
    ctx.lic.harvest_waste.append(waste)
    harvest.total_waste_weight += amount
    ctx.touch(harvest)
    return [waste.id]


def finish_harvest(ctx: WriteContext, row: Row) -> list[int]:
    harvest = ctx.harvest_by_id(row.integer("Id"))
    if not harvest.active:
        raise RowRejected(f"Harvest {harvest.name} is already finished.")
    actual = ctx.check_date(
        "ActualDate", row.day("ActualDate"), not_before=harvest.start_date, what="harvest date"
    )
    harvest.finished_date = actual
    ctx.touch(harvest)
    return [harvest.id]


def unfinish_harvest(ctx: WriteContext, row: Row) -> list[int]:
    harvest = ctx.harvest_by_id(row.integer("Id"))
    if harvest.active:
        raise RowRejected(f"Harvest {harvest.name} is not finished.")
    harvest.finished_date = None
    ctx.touch(harvest)
    return [harvest.id]


def create_harvest_package(ctx: WriteContext, row: Row) -> list[int]:
    tag = ctx.available_tag(row.text("Tag"), "package")
    item = ctx.item(row.text("Item"))
    if item.category.quantity_type != "WeightBased":
        raise RowRejected(f"Item {item.name} is not weight-based; it cannot come from a harvest.")
    unit = ctx.weight_unit(row.text("UnitOfWeight"), "UnitOfWeight")
    ingredients = row.rows("Ingredients")
    if not ingredients:
        raise RowRejected("Ingredients is required.")
    drawn: dict[int, Decimal] = {}
    harvests: dict[int, Harvest] = {}
    quantity = Decimal(0)
    for ingredient in ingredients:
        harvest = _ingredient_harvest(ctx, ingredient)
        ingredient_unit = ctx.weight_unit(ingredient.text("UnitOfWeight"), "UnitOfWeight")
        weight = ingredient.decimal("Weight", positive=True)
        harvests[harvest.id] = harvest
        drawn[harvest.id] = drawn.get(harvest.id, Decimal(0)) + convert(weight, ingredient_unit, harvest.unit)
        quantity += convert(weight, ingredient_unit, unit)
    for harvest_id, amount in drawn.items():
        harvest = harvests[harvest_id]
        if amount > harvest.current_weight:
            raise RowRejected(
                f"Harvest {harvest.name} has {_fmt(harvest.current_weight)} {harvest.unit} "
                f"left; cannot package {_fmt(amount)} {harvest.unit}."
            )
    location_name = row.optional_text("Location")
    first = next(iter(harvests.values()))
    location = ctx.location(location_name, "packages") if location_name else first.drying_location
    actual = row.day("ActualDate")
    for harvest in harvests.values():
        ctx.check_date("ActualDate", actual, not_before=harvest.start_date, what="harvest date")
    is_production_batch = row.boolean("IsProductionBatch")
    batch_number = row.optional_text("ProductionBatchNumber")
    if is_production_batch and not batch_number:
        raise RowRejected("ProductionBatchNumber is required when IsProductionBatch is true.")
    package = Package(
        ctx.world.next_id("package"),
        tag.label,
        item,
        quantity,
        unit,
        location,
        actual,
        ctx.now,
        sublocation=row.optional_text("Sublocation"),
        original_quantity=quantity,
        note=row.optional_text("Note"),
        source_harvest_names=[h.name for h in harvests.values()],
        patient_license_number=row.optional_text("PatientLicenseNumber"),
        is_production_batch=is_production_batch,
        production_batch_number=batch_number,
        is_trade_sample=row.boolean("IsTradeSample"),
        is_donation=row.boolean("IsDonation"),
        expiration_date=row.optional_day("ExpirationDate"),
        sell_by_date=row.optional_day("SellByDate"),
        use_by_date=row.optional_day("UseByDate"),
    )
    ctx.lic.use_tag(tag)
    ctx.lic.add_package(package)
    for harvest_id, amount in drawn.items():
        harvest = harvests[harvest_id]
        harvest.total_packaged_weight += amount
        harvest.package_count += 1
        ctx.touch(harvest)
    return [package.id]


def _ingredient_harvest(ctx: WriteContext, ingredient: Row) -> Harvest:
    harvest_id = ingredient.optional_integer("HarvestId")
    if harvest_id is not None:
        return ctx.open_harvest(ctx.harvest_by_id(harvest_id))
    name = ingredient.optional_text("HarvestName")
    if name is None:
        raise RowRejected("HarvestId or HarvestName is required for each ingredient.")
    harvest = ctx.lic.harvest_named(name)
    if harvest is None:
        raise RowRejected(f"Harvest {name} could not be found.")
    return ctx.open_harvest(harvest)


# -- packages --------------------------------------------------------------------------


def adjust_package(ctx: WriteContext, row: Row) -> list[int]:
    return _adjust(ctx, row, absolute=False)


def set_package_quantity(ctx: WriteContext, row: Row) -> list[int]:
    return _adjust(ctx, row, absolute=True)


def _adjust(ctx: WriteContext, row: Row, *, absolute: bool) -> list[int]:
    package = ctx.package(row.text("Label"))
    quantity = row.decimal("Quantity")
    unit_text = row.text("UnitOfMeasure")
    unit = unit_name(unit_text)
    if unit is None:
        raise RowRejected(f"UnitOfMeasure {unit_text} could not be found.")
    try:
        in_package_unit = convert(quantity, unit, package.unit)
    except ValueError:
        raise RowRejected(
            f"UnitOfMeasure {unit} cannot be used for package {package.label} ({package.unit})."
        ) from None
    reason_name = row.text("AdjustmentReason")
    reason = ctx.world.adjust_reasons.get(reason_name)
    if reason is None:
        raise RowRejected(f"Adjustment reason {reason_name} could not be found.")
    note = row.optional_text("ReasonNote")
    if reason.requires_note and not note:
        raise RowRejected(f"ReasonNote is required for adjustment reason {reason.name}.")
    adjustment_date = ctx.check_date(
        "AdjustmentDate",
        row.day("AdjustmentDate"),
        not_before=package.packaged_date,
        what="packaged date",
    )
    new_quantity = in_package_unit if absolute else package.quantity + in_package_unit
    if new_quantity < 0:
        raise RowRejected(
            f"Package {package.label} has {_fmt(package.quantity)} {package.unit}; "
            f"the adjustment would make it negative."
        )
    delta = new_quantity - package.quantity
    adjustment = Adjustment(
        ctx.world.next_id("adjustment"),
        package,
        delta if absolute else quantity,
        package.unit if absolute else unit,
        reason.name,
        note,
        adjustment_date,
        ctx.user_name,
        ctx.now,
    )
    package.quantity = new_quantity
    ctx.lic.adjustments.append(adjustment)
    ctx.touch(package)
    return [adjustment.id]


def move_package(ctx: WriteContext, row: Row) -> list[int]:
    package = ctx.package(row.text("Label"))
    location = ctx.location(row.text("Location"), "packages")
    sublocation = row.optional_text("Sublocation")
    ctx.check_date("MoveDate", row.day("MoveDate"), not_before=package.packaged_date, what="packaged date")
    package.location, package.sublocation = location, sublocation
    ctx.touch(package)
    return [package.id]


def _growth_phase(value: str) -> str:
    if value not in GROWTH_PHASES:
        raise RowRejected(f"GrowthPhase {value} is not valid; use Vegetative or Flowering.")
    return value


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


# -- the table and the batch runner ----------------------------------------------------


@dataclass(frozen=True)
class WriteOp:
    method: str
    path: str
    apply: Callable[[WriteContext, Row], list[int]]
    #: Metrc answers ``{"Ids": [...], "Warnings": null}``; otherwise an empty 200.
    returns_ids: bool


WRITE_OPS: tuple[WriteOp, ...] = (
    WriteOp("POST", "/plantbatches/v2/plantings", create_plantings, True),
    WriteOp("POST", "/plantbatches/v2/growthphase", change_batch_growth_phase, True),
    WriteOp("DELETE", "/plantbatches/v2", destroy_plant_batch, True),
    WriteOp("POST", "/packages/v2/plantings", create_package_plantings, True),
    WriteOp("POST", "/plants/v2/plantings", create_plant_plantings, True),
    WriteOp("PUT", "/plants/v2/location", move_plant, False),
    WriteOp("PUT", "/plants/v2/growthphase", change_plant_growth_phase, False),
    WriteOp("PUT", "/plants/v2/harvest", harvest_plant, False),
    WriteOp("POST", "/plants/v2/manicure", manicure_plant, True),
    WriteOp("DELETE", "/plants/v2", destroy_plant, True),
    WriteOp("POST", "/plants/v2/waste", record_plant_waste, True),
    WriteOp("POST", "/harvests/v2/waste", record_harvest_waste, True),
    WriteOp("POST", "/harvests/v2/packages", create_harvest_package, True),
    WriteOp("PUT", "/harvests/v2/finish", finish_harvest, True),
    WriteOp("PUT", "/harvests/v2/unfinish", unfinish_harvest, False),
    WriteOp("POST", "/packages/v2/adjust", adjust_package, True),
    WriteOp("PUT", "/packages/v2/adjust", set_package_quantity, False),
    WriteOp("PUT", "/packages/v2/location", move_package, False),
)


@dataclass
class BatchOutcome:
    ids: list[int]
    #: ``(row index, message)`` for each rejected row.
    errors: list[tuple[int, str]]


def run_batch(
    world: World,
    license_number: str,
    op: WriteOp,
    rows: Sequence[Any],
    *,
    now: datetime,
    user_name: str,
    apply_first: int | None = None,
) -> BatchOutcome:
    """Apply a request array. ``apply_first=k`` (the "partial" fault) checks the
    whole batch, then keeps only the first k rows' effects.

    Raises ``NotYourLicense`` if any row touches another license's object; in
    all-or-nothing mode nothing is applied then.
    """
    all_or_nothing = world.config.all_or_nothing
    live = world.licenses[license_number]
    work = copy.deepcopy(live) if all_or_nothing else live
    if not all_or_nothing and apply_first is not None:
        rows = rows[:apply_first]
    outcome = _apply(world, work, op, rows, now, user_name)
    if not all_or_nothing or outcome.errors:
        return outcome
    if apply_first is not None:
        work = copy.deepcopy(live)
        _apply(world, work, op, rows[:apply_first], now, user_name)
    world.licenses[license_number] = work
    return outcome


def _apply(
    world: World, lic: License, op: WriteOp, rows: Sequence[Any], now: datetime, user: str
) -> BatchOutcome:
    ctx = WriteContext(world, lic, now, user)
    outcome = BatchOutcome([], [])
    for index, raw in enumerate(rows):
        try:
            outcome.ids.extend(op.apply(ctx, Row(raw)))
        except RowRejected as exc:
            outcome.errors.append((index, exc.message))
    return outcome
