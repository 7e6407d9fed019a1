"""The read endpoints: which records each list returns, and single objects by id or tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.state.metrc import UNITS
from statesim.metrc import _shapes
from statesim.metrc._seed import UserKey
from statesim.metrc._state import License, World

#: A record with the timestamp the lastModified filter looks at (None: never filtered out).
Record = tuple[datetime | None, dict[str, Any]]


@dataclass(frozen=True)
class ReadContext:
    world: World
    lic: License | None  # None on endpoints that take no licenseNumber
    user: UserKey
    query: dict[str, str]

    @property
    def license(self) -> License:
        assert self.lic is not None, "route declared licensed"
        return self.lic


class BadQuery(Exception):
    """A malformed query parameter: 400 with a Message."""


@dataclass(frozen=True)
class ListRoute:
    path: str
    source: Callable[[ReadContext], list[Record]]
    licensed: bool = True
    #: Paged envelope ({Data, Total, …}) rather than a bare array.
    paged: bool = True
    #: Takes lastModifiedStart / lastModifiedEnd.
    windowed: bool = False


def _plants(phase: str | None, *, active: bool) -> Callable[[ReadContext], list[Record]]:
    def source(ctx: ReadContext) -> list[Record]:
        return [
            (p.last_modified, _shapes.plant(p))
            for p in ctx.license.plants.values()
            if p.tracked == active and (phase is None or p.growth_phase == phase)
        ]

    return source


def _on_hold_plants(ctx: ReadContext) -> list[Record]:
    return [
        (p.last_modified, _shapes.plant(p)) for p in ctx.license.plants.values() if p.tracked and p.is_on_hold
    ]


def _batches(*, active: bool) -> Callable[[ReadContext], list[Record]]:
    def source(ctx: ReadContext) -> list[Record]:
        return [
            (b.last_modified, _shapes.plant_batch(b))
            for b in ctx.license.batches.values()
            if b.active == active
        ]

    return source


def _harvests(*, active: bool) -> Callable[[ReadContext], list[Record]]:
    def source(ctx: ReadContext) -> list[Record]:
        return [
            (h.last_modified, _shapes.harvest(h)) for h in ctx.license.harvests.values() if h.active == active
        ]

    return source


def _packages(*, active: bool) -> Callable[[ReadContext], list[Record]]:
    def source(ctx: ReadContext) -> list[Record]:
        return [
            (pk.last_modified, _shapes.package(pk))
            for pk in ctx.license.packages.values()
            if pk.active == active
        ]

    return source


def _harvest_waste(ctx: ReadContext) -> list[Record]:
    raw = ctx.query.get("harvestId")
    if raw is None or not raw.isdigit():
        raise BadQuery("harvestId is required and must be a number.")
    harvest_id = int(raw)
    if harvest_id not in ctx.license.harvests:
        raise BadQuery(f"Harvest with Id {harvest_id} could not be found.")
    return [(None, _shapes.harvest_waste(w)) for w in ctx.license.harvest_waste if w.harvest_id == harvest_id]


def _available_tags(kind: str) -> Callable[[ReadContext], list[Record]]:
    def source(ctx: ReadContext) -> list[Record]:
        pool = ctx.license.plant_tags if kind == "plant" else ctx.license.package_tags
        return [(None, _shapes.tag(t, ctx.license)) for t in pool.values() if not t.used]

    return source


def _facilities(ctx: ReadContext) -> list[Record]:
    return [
        (None, _shapes.facility(ctx.world.licenses[number], ctx.user, index))
        for index, number in enumerate(ctx.user.licenses, start=1)
        if number in ctx.world.licenses
    ]


LIST_ROUTES: tuple[ListRoute, ...] = (
    # Reference data.
    ListRoute("/facilities/v2", _facilities, licensed=False, paged=False),
    ListRoute(
        "/unitsofmeasure/v2/active",
        lambda ctx: [(None, _shapes.unit_of_measure(name)) for name in UNITS],
        licensed=False,
        paged=False,
    ),
    ListRoute(
        "/wastemethods/v2",
        lambda ctx: [(None, _shapes.waste_method(m)) for m in ctx.world.waste_methods.values()],
        licensed=False,
        paged=False,
    ),
    ListRoute(
        "/plants/v2/waste/methods/all",
        lambda ctx: [
            (None, _shapes.waste_method(m)) for m in ctx.world.waste_methods.values() if m.for_plants
        ],
        licensed=False,
    ),
    ListRoute(
        "/plants/v2/waste/reasons",
        lambda ctx: [(None, _shapes.reason(r)) for r in ctx.world.plant_waste_reasons.values()],
    ),
    ListRoute(
        "/harvests/v2/waste/types",
        lambda ctx: [(None, {"Name": name}) for name in ctx.world.harvest_waste_types],
        licensed=False,
    ),
    ListRoute(
        "/packages/v2/adjust/reasons",
        lambda ctx: [(None, _shapes.reason(r)) for r in ctx.world.adjust_reasons.values()],
    ),
    ListRoute(
        "/locations/v2/types",
        lambda ctx: [
            (
                None,
                {
                    "Id": index,
                    "Name": t.name,
                    "ForPlantBatches": t.for_plant_batches,
                    "ForPlants": t.for_plants,
                    "ForHarvests": t.for_harvests,
                    "ForPackages": t.for_packages,
                },
            )
            for index, t in enumerate(ctx.world.location_types.values(), start=1)
        ],
    ),
    ListRoute(
        "/items/v2/categories",
        lambda ctx: [
            (
                None,
                {
                    "Name": c.name,
                    "ProductCategoryType": c.product_category_type,
                    "QuantityType": c.quantity_type,
                    "RequiresStrain": c.requires_strain,
                },
            )
            for c in ctx.world.item_categories.values()
        ],
    ),
    ListRoute(
        "/locations/v2/active",
        lambda ctx: [(loc.last_modified, _shapes.location(loc)) for loc in ctx.license.locations.values()],
        windowed=True,
    ),
    ListRoute(
        "/strains/v2/active",
        lambda ctx: [(s.last_modified, _shapes.strain(s)) for s in ctx.license.strains.values()],
        windowed=True,
    ),
    ListRoute(
        "/items/v2/active",
        lambda ctx: [(i.last_modified, _shapes.item(i)) for i in ctx.license.items.values()],
        windowed=True,
    ),
    ListRoute("/tags/v2/plant/available", _available_tags("plant"), paged=False),
    ListRoute("/tags/v2/package/available", _available_tags("package"), paged=False),
    # Inventory.
    ListRoute("/plants/v2/vegetative", _plants("Vegetative", active=True), windowed=True),
    ListRoute("/plants/v2/flowering", _plants("Flowering", active=True), windowed=True),
    ListRoute("/plants/v2/onhold", _on_hold_plants, windowed=True),
    ListRoute("/plants/v2/inactive", _plants(None, active=False), windowed=True),
    ListRoute(
        "/plants/v2/waste",
        lambda ctx: [(w.last_modified, _shapes.plant_waste(w)) for w in ctx.license.plant_waste],
    ),
    ListRoute("/plantbatches/v2/active", _batches(active=True), windowed=True),
    ListRoute("/plantbatches/v2/inactive", _batches(active=False), windowed=True),
    ListRoute("/harvests/v2/active", _harvests(active=True), windowed=True),
    ListRoute("/harvests/v2/inactive", _harvests(active=False), windowed=True),
    ListRoute("/harvests/v2/waste", _harvest_waste),
    ListRoute("/packages/v2/active", _packages(active=True), windowed=True),
    ListRoute("/packages/v2/inactive", _packages(active=False), windowed=True),
    ListRoute(
        "/packages/v2/adjustments",
        lambda ctx: [(a.last_modified, _shapes.package_adjustment(a)) for a in ctx.license.adjustments],
    ),
)

#: Growth phases are a bare array of strings.
GROWTH_PHASES = ["Vegetative", "Flowering"]


class NotFound(Exception):
    """No such object anywhere: 404."""


class OtherLicense(Exception):
    """The object exists but belongs to another license: 401."""


def _by_id_or_label(
    value: str,
    by_id: Callable[[License], dict[int, Any]],
    by_label: Callable[[License], dict[str, Any]] | None,
    ctx: ReadContext,
) -> Any:
    """Metrc tells ids from labels by value: digits are an id (state-apis.md §2.3)."""

    def find(lic: License) -> Any:
        if value.isdigit():
            return by_id(lic).get(int(value))
        return by_label(lic).get(value) if by_label else None

    found = find(ctx.license)
    if found is not None:
        return found
    if any(find(other) is not None for other in ctx.world.all_licenses()):
        raise OtherLicense
    raise NotFound


def plant(ctx: ReadContext, key: str) -> dict[str, Any]:
    return _shapes.plant(_by_id_or_label(key, lambda lic: lic.plants, lambda lic: lic.plants_by_label, ctx))


def package(ctx: ReadContext, key: str) -> dict[str, Any]:
    return _shapes.package(
        _by_id_or_label(key, lambda lic: lic.packages, lambda lic: lic.packages_by_label, ctx)
    )


def harvest(ctx: ReadContext, key: str) -> dict[str, Any]:
    return _shapes.harvest(_by_id_or_label(key, lambda lic: lic.harvests, None, ctx))


def plant_batch(ctx: ReadContext, key: str) -> dict[str, Any]:
    return _shapes.plant_batch(_by_id_or_label(key, lambda lic: lic.batches, None, ctx))


SINGLE_ROUTES: tuple[tuple[str, Callable[[ReadContext, str], dict[str, Any]]], ...] = (
    ("/plants/v2/{key}", plant),
    ("/packages/v2/{key}", package),
    ("/harvests/v2/{key}", harvest),
    ("/plantbatches/v2/{key}", plant_batch),
)
