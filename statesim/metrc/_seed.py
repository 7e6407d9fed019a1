"""The starting world of a simulator: keys, reference lists and each license's inventory.

A seed is JSON (``demo_seed.json`` ships with the package; ``--seed PATH`` loads
another). Tags are given as runs (``{"first": …, "count": 250}``) because Metrc
issues them in consecutive orders.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from canopy.config import TimeZoneName

# Keys and licenses of the demo seed, for demos and tests.
DEMO_VENDOR_KEY = "canopy-demo-vendor"
DEMO_USER_KEY = "demo-user-key"
DEMO_LICENSES = ("CCL24-0000101", "CCL24-0000202")


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagRun(_Seed):
    first: str
    count: int = Field(ge=1)


class VendorKey(_Seed):
    key: str
    #: A key issued for v1 only: v2 calls get 401 text/plain.
    v1_only: bool = False


class UserKey(_Seed):
    user_key: str
    name: str = "Simulated User"
    licenses: tuple[str, ...]


class LocationType(_Seed):
    name: str
    for_plant_batches: bool = True
    for_plants: bool = True
    for_harvests: bool = True
    for_packages: bool = True


class ItemCategory(_Seed):
    name: str
    product_category_type: str = "Buds"
    quantity_type: Literal["WeightBased", "CountBased", "VolumeBased"] = "WeightBased"
    requires_strain: bool = False


class WasteMethod(_Seed):
    name: str
    for_plants: bool = True
    for_product_destruction: bool = False


class Reason(_Seed):
    """A plant waste reason or a package adjust reason."""

    name: str
    requires_note: bool = False
    requires_waste_weight: bool = False
    requires_immature_waste_weight: bool = False
    requires_mature_waste_weight: bool = False


class SeedLocation(_Seed):
    name: str
    type: str = "Default"


class SeedStrain(_Seed):
    name: str
    testing_status: str = "None"
    thc_level: Decimal | None = None
    cbd_level: Decimal | None = None
    indica_percentage: Decimal | None = None
    sativa_percentage: Decimal | None = None


class SeedItem(_Seed):
    name: str
    category: str
    unit_of_measure: str = "Grams"
    strain: str | None = None


class SeedPlantBatch(_Seed):
    name: str
    type: Literal["Seed", "Clone"] = "Clone"
    strain: str
    location: str
    count: int = Field(ge=0)
    planted_date: date


class SeedPlant(_Seed):
    label: str
    strain: str
    location: str
    growth_phase: Literal["Vegetative", "Flowering"] = "Vegetative"
    batch: str | None = None
    planted_date: date
    vegetative_date: date | None = None
    flowering_date: date | None = None


class SeedHarvest(_Seed):
    name: str
    harvest_type: Literal["WholePlant", "Product"] = "WholePlant"
    drying_location: str
    unit_of_weight: str = "Grams"
    wet_weight: Decimal
    plant_count: int = 0
    strains: tuple[str, ...] = ()
    start_date: date


class SeedPackage(_Seed):
    label: str
    item: str
    quantity: Decimal
    unit_of_measure: str = "Grams"
    location: str
    source_harvest: str | None = None
    packaged_date: date


class SeedLicense(_Seed):
    number: str
    name: str
    license_type: str = "Adult-Use Cultivation"
    #: Business dates (ActualDate…) are calendar dates in this zone.
    timezone: TimeZoneName = "America/Los_Angeles"

    locations: tuple[SeedLocation, ...] = ()
    strains: tuple[SeedStrain, ...] = ()
    items: tuple[SeedItem, ...] = ()
    plant_tags: tuple[TagRun, ...] = ()
    package_tags: tuple[TagRun, ...] = ()
    plant_batches: tuple[SeedPlantBatch, ...] = ()
    plants: tuple[SeedPlant, ...] = ()
    harvests: tuple[SeedHarvest, ...] = ()
    packages: tuple[SeedPackage, ...] = ()


class SimSeed(_Seed):
    vendor_keys: tuple[VendorKey, ...]
    users: tuple[UserKey, ...]
    location_types: tuple[LocationType, ...]
    item_categories: tuple[ItemCategory, ...]
    waste_methods: tuple[WasteMethod, ...]
    plant_waste_reasons: tuple[Reason, ...]
    harvest_waste_types: tuple[str, ...]
    package_adjust_reasons: tuple[Reason, ...]
    licenses: tuple[SeedLicense, ...]


def load_seed(path: str | Path) -> SimSeed:
    """Read and validate a seed JSON file."""
    return SimSeed.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def demo_seed() -> SimSeed:
    """The seed shipped with Canopy: two licenses, rooms, strains, items, tags, plants."""
    text = resources.files("statesim.metrc").joinpath("demo_seed.json").read_text(encoding="utf-8")
    return SimSeed.model_validate(json.loads(text))


def demo_seed_for(licences: int) -> SimSeed:
    """The demo seed's first licence cloned ``licences`` times (``CCL24-0000001`` …), each
    with its own plant tags and plants (label digits 8–10 carry the licence's number),
    for benchmarks and tests with many facilities."""
    seed = demo_seed()
    base = seed.licenses[0]
    clones = []
    for n in range(licences):
        prefix = f"1A4FF01{n:03d}"
        tags = [run.model_copy(update={"first": prefix + run.first[10:]}) for run in base.plant_tags]
        plants = [p.model_copy(update={"label": prefix + p.label[10:]}) for p in base.plants]
        clones.append(base.model_copy(update={"number": f"CCL24-{n + 1:07d}", "plant_tags": tags,
                                              "plants": plants, "harvests": (), "packages": ()}))
    users = tuple(u.model_copy(update={"licenses": tuple(c.number for c in clones)}) for u in seed.users)
    return seed.model_copy(update={"licenses": tuple(clones), "users": users})
