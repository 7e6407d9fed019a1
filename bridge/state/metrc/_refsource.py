"""Metrc v2 reads → reference rows (one sequential read per list: ~13 GETs a sync)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from bridge.refsync._source import read_patiently
from bridge.state.metrc import Item as MetrcItem
from bridge.state.metrc import Location, MetrcClient
from bridge.state.metrc import Plant as MetrcPlant
from bridge.state.metrc import PlantBatch as MetrcPlantBatch
from bridge.state.metrc import WasteReason as MetrcWasteReason
from canopy.refdata import (
    AdjustReason,
    Harvest,
    HarvestWasteType,
    Item,
    Plant,
    PlantBatch,
    Room,
    RoomKind,
    Strain,
    WasteMethod,
    WasteReason,
)

Named = TypeVar("Named", Room, Strain, Item, WasteMethod, WasteReason, HarvestWasteType,
                AdjustReason, PlantBatch, Harvest)

#: Older than any Metrc record: a window this wide returns whole lists. NY's v2 in
#: 2026 answered some lists (locations!) empty or partial without a window
#: (state-apis.md §2.8), so every windowed read sends one.
FULL_HISTORY = datetime(2015, 1, 1, tzinfo=UTC)
# lastModifiedEnd goes out with whole seconds, and Metrc's clock is not ours: a row
# changed in the same second as the read, or a little "in the future", would
# otherwise drop out of the list until the next sync.
_END_MARGIN = timedelta(seconds=60)

# What Metrc's location type allows a room to hold says what the room is for:
# (ForPlantBatches, ForPlants, ForHarvests, ForPackages), None for "either", first
# match wins. The type's *name* is the state's or the licensee's free text
# ("Cultivation", "Canopy", "Room 2") and says nothing reliable; a room for plants
# may be vegetative or flowering alike, so it stays "other" unless the facility
# profile names its kind (``room_kinds``).
_KIND_BY_FLAGS: tuple[tuple[tuple[bool | None, bool | None, bool | None, bool | None], RoomKind], ...] = (
    ((True, None, False, False), "vegetative"),  # immature plants (and perhaps plants): propagation
    ((False, False, True, None), "drying"),  # harvests (and their packages), no plants
    ((False, False, False, True), "storage"),  # nothing but packages
)
PlantPhase = Literal["Vegetative", "Flowering", "Other"]
# Metrc's "Mother" (and anything newer) is "Other" in the contract.
_PHASES: dict[str, PlantPhase] = {"Vegetative": "Vegetative", "Flowering": "Flowering"}


def room_kind(location: Location, overrides: Mapping[str, RoomKind] | None = None) -> RoomKind:
    """What a room is for: the facility profile's word for it, else its location type's flags."""
    if overrides and location.name in overrides:
        return overrides[location.name]
    flags = (location.for_plant_batches, location.for_plants, location.for_harvests, location.for_packages)
    for pattern, kind in _KIND_BY_FLAGS:
        if all(want is None or want == got for want, got in zip(pattern, flags, strict=True)):
            return kind
    return "other"


def _room(location: Location, overrides: Mapping[str, RoomKind]) -> Room:
    return Room(
        name=location.name,
        kind=room_kind(location, overrides),
        for_plants=location.for_plants,
        for_packages=location.for_packages,
    )


def _plant(plant: MetrcPlant) -> Plant:
    return Plant(
        tag=plant.label,
        location=plant.location_name or "",
        phase=_PHASES.get(plant.growth_phase or "", "Other"),
        strain=plant.strain_name or "",
        plant_batch=plant.plant_batch_name or "",
    )


def _waste_reason(reason: MetrcWasteReason) -> WasteReason:
    return WasteReason(
        name=reason.name,
        requires_note=reason.requires_note,
        requires_weight=(
            reason.requires_waste_weight
            or reason.requires_mature_waste_weight
            or reason.requires_immature_waste_weight
        ),
    )


def _item(item: MetrcItem) -> Item:
    return Item(
        name=item.name, category=item.product_category_name or "", unit=item.unit_of_measure_name or ""
    )


def _batch(batch: MetrcPlantBatch) -> PlantBatch:
    return PlantBatch(
        name=batch.name,
        strain=batch.strain_name or "",
        count=batch.untracked_count,  # plants still untagged in the batch
        location=batch.location_name or "",
    )


def _by_name(rows: Iterable[Named]) -> list[Named]:
    return sorted(rows, key=lambda row: row.name)


class MetrcRefSource:
    """Reference data of one Metrc license, read through ``client``.

    Reads run one after another (Metrc limits GETs per facility: 50/s and 10 at
    once); a 429 is waited out per read. ``window_start=None`` sends no
    lastModified window (only for a state known to return whole lists without one).
    """

    provides = frozenset({
        "rooms", "strains", "items", "waste_methods", "waste_reasons", "harvest_waste_types",
        "adjust_reasons", "plants", "plant_batches", "harvests", "plant_tags", "package_tags",
    })

    def __init__(self, client: MetrcClient, *, window_start: datetime | None = FULL_HISTORY,
                 room_kinds: Mapping[str, RoomKind] | None = None) -> None:
        if window_start is not None and window_start.tzinfo is None:
            raise ValueError("window_start must be timezone-aware")
        self._client = client
        self._window_start = window_start
        self._room_kinds = dict(room_kinds or {})  # the facility profile's, by room name

    async def fetch(self) -> dict[str, list[Any]]:
        client = self._client
        window = (
            (self._window_start, datetime.now(UTC) + _END_MARGIN) if self._window_start is not None else None
        )
        locations = await read_patiently(lambda: client.locations(modified=window), "locations")
        strains = await read_patiently(lambda: client.strains(modified=window), "strains")
        items = await read_patiently(lambda: client.items(modified=window), "items")
        methods = await read_patiently(client.plant_waste_methods, "plant waste methods")
        reasons = await read_patiently(client.plant_waste_reasons, "plant waste reasons")
        waste_types = await read_patiently(client.harvest_waste_types, "harvest waste types")
        adjust = await read_patiently(client.package_adjust_reasons, "package adjust reasons")
        vegetative = await read_patiently(lambda: client.vegetative_plants(modified=window), "plants")
        flowering = await read_patiently(lambda: client.flowering_plants(modified=window), "plants")
        batches = await read_patiently(lambda: client.active_plant_batches(modified=window), "batches")
        harvests = await read_patiently(lambda: client.active_harvests(modified=window), "harvests")
        plant_tags = await read_patiently(client.available_plant_tags, "plant tags")
        package_tags = await read_patiently(client.available_package_tags, "package tags")
        # Sorted, so the same content always encodes the same (RefSync compares digests).
        return {
            "rooms": _by_name(_room(x, self._room_kinds) for x in locations),
            "strains": _by_name(Strain(name=x.name) for x in strains),
            "items": _by_name(_item(x) for x in items),
            "waste_methods": _by_name(WasteMethod(name=x.name) for x in methods if x.for_plants),
            "waste_reasons": _by_name(_waste_reason(x) for x in reasons),
            "harvest_waste_types": _by_name(HarvestWasteType(name=x.name) for x in waste_types),
            "adjust_reasons": _by_name(AdjustReason(name=x.name, requires_note=x.requires_note)
                                       for x in adjust),
            "plants": sorted((_plant(x) for x in [*vegetative, *flowering]), key=lambda r: r.tag),
            "plant_batches": _by_name(_batch(x) for x in batches),
            # The client's Harvest record does not carry SourceStrainNames yet: strain stays "".
            "harvests": _by_name(Harvest(name=x.name, location=x.drying_location_name or "")
                                 for x in harvests),
            "plant_tags": sorted(t.label for t in plant_tags),
            "package_tags": sorted(t.label for t in package_tags),
        }
