"""The simulator's memory: every license's objects, and the world they live in.

Plain mutable dataclasses, because a write batch runs on a ``deepcopy`` of the
license and is swapped in only if every row passed (all-or-nothing). Ids come from
one sequence per object kind for the whole world and are never rolled back (gaps
are harmless, as in any database).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bridge.state.metrc import consecutive_tags
from bridge.state.metrc import convert_quantity as convert
from statesim.metrc._config import SimConfig
from statesim.metrc._seed import (
    ItemCategory,
    LocationType,
    Reason,
    SeedLicense,
    SimSeed,
    UserKey,
    VendorKey,
    WasteMethod,
)

# Every object starts with this many ids apart per kind, so ids look like Metrc's.
_ID_START = {
    "location": 1,
    "strain": 201,
    "item": 301,
    "tag": 1001,
    "batch": 5001,
    "plant": 10001,
    "harvest": 20001,
    "package": 30001,
    "plant_waste": 40001,
    "harvest_waste": 50001,
    "adjustment": 60001,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Location:
    id: int
    name: str
    type: LocationType
    last_modified: datetime


@dataclass
class Strain:
    id: int
    name: str
    testing_status: str
    thc_level: Decimal | None
    cbd_level: Decimal | None
    indica_percentage: Decimal | None
    sativa_percentage: Decimal | None
    last_modified: datetime


@dataclass
class Item:
    id: int
    name: str
    category: ItemCategory
    unit_of_measure: str
    strain: Strain | None
    last_modified: datetime


@dataclass(frozen=True)
class Tag:
    """Immutable, so a license copy can share them (using a tag replaces the entry)."""

    id: int
    label: str
    kind: str  # "plant" | "package"
    used: bool = False


@dataclass
class PlantBatch:
    id: int
    name: str
    type: str  # Seed | Clone
    strain: Strain
    location: Location | None
    sublocation: str | None
    untracked: int
    planted_date: date
    last_modified: datetime
    tracked: int = 0
    packaged: int = 0
    destroyed: int = 0
    patient_license_number: str | None = None
    source_package_label: str | None = None

    @property
    def active(self) -> bool:
        return self.untracked > 0


@dataclass
class Plant:
    id: int
    label: str
    growth_phase: str
    strain: Strain
    location: Location
    planted_date: date
    last_modified: datetime
    batch: PlantBatch | None = None
    sublocation: str | None = None
    state: str = "Tracked"
    patient_license_number: str | None = None
    harvest_id: int | None = None
    harvested_unit: str | None = None
    harvested_wet_weight: Decimal | None = None
    harvest_count: int = 0
    is_on_hold: bool = False
    vegetative_date: date | None = None
    flowering_date: date | None = None
    harvested_date: date | None = None
    destroyed_date: date | None = None
    destroyed_note: str | None = None

    @property
    def tracked(self) -> bool:
        return self.state == "Tracked"


@dataclass
class Harvest:
    id: int
    name: str
    harvest_type: str  # WholePlant | Product
    drying_location: Location
    drying_sublocation: str | None
    unit: str
    start_date: date
    last_modified: datetime
    total_wet_weight: Decimal = Decimal(0)
    total_waste_weight: Decimal = Decimal(0)
    total_packaged_weight: Decimal = Decimal(0)
    plant_count: int = 0
    package_count: int = 0
    strains: list[str] = field(default_factory=list)
    patient_license_number: str | None = None
    finished_date: date | None = None
    is_on_hold: bool = False

    @property
    def current_weight(self) -> Decimal:
        return self.total_wet_weight - self.total_waste_weight - self.total_packaged_weight

    @property
    def active(self) -> bool:
        return self.finished_date is None


@dataclass
class Package:
    id: int
    label: str
    item: Item
    quantity: Decimal
    unit: str
    location: Location | None
    packaged_date: date
    last_modified: datetime
    sublocation: str | None = None
    original_quantity: Decimal = Decimal(0)
    note: str | None = None
    source_harvest_names: list[str] = field(default_factory=list)
    patient_license_number: str | None = None
    is_production_batch: bool = False
    production_batch_number: str | None = None
    is_trade_sample: bool = False
    is_donation: bool = False
    expiration_date: date | None = None
    sell_by_date: date | None = None
    use_by_date: date | None = None
    is_on_hold: bool = False
    finished_date: date | None = None

    @property
    def active(self) -> bool:
        return self.finished_date is None


@dataclass
class PlantWaste:
    id: int
    method: str
    mixed_material: str | None
    weight: Decimal | None
    unit: str | None
    reason: str
    plant_count: int
    waste_date: date
    last_modified: datetime
    note: str | None = None
    location: str | None = None
    plant_labels: list[str] = field(default_factory=list)
    batch: PlantBatch | None = None

    @property
    def number(self) -> str:
        return f"{self.id:010d}"


@dataclass
class HarvestWaste:
    id: int
    harvest_id: int
    waste_type: str
    weight: Decimal
    unit: str
    actual_date: date
    last_modified: datetime


@dataclass
class Adjustment:
    id: int
    package: Package
    quantity: Decimal
    unit: str
    reason: str
    note: str | None
    adjustment_date: date
    user_name: str
    last_modified: datetime


@dataclass
class License:
    """One facility: its reference data, tag pools and inventory."""

    number: str
    name: str
    license_type: str
    zone: ZoneInfo
    locations: dict[str, Location] = field(default_factory=dict)
    strains: dict[str, Strain] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    plant_tags: dict[str, Tag] = field(default_factory=dict)
    package_tags: dict[str, Tag] = field(default_factory=dict)
    batches: dict[int, PlantBatch] = field(default_factory=dict)
    plants: dict[int, Plant] = field(default_factory=dict)
    plants_by_label: dict[str, Plant] = field(default_factory=dict)
    harvests: dict[int, Harvest] = field(default_factory=dict)
    packages: dict[int, Package] = field(default_factory=dict)
    packages_by_label: dict[str, Package] = field(default_factory=dict)
    plant_waste: list[PlantWaste] = field(default_factory=list)
    harvest_waste: list[HarvestWaste] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)

    def __deepcopy__(self, memo: dict[int, Any]) -> License:
        """Copy for an all-or-nothing batch, sharing what never changes: the tags
        (immutable), location types, item categories and the zone. Tags are most of
        a license, so this keeps a write batch cheap."""
        for loc in self.locations.values():
            memo[id(loc.type)] = loc.type
        for item in self.items.values():
            memo[id(item.category)] = item.category
        memo[id(self.zone)] = self.zone
        clone = copy.copy(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("plant_tags", "package_tags"):
                setattr(clone, f.name, dict(value))
            elif isinstance(value, dict | list):
                setattr(clone, f.name, copy.deepcopy(value, memo))
        return clone

    def use_tag(self, tag: Tag) -> None:
        pool = self.plant_tags if tag.kind == "plant" else self.package_tags
        pool[tag.label] = replace(tag, used=True)

    def today(self, now: datetime) -> date:
        """The business date in the facility's time zone."""
        return now.astimezone(self.zone).date()

    def batch_named(self, name: str, *, active_only: bool = True) -> PlantBatch | None:
        for batch in self.batches.values():
            if batch.name == name and (batch.active or not active_only):
                return batch
        return None

    def harvest_named(self, name: str) -> Harvest | None:
        """The active harvest of that name, else the newest finished one."""
        found = [h for h in self.harvests.values() if h.name == name]
        active = [h for h in found if h.active]
        candidates = active or found
        return candidates[-1] if candidates else None

    def add_plant(self, plant: Plant) -> None:
        self.plants[plant.id] = plant
        self.plants_by_label[plant.label] = plant

    def relabel_plant(self, plant: Plant, new_label: str) -> None:
        del self.plants_by_label[plant.label]
        plant.label = new_label
        self.plants_by_label[new_label] = plant

    def add_package(self, package: Package) -> None:
        self.packages[package.id] = package
        self.packages_by_label[package.label] = package


