"""Move plants: scan the room's barcode, then the plants (NM rule; domain.md §2.6 "Correct room").

Every plant scanned after the room becomes a ``plant.moved`` into it, with a
running count. Refused, with the reason: anything before a room, unknown tags,
package tags, unused plant tags, plants already in that room, plants that are
harvested or destroyed. The room is only ever taken from its barcode, never
from a touch: the rule is that the worker stands at the room. A tagged
vegetative plant moved into a flowering room changes phase there
(``plant.phase_changed``), as Metrc's growth-phase change carries the new
location.
"""

from __future__ import annotations

from typing import Any

from agent.floor import Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, refused, unknown_tag
from agent.workflows.hold import hold_refusal
from canopy.events import Event, PlantMoved, PlantPhaseChanged
from canopy.refdata import Room
from drivers.scanner import Scan


def refuse_non_plant(item: Resolved) -> Outcome | None:
    """The refusals every plant-scanning flow shares; None when ``item`` is a known plant."""
    if item.kind == "not_a_tag":
        return refused(item.message)
    if item.kind == "package_tag":
        return refused(f"{item.text} is a package tag. Scan the plant's tag.")
    if item.kind == "fresh_tag":
        return refused(f"Tag {item.text} is not on a plant yet (an unused plant tag).")
    if item.kind == "unknown_tag":
        detail = f"Not checked: {item.unchecked}." if item.unchecked else ""
        return refused(unknown_tag(item.text), detail)
    if item.kind != "plant" or item.plant is None:
        return refused(f"That is {item.describe()}, not a plant tag.")
    if not item.plant.alive:
        return refused(f"Plant {item.text} is {item.plant.phase.lower()}: it cannot be used.")
    return None


class MoveFlow(Flow):
    screen = "move"
    title = "Move plants"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.room: Room | None = None
        self.moved: list[dict[str, str]] = []

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "room" and item.room is not None:
            if not item.room.for_plants:
                return refused(f"Room {item.text} does not take plants.")
            self.room = item.room
            self.moved = []
            return Outcome(True, f"Moving plants to {item.text}. Scan the plants.")
        problem = hold_refusal(self.ctx.floor, item)
        if problem is not None:
            return problem
        if self.room is None:
            return refused("Scan the room's barcode first, then the plants.")
        problem = refuse_non_plant(item)
        if problem is not None:
            return problem
        plant = item.plant
        assert plant is not None and item.tag is not None
        room = self.room.name
        if plant.location == room:
            return refused(f"Plant {item.tag} is already in {room}.")
        at = source.at if source else None
        event: Event | Outcome
        if self.room.kind == "flowering" and plant.phase == "Vegetative":
            event = await self.ctx.record(
                PlantPhaseChanged(tag=item.tag, phase="Flowering", location=room),
                summary=f"Plant {item.tag} to {room}, now flowering", at=at)
            phase = "Flowering"
        else:
            event = await self.ctx.record(PlantMoved(tag=item.tag, location=room),
                                          summary=f"Plant {item.tag} moved {plant.location or '?'} → {room}",
                                          at=at)
            phase = plant.phase
        if isinstance(event, Outcome):
            return event
        self.moved.append({"tag": item.tag, "from": plant.location, "phase": phase})
        note = " (now flowering)" if phase != plant.phase else ""
        return Outcome(True, f"Moved {item.tag} to {room}{note}. {len(self.moved)} moved.", event.id)

    def view(self) -> dict[str, Any]:
        return {
            "room": self.room.name if self.room else None,
            "count": len(self.moved),
            "moved": self.moved[-12:][::-1],
        }
