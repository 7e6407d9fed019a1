"""Harvest weigh loop: scan a plant, its stable weight is logged, next plant (domain.md §0.3).

Wet weight per plant, each on its own, from a registered legal-for-trade scale:
the weight is never typed and never averaged. After the batch and drying room
are chosen, a scanned flowering plant *arms* the loop; the next settled load on
the platter that passes the weight rules (``ScaleWatch.check``) is logged for it
as ``plant.harvested`` — at once, or on the foot pedal / a touch where the
kiosk is configured to confirm. A plant already weighed is flagged and refused.

*Manicure* is the same loop for flower taken from plants that keep growing
(Metrc's manicure): each weight is a ``plant.manicured`` and the plant stays
alive where it is; a plant manicured twice in one sitting is flagged and refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, cast

from agent.floor import PlantInfo, Resolved
from agent.workflows.base import FlowContext, Outcome, arg_str, refused, weight_text
from agent.workflows.move import refuse_non_plant
from agent.workflows.weighing import WeighEachPlant
from canopy.events import Event, PlantHarvested, PlantManicured, Weight
from drivers.scanner import Scan

Mode = Literal["whole", "manicure"]
MODES: dict[str, str] = {"whole": "Whole plant", "manicure": "Manicure"}


class HarvestFlow(WeighEachPlant):
    screen = "harvest"
    title = "Harvest: weigh plants"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.harvest_name: str | None = None
        self.new_batch = False
        drying = [r.name for r in ctx.floor.rooms(for_plants=False) if r.kind == "drying"]
        self.drying: str | None = drying[0] if len(drying) == 1 else None
        self.step = "batch"
        self.mode: Mode = "whole"
        self.done: list[dict[str, str]] = []
        self.flagged: list[dict[str, str]] = []
        self.totals: dict[tuple[str, str], Decimal] = {}  # (mode, unit) -> sum

    @property
    def wants_weight(self) -> bool:
        return self.step == "weigh"

    # --- choosing the batch -------------------------------------------------------

    def suggest_name(self, today: date | None = None) -> str:
        stamp = (today or date.today()).strftime("%Y%m%d")
        known = {h.name for h in self.ctx.floor.harvests()}
        n = 1
        while f"HB-{stamp}-{n}" in known:
            n += 1
        return f"HB-{stamp}-{n}"

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "new_batch":
            self.harvest_name, self.new_batch = self.suggest_name(), True
            return Outcome(True, f"New harvest batch {self.harvest_name}.")
        if action == "batch":
            name = arg_str(args, "name")
            found = self.ctx.floor.harvest(name)
            if found is None:
                return refused(f"Unknown harvest batch {name}.")
            self.harvest_name, self.new_batch = found.name, False
            if found.location and self.ctx.floor.room(found.location) is not None:
                self.drying = found.location
            return Outcome(True, f"Harvest batch {found.name}.")
        if action == "drying":
            room = self.ctx.floor.room(arg_str(args, "name"))
            if room is None:
                return refused("Unknown room.")
            self.drying = room.name
            return Outcome(True, f"Drying room: {room.name}.")
        if action == "mode":
            mode = arg_str(args, "mode")
            if mode not in MODES:
                return refused("Whole plant or manicure.")
            self.mode = cast(Mode, mode)
            return Outcome(True, f"{MODES[mode]}.", quiet=True)
        if action == "start":
            if self.harvest_name is None or self.drying is None:
                return refused("Choose the harvest batch and the drying room first.")
            self.step = "weigh"
            what = "Manicure" if self.mode == "manicure" else "Weighing"
            return Outcome(True, f"{what} into {self.harvest_name}. Scan a plant.")
        if action == "change_batch":
            self.step, self.current, self.pending = "batch", None, None
            return Outcome(True, "Choose the harvest batch.")
        return await super().act(action, args)

    # --- scans ---------------------------------------------------------------------

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if self.step == "batch":
            if item.kind == "harvest" and item.harvest is not None:
                return await self.act("batch", {"name": item.harvest.name})
            if item.kind == "room" and item.room is not None:
                return await self.act("drying", {"name": item.room.name})
            return refused("Choose the harvest batch and drying room, then tap Start weighing.")
        plant = item.plant
        if plant is not None:
            twice = self._twice(plant)
            if twice is not None:
                return twice
        problem = refuse_non_plant(item)
        if problem is not None:
            return problem
        assert plant is not None
        if plant.phase != "Flowering":
            return refused(f"Plant {plant.tag} is {plant.phase.lower()}: only flowering plants "
                           "are harvested.")
        return await self.arm(plant)

    def _twice(self, plant: PlantInfo) -> Outcome | None:
        """The flag for a plant weighed already: harvested ever, or manicured in this sitting."""
        previous = next((w for w in self.done if w["tag"] == plant.tag
                         and (w["mode"] == "whole" or self.mode == "manicure")), None)
        if previous is None and not plant.harvest:
            return None
        weight = previous["weight"] if previous else plant.weight
        batch = previous["harvest"] if previous else plant.harvest
        self.flagged.append({"tag": plant.tag, "weight": weight, "harvest": batch})
        if previous is not None and previous["mode"] == "manicure":
            return refused(f"Plant {plant.tag} was already manicured ({weight} into {batch}). "
                           "Not weighed again: ask a supervisor if more was taken.")
        return refused(f"Plant {plant.tag} was already weighed ({weight} into {batch}). "
                       "Not weighed again: ask a supervisor to correct the record.")

    # --- weights ---------------------------------------------------------------------

    async def save(self, plant: PlantInfo, weight: Weight) -> Outcome:
        name, drying = self.harvest_name, self.drying
        assert name is not None and drying is not None
        shown = weight_text(weight.value, weight.unit)
        event: Event | Outcome
        if self.mode == "manicure":
            event = await self.ctx.record(
                PlantManicured(tag=plant.tag, harvest_name=name, drying_location=drying, weight=weight),
                summary=f"Plant {plant.tag} manicured into {name}: {shown} wet")
            if isinstance(event, Outcome):
                return event
        else:
            event = await self.ctx.record(
                PlantHarvested(tag=plant.tag, harvest_name=name, drying_location=drying, weight=weight),
                summary=f"Plant {plant.tag} harvested into {name}: {shown} wet")
            if isinstance(event, Outcome):
                return event
        key = (self.mode, weight.unit)
        self.totals[key] = self.totals.get(key, Decimal(0)) + weight.value
        self.done.append({"tag": plant.tag, "weight": shown, "harvest": name, "event": event.id,
                          "mode": self.mode})
        count = self.count
        verb = "manicured from" if self.mode == "manicure" else "for"
        return Outcome(True, f"Saved {shown} {verb} plant {plant.tag}. {count} weighed. "
                             "Take it off, scan the next plant.", event.id)

    @property
    def count(self) -> int:
        return sum(1 for w in self.done if w["mode"] == self.mode)

    def view(self) -> dict[str, Any]:
        floor = self.ctx.floor
        return {
            "step": self.step,
            "harvest": self.harvest_name,
            "new_batch": self.new_batch,
            "drying": self.drying,
            "harvests": [h.name for h in floor.harvests()],
            "drying_rooms": [r.name for r in floor.rooms(for_plants=False) if r.kind == "drying"]
            or [r.name for r in floor.rooms(for_plants=False)],
            **self.weighing_view(),
            "mode": self.mode,
            "modes": [{"mode": m, "title": t} for m, t in MODES.items()],
            "count": self.count,
            "totals": [weight_text(v, u) for (m, u), v in sorted(self.totals.items()) if m == self.mode],
            "weighed": [w for w in self.done if w["mode"] == self.mode][-10:][::-1],
            "flagged": self.flagged[-5:][::-1],
        }