class World:
    """Everything the simulator knows: keys, global reference lists, licenses, ids."""

    def __init__(self, seed: SimSeed, config: SimConfig, *, now: datetime | None = None) -> None:
        self.config = config
        self.vendor_keys: dict[str, VendorKey] = {v.key: v for v in seed.vendor_keys}
        self.users: dict[str, UserKey] = {u.user_key: u for u in seed.users}
        self.location_types = {t.name: t for t in seed.location_types}
        self.item_categories = {c.name: c for c in seed.item_categories}
        self.waste_methods: dict[str, WasteMethod] = {m.name: m for m in seed.waste_methods}
        self.plant_waste_reasons: dict[str, Reason] = {r.name: r for r in seed.plant_waste_reasons}
        self.harvest_waste_types: list[str] = list(seed.harvest_waste_types)
        self.adjust_reasons: dict[str, Reason] = {r.name: r for r in seed.package_adjust_reasons}
        self._ids = {kind: itertools.count(start) for kind, start in _ID_START.items()}
        self.licenses: dict[str, License] = {}
        stamp = now or utc_now()
        for seed_license in seed.licenses:
            try:
                self.licenses[seed_license.number] = _build_license(self, seed_license, stamp)
            except KeyError as exc:
                raise ValueError(
                    f"seed license {seed_license.number} refers to an unknown name: {exc}"
                ) from None

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    def owner_of_plant(self, *, label: str | None = None, plant_id: int | None = None) -> str | None:
        """The license holding a plant (by tag or id), if any."""
        for number, lic in self.licenses.items():
            if (label is not None and label in lic.plants_by_label) or (
                plant_id is not None and plant_id in lic.plants
            ):
                return number
        return None

    def owner_of_package(self, *, label: str | None = None, package_id: int | None = None) -> str | None:
        for number, lic in self.licenses.items():
            if (label is not None and label in lic.packages_by_label) or (
                package_id is not None and package_id in lic.packages
            ):
                return number
        return None

    def owner_of_harvest(self, harvest_id: int) -> str | None:
        for number, lic in self.licenses.items():
            if harvest_id in lic.harvests:
                return number
        return None

    def owner_of_batch(self, batch_id: int) -> str | None:
        for number, lic in self.licenses.items():
            if batch_id in lic.batches:
                return number
        return None

    def all_licenses(self) -> Iterator[License]:
        return iter(self.licenses.values())


