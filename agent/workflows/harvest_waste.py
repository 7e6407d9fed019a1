"""Harvest waste: stems, leaves, root balls weighed out of a harvest batch (``harvest.waste``).

The waste type comes from the state's list (Metrc's harvest waste types;
BioTrack has one, "Waste"). A kiosk that never received that list cannot check
a type, so it says so and saves nothing rather than guess. The weight is the
settled load on a registered scale (the same rules as the harvest loop), and a
witness signs in where the facility profile wants one for waste, as for
destroyed plants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import HarvestInfo, Resolved
from agent.workflows.base import (
    FlowContext,
    Outcome,
    WasteFlow,
    arg_str,
    refused,
    weight_text,
)
from canopy.events import HarvestWaste
from drivers.scanner import Scan

NOT_SYNCED = ("The harvest waste types cannot be checked offline: this kiosk never received the "
              "state's list. Nothing is saved until it does.")


class HarvestWasteFlow(WasteFlow):
    screen = "harvest_waste"
    title = "Harvest waste"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.harvest: HarvestInfo | None = None
        self._reset()
        self.saved: list[dict[str, str]] = []

    def _reset(self) -> None:
        self.waste_type: str | None = None
        self.weight = None
        self.witness = None

    @property
    def wants_weight(self) -> bool:
        return self.harvest is not None

    def missing(self) -> list[str]:
        """What still stops Save, in the order a worker fixes it."""
        out = []
        if self.harvest is None:
            out.append("choose the harvest batch")
        if not self.ctx.floor.has("harvest_waste_types"):
            out.append("the state's harvest waste types reach this kiosk (it never received them)")
        elif self.waste_type is None:
            out.append("choose the waste type")
        return out + self.weight_and_witness_missing()

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "harvest" and item.harvest is not None:
            return self._choose(item.harvest)
        return refused(f"That is {item.describe()}. Scan the harvest batch's label, or tap the batch.")

    def _choose(self, harvest: HarvestInfo) -> Outcome:
        self.harvest = harvest
        self._reset()
        if not self.ctx.floor.has("harvest_waste_types"):
            return refused(NOT_SYNCED)
        return Outcome(True, f"Waste from {harvest.name}: choose the type, then weigh it.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        floor = self.ctx.floor
        if action == "batch":
            found = floor.harvest(arg_str(args, "name"))
            if found is None:
                return refused("Unknown harvest batch.")
            return self._choose(found)
        if action == "type":
            name = arg_str(args, "name")
            if not floor.has("harvest_waste_types"):
                return refused(NOT_SYNCED)
            if name not in {t.name for t in floor.harvest_waste_types()}:
                return refused(f"{name} is not on the state's list of harvest waste types.")
            self.waste_type = name
            return Outcome(True, f"Waste type: {name}.", quiet=True)
        if action in ("save", "confirm"):  # confirm: the foot pedal
            return await self.save()
        if action == "cancel":
            self._reset()
            return Outcome(True, "Cancelled. Nothing was saved.")
        return await super().act(action, args)

    def witness_too_early(self) -> str | None:
        return "Choose the harvest batch first." if self.harvest is None else None

    async def save(self) -> Outcome:
        missing = self.missing()
        if missing:
            if not self.ctx.floor.has("harvest_waste_types"):
                return refused(NOT_SYNCED)
            return refused("Not saved yet: " + ", ".join(missing) + ".")
        harvest, waste_type, weight = self.harvest, self.waste_type, self.weight
        assert harvest is not None and waste_type is not None and weight is not None
        shown = weight_text(weight.value, weight.unit)
        witness = self.witness
        event = await self.ctx.record(
            HarvestWaste(harvest_name=harvest.name, waste_type=waste_type, weight=weight),
            witness=witness["id"] if witness else None,
            summary=f"Harvest {harvest.name}: {shown} {waste_type} waste")
        if isinstance(event, Outcome):
            return event
        self.ctx.mark_weighed()
        self.saved.append({"harvest": harvest.name, "type": waste_type, "weight": shown,
                           "witness": witness["name"] if witness else "", "event": event.id})
        self._reset()
        return Outcome(True, f"Saved: {shown} {waste_type} waste from {harvest.name}.", event.id)

    def view(self) -> dict[str, Any]:
        floor = self.ctx.floor
        return {
            "harvest": self.harvest.name if self.harvest else None,
            "harvests": [h.name for h in floor.harvests()],
            "types_known": floor.has("harvest_waste_types"),
            "types": [t.name for t in floor.harvest_waste_types()],
            "type": self.waste_type,
            "weight": weight_text(self.weight.value, self.weight.unit) if self.weight else None,
            "witness_required": self.witness_required,
            "witness": self.witness["name"] if self.witness else None,
            "missing": self.missing(),
            "saved": self.saved[-5:][::-1],
        }
