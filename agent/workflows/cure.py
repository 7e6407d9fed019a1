"""Cure: the dry flower weight of a harvested plant, into a storage room (BioTrack plant_cure).

Only a plant that was harvested — weighed here (a local fact) or listed by the
state as Harvested — is cured, and only once: a second cure of the same plant
is flagged and refused, like a plant weighed twice in the harvest loop. The dry
weight comes from the scale under the same rules as the wet weight; the room
is one that may hold packages (the cured flower becomes inventory).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import PlantInfo, Resolved
from agent.workflows.base import FlowContext, Outcome, arg_str, refused, weight_text
from agent.workflows.move import refuse_non_plant
from agent.workflows.weighing import WeighEachPlant
from canopy.events import PlantCured, Weight
from drivers.scanner import Scan


class CureFlow(WeighEachPlant):
    screen = "cure"
    title = "Cure: dry weight"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        rooms = ctx.floor.package_rooms()
        storage = [r.name for r in rooms if r.kind == "storage"]
        only = [r.name for r in rooms] if len(rooms) == 1 else storage
        self.room: str | None = only[0] if len(only) == 1 else None
        self.done: list[dict[str, str]] = []
        self.flagged: list[dict[str, str]] = []

    @property
    def wants_weight(self) -> bool:
        return self.room is not None

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "room":
            room = self.ctx.floor.room(arg_str(args, "name"))
            if room is None:
                return refused("Unknown room.")
            if not room.for_packages:
                return refused(f"Room {room.name} holds plants only: cured flower cannot go there.")
            self.room = room.name
            return Outcome(True, f"Cured flower goes to {room.name}. Scan a harvested plant.")
        return await super().act(action, args)

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "room" and item.room is not None:
            return await self.act("room", {"name": item.room.name})
        if self.room is None:
            return refused("Choose the storage room first (tap it or scan its barcode).")
        plant = item.plant
        if item.kind != "plant" or plant is None:
            return refuse_non_plant(item) or refused(f"That is {item.describe()}, not a plant tag.")
        if plant.cured:
            self.flagged.append({"tag": plant.tag, "weight": plant.cured})
            return refused(f"Plant {plant.tag} was already cured ({plant.cured} dry). "
                           "Not weighed again: ask a supervisor to correct the record.")
        if plant.alive:
            return refused(f"Plant {plant.tag} is not harvested yet ({plant.phase.lower()}): weigh it"
                           " in the harvest first, then cure it.")
        if plant.phase != "Harvested":
            return refused(f"Plant {plant.tag} is {plant.phase.lower()}: it cannot be cured.")
        return await self.arm(plant)

    async def save(self, plant: PlantInfo, weight: Weight) -> Outcome:
        room = self.room
        assert room is not None
        shown = weight_text(weight.value, weight.unit)
        event = await self.ctx.record(
            PlantCured(tag=plant.tag, location=room, weight=weight),
            summary=f"Plant {plant.tag} cured: {shown} dry flower to {room}")
        if isinstance(event, Outcome):
            return event
        self.done.append({"tag": plant.tag, "weight": shown, "event": event.id})
        return Outcome(True, f"Saved {shown} dry for plant {plant.tag}. {len(self.done)} cured. "
                             "Take it off, scan the next plant.", event.id)

    def view(self) -> dict[str, Any]:
        return {
            **self.weighing_view(),
            "room": self.room,
            "rooms": [r.name for r in self.ctx.floor.package_rooms()],
            "count": len(self.done),
            "cured": self.done[-10:][::-1],
            "flagged": self.flagged[-5:][::-1],
        }
