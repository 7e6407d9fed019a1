"""Tag plants at canopy / flowering: one fresh plant tag per plant of an immature lot.

Plants of an immature lot (≤100 plants of one strain) carry the lot's label
only; moving them into flowering needs one state plant tag each (domain.md
§2.6 "Tag at canopy/flowering"). Choose the lot (scan its label or tap it),
scan the flowering room, then one unused plant tag per plant: each becomes a
``plant.phase_changed`` naming the lot and the new tag. Counts scanned against
expected; the lot's plant count is the hard limit. Refused: used tags, tags
already on a plant, package tags, unknown tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import LotInfo, Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, arg_str, refused
from canopy.events import PlantPhaseChanged
from canopy.refdata import Room
from drivers.scanner import Scan


class TagFlow(Flow):
    screen = "tag"
    title = "Tag plants for flowering"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.lot: LotInfo | None = None
        self.expected = 0
        self.room: Room | None = None
        self.tagged: list[str] = []

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "lot" and item.lot is not None:
            return self._choose_lot(item.lot)
        if item.kind == "room" and item.room is not None:
            if self.lot is None:
                return refused("Scan the lot's label first, then the flowering room.")
            if item.room.kind != "flowering":
                return refused(f"{item.text} is not a flowering room.")
            self.room = item.room
            return Outcome(True, f"Tagging into {item.text}. Scan a new plant tag for each plant.")
        if self.lot is None:
            return refused("Scan the immature lot's label first.")
        if self.room is None:
            return refused("Scan the flowering room's barcode next.")
        if item.kind == "not_a_tag":
            return refused(item.message)
        if item.kind == "package_tag":
            return refused(f"{item.text} is a package tag. Use a new plant tag.")
        if item.kind == "plant":
            return refused(f"Tag {item.text} is already used (on a plant). Use a new plant tag.")
        if item.kind == "unknown_tag" and not item.unchecked:
            return refused(f"Tag {item.text} is not one of this facility's unused plant tags. Take a tag"
                           " from this facility's roll (a new roll is entered with Receive tags).")
        if item.kind not in ("fresh_tag", "unknown_tag"):
            return refused(f"That is {item.describe()}. Scan a new plant tag.")
        if len(self.tagged) >= self.expected:
            return refused(f"All {self.expected} plants of lot {self.lot.name} are tagged. "
                           "Nothing more to tag.")
        tag = item.text
        lot, room = self.lot, self.room.name
        event = await self.ctx.record(
            PlantPhaseChanged(plant_batch=lot.name, new_tag=tag, phase="Flowering", location=room),
            summary=f"Tagged {tag} from lot {lot.name} into {room}",
            at=source.at if source else None)
        if isinstance(event, Outcome):
            return event
        self.tagged.append(tag)
        left = self.expected - len(self.tagged)
        detail = f"Not checked: {item.unchecked}." if item.unchecked else ""
        done = " All plants tagged." if left == 0 else f" {left} to go."
        return Outcome(True, f"Tagged {tag}: {len(self.tagged)} of {self.expected}.{done}", event.id,
                       detail=detail)

    def _choose_lot(self, lot: LotInfo) -> Outcome:
        if lot.count < 1:
            return refused(f"Lot {lot.name} has no untagged plants left.")
        self.lot, self.expected, self.tagged = lot, lot.count, []
        return Outcome(True, f"Lot {lot.name}: {lot.count} {lot.strain} plants. Scan the flowering room.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "lot":
            lot = self.ctx.floor.lot(arg_str(args, "name"))
            if lot is None:
                return refused("Unknown lot.")
            return self._choose_lot(lot)
        return await super().act(action, args)

    def view(self) -> dict[str, Any]:
        return {
            "lot": {"name": self.lot.name, "strain": self.lot.strain} if self.lot else None,
            "lots": [{"name": lot.name, "strain": lot.strain, "count": lot.count}
                     for lot in self.ctx.floor.lots()],
            "room": self.room.name if self.room else None,
            "expected": self.expected,
            "scanned": len(self.tagged),
            "tagged": self.tagged[-12:][::-1],
        }
