"""BioTrack classic sync reads → reference rows (4 calls a sync).

BioTrack can answer fewer questions than Metrc, and this source publishes only
what it can answer (``provides``):

- ``rooms``: plant rooms (for plants) and inventory rooms (for packages, i.e.
  inventory); a name used for both is one room good for both. BioTrack rooms have
  no type, so ``kind`` is "other".
- ``plants``: living plants (phase "Other": BioTrack does not track vegetative
  vs flowering) and harvested plants still drying (phase "Harvested": the cure is
  recorded against them). Cured, destroyed and converted plants are left out.
- ``plant_batches``: BioTrack has no plant batches; a new plant's ``source`` is a
  clone, seed or plant-tissue inventory item, so those items are the batches:
  ``name`` is the item's 16-digit barcode id, ``count`` what is left of it.

- ``adjust_reasons``: BioTrack's fixed adjustment reasons (``inventory_adjust``
  ``type`` 1–6), the same list for every location.
- ``harvest_waste_types``: one, "Waste": ``plant_waste_weigh`` takes a weight
  and no type.

Not provided (no retained message, so the kiosk says "cannot be checked
offline"): ``strains`` (no strain sync; strains are text on plants and
inventory), ``items`` (no product catalogue), ``waste_methods`` and
``waste_reasons`` (BioTrack takes a free-text reason), ``harvests`` (harvests
are not named objects), ``plant_tags`` and ``package_tags`` (BioTrack generates
ids; there is no pool of tags to check against).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bridge.refsync._source import read_patiently
from bridge.state.biotrack import AdjustReason as BioTrackAdjustReason
from bridge.state.biotrack import BioTrackClient, InventoryType, PlantState
from bridge.state.biotrack import Plant as BioTrackPlant
from bridge.state.biotrack import Room as BioTrackRoom
from canopy.refdata import AdjustReason, HarvestWasteType, Plant, PlantBatch, Room

# Inventory a plant_new may name as its source.
_PLANT_SOURCES = frozenset({InventoryType.CLONE, InventoryType.SEED, InventoryType.PLANT_TISSUE})


def adjust_reason_name(reason: BioTrackAdjustReason) -> str:
    """``INVENTORY_AUDIT`` → "Inventory Audit": the words a worker picks on the kiosk."""
    return reason.name.replace("_", " ").title()


def _rooms(plant_rooms: Iterable[BioTrackRoom], inventory_rooms: Iterable[BioTrackRoom]) -> list[Room]:
    for_plants: set[str] = set()
    for_packages: set[str] = set()
    for room in plant_rooms:
        for_plants.add(room.name)
    for room in inventory_rooms:
        for_packages.add(room.name)
    return [
        Room(name=name, kind="other", for_plants=name in for_plants, for_packages=name in for_packages)
        for name in sorted(for_plants | for_packages)
    ]


def _plant(plant: BioTrackPlant, room_names: dict[int, str]) -> Plant:
    room = room_names.get(plant.room, "") if plant.room is not None else ""
    return Plant(
        tag=plant.id,
        location=room,
        phase="Other" if plant.state is PlantState.GROWING else "Harvested",
        strain=plant.strain or "",
    )


class BioTrackRefSource:
    """Reference data of one BioTrack location, read through ``client``.

    A BioTrack login sees every location of its company; rows are kept to the
    client's ``location`` when it has one.
    """

    provides = frozenset({"rooms", "plants", "plant_batches", "adjust_reasons", "harvest_waste_types"})

    def __init__(self, client: BioTrackClient) -> None:
        self._client = client

    def _mine(self, location: str | None) -> bool:
        wanted = self._client.location
        return wanted is None or location is None or location == wanted

    async def fetch(self) -> dict[str, list[Any]]:
        client = self._client
        plant_rooms = [
            r for r in await read_patiently(client.plant_rooms, "plant rooms")
            if not r.deleted and self._mine(r.location)
        ]
        inventory_rooms = [
            r for r in await read_patiently(client.inventory_rooms, "inventory rooms")
            if not r.deleted and self._mine(r.location)
        ]
        plants = await read_patiently(lambda: client.plants(active=True), "plants")
        inventory = await read_patiently(lambda: client.inventory(active=True), "inventory")

        plant_room_names = {r.id: r.name for r in plant_rooms}
        inventory_room_names = {r.id: r.name for r in inventory_rooms}
        living = [
            p for p in plants
            if self._mine(p.location) and not (p.deleted or p.converted) and p.state is not PlantState.CURED
        ]
        sources = [
            i for i in inventory
            if self._mine(i.location) and not i.deleted and i.inventory_type in _PLANT_SOURCES
            and i.remaining_quantity > 0
        ]
        return {
            "adjust_reasons": [AdjustReason(name=adjust_reason_name(r), requires_note=True)
                               for r in BioTrackAdjustReason],
            "harvest_waste_types": [HarvestWasteType(name="Waste")],
            "rooms": _rooms(plant_rooms, inventory_rooms),
            "plants": sorted((_plant(p, plant_room_names) for p in living), key=lambda r: r.tag),
            "plant_batches": sorted(
                (
                    PlantBatch(
                        name=i.id,
                        strain=i.strain or "",
                        count=int(i.remaining_quantity),
                        location=inventory_room_names.get(i.room, "") if i.room is not None else "",
                    )
                    for i in sources
                ),
                key=lambda r: r.name,
            ),
        }