def _build_license(world: World, seed: SeedLicense, stamp: datetime) -> License:
    lic = License(seed.number, seed.name, seed.license_type, ZoneInfo(seed.timezone))
    for loc in seed.locations:
        loc_type = world.location_types[loc.type]
        lic.locations[loc.name] = Location(world.next_id("location"), loc.name, loc_type, stamp)
    for s in seed.strains:
        lic.strains[s.name] = Strain(
            world.next_id("strain"),
            s.name,
            s.testing_status,
            s.thc_level,
            s.cbd_level,
            s.indica_percentage,
            s.sativa_percentage,
            stamp,
        )
    for it in seed.items:
        lic.items[it.name] = Item(
            world.next_id("item"),
            it.name,
            world.item_categories[it.category],
            it.unit_of_measure,
            lic.strains[it.strain] if it.strain else None,
            stamp,
        )
    for kind, runs, pool in (
        ("plant", seed.plant_tags, lic.plant_tags),
        ("package", seed.package_tags, lic.package_tags),
    ):
        for run in runs:
            for label in consecutive_tags(run.first, run.count):
                pool[label] = Tag(world.next_id("tag"), label, kind)
    for b in seed.plant_batches:
        batch = PlantBatch(
            world.next_id("batch"),
            b.name,
            b.type,
            lic.strains[b.strain],
            lic.locations[b.location],
            None,
            b.count,
            b.planted_date,
            stamp,
        )
        lic.batches[batch.id] = batch
    for p in seed.plants:
        source = lic.batch_named(p.batch, active_only=False) if p.batch else None
        if source is not None:
            source.tracked += 1
        plant = Plant(
            world.next_id("plant"),
            p.label,
            p.growth_phase,
            lic.strains[p.strain],
            lic.locations[p.location],
            p.planted_date,
            stamp,
            batch=source,
            vegetative_date=p.vegetative_date,
            flowering_date=p.flowering_date,
        )
        lic.add_plant(plant)
        _mark_used(world, lic.plant_tags, p.label, "plant")
    for h in seed.harvests:
        harvest = Harvest(
            world.next_id("harvest"),
            h.name,
            h.harvest_type,
            lic.locations[h.drying_location],
            None,
            h.unit_of_weight,
            h.start_date,
            stamp,
            total_wet_weight=h.wet_weight,
            plant_count=h.plant_count,
            strains=list(h.strains),
        )
        lic.harvests[harvest.id] = harvest
    for pk in seed.packages:
        package = Package(
            world.next_id("package"),
            pk.label,
            lic.items[pk.item],
            pk.quantity,
            pk.unit_of_measure,
            lic.locations[pk.location],
            pk.packaged_date,
            stamp,
            original_quantity=pk.quantity,
            source_harvest_names=[pk.source_harvest] if pk.source_harvest else [],
        )
        lic.add_package(package)
        origin = lic.harvest_named(pk.source_harvest) if pk.source_harvest else None
        if origin is not None:
            origin.package_count += 1
            origin.total_packaged_weight += convert(pk.quantity, pk.unit_of_measure, origin.unit)
        _mark_used(world, lic.package_tags, pk.label, "package")
    return lic


def _mark_used(world: World, pool: dict[str, Tag], label: str, kind: str) -> None:
    """A seeded object's tag is used, whether or not it came from a seeded run."""
    tag = pool.get(label)
    pool[label] = replace(tag, used=True) if tag else Tag(world.next_id("tag"), label, kind, True)
