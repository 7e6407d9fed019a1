"""Harvest weigh loop: scan a plant, its stable weight is logged, next plant (domain.md §0.3).

Wet weight per plant, each on its own, from a registered legal-for-trade scale:
the weight is never typed and never averaged. After the batch and drying room
are chosen, a scanned flowering plant *arms* the loop; the next settled load on
the platter that passes the weight rules (``ScaleWatch.check``) is logged for it
as ``plant.harvested`` — at once, or on the foot pedal / a touch where the
kiosk is configured to confirm. A plant already weighed is flagged and refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from agent.floor import PlantInfo, Resolved
from agent.workflows.base import (
    Flow,
    FlowContext,
    Outcome,
    arg_str,
    hint,
    refused,
    weight_text,
)
from agent.workflows.move import refuse_non_plant
from canopy.events import PlantHarvested, Weight
from drivers.scale import Reading
from drivers.scanner import Scan


class HarvestFlow(Flow):
    screen = "harvest"
    title = "Harvest: weigh plants"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.harvest_name: str | None = None
        self.new_batch = False
        drying = [r.name for r in ctx.floor.rooms(for_plants=False) if r.kind == "drying"]
        self.drying: str | None = drying[0] if len(drying) == 1 else None
        self.step = "batch"
        self.current: PlantInfo | None = None
        self.pending: Weight | None = None
        self.done: list[dict[str, str]] = []
        self.flagged: list[dict[str, str]] = []
        self.totals: dict[str, Decimal] = {}

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
        if action == "start":
            if self.harvest_name is None or self.drying is None:
                return refused("Choose the harvest batch and the drying room first.")
            self.step = "weigh"
            return Outcome(True, f"Weighing into {self.harvest_name}. Scan a plant.")
        if action == "change_batch":
            self.step, self.current, self.pending = "batch", None, None
            return Outcome(True, "Choose the harvest batch.")
        if action == "confirm":
            return await self.confirm()
        if action == "skip":
            self.current, self.pending = None, None
            return Outcome(True, "Plant skipped. Scan the next plant.")
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
            previous = next((w for w in self.done if w["tag"] == plant.tag), None)
            if previous is not None or plant.harvest:
                weight = previous["weight"] if previous else plant.weight
                batch = previous["harvest"] if previous else plant.harvest
                self.flagged.append({"tag": plant.tag, "weight": weight, "harvest": batch})
                return refused(f"Plant {plant.tag} was already weighed ({weight} into {batch}). "
                               "Not weighed again: ask a supervisor to correct the record.")
        problem = refuse_non_plant(item)
        if problem is not None:
            return problem
        assert plant is not None
        if plant.phase != "Flowering":
            return refused(f"Plant {plant.tag} is {plant.phase.lower()}: only flowering plants "
                           "are harvested.")
        self.current, self.pending = plant, None
        settled = self.ctx.settled()
        if settled is not None and settled.value is not None and settled.value > 0:
            # Already on the platter: a load not logged yet is this plant's weight.
            checked = self.ctx.weight_ok(settled)
            if not isinstance(checked, Outcome):
                return await self._offer(checked)
            return Outcome(True, f"Plant {plant.tag}: {checked.message}")
        return Outcome(True, f"Plant {plant.tag}: put it on the scale.")

    # --- weights ---------------------------------------------------------------------

    async def weighed(self, reading: Reading) -> Outcome | None:
        if self.current is None:
            if reading.value is not None and reading.value > 0:
                return hint("Scan the plant's tag first, then its weight is taken.")
            return None
        checked = self.ctx.weight_ok(reading)
        if isinstance(checked, Outcome):
            return checked
        return await self._offer(checked)

    async def _offer(self, checked: Weight) -> Outcome:
        if self.ctx.settings.confirm_weight == "pedal":
            self.pending = checked
            return hint(f"{weight_text(checked.value, checked.unit)}: press the pedal or tap Save.")
        return await self._save(checked)

    async def confirm(self) -> Outcome:
        if self.pending is None or self.current is None:
            return refused("No weight to save: scan a plant and put it on the scale.")
        settled = self.ctx.settled()
        if settled is None or settled.value != self.pending.value or settled.unit != self.pending.unit:
            self.pending = None
            return refused("The weight changed. Wait for a steady weight.")
        return await self._save(self.pending)

    async def _save(self, weight: Weight) -> Outcome:
        plant, name, drying = self.current, self.harvest_name, self.drying
        assert plant is not None and name is not None and drying is not None
        shown = weight_text(weight.value, weight.unit)
        event = await self.ctx.record(
            "plant.harvested",
            PlantHarvested(tag=plant.tag, harvest_name=name, drying_location=drying, weight=weight),
            summary=f"Plant {plant.tag} harvested into {name}: {shown} wet")
        if isinstance(event, Outcome):
            return event
        self.ctx.mark_weighed()
        floor = self.ctx.floor
        await floor.facts.merge("plant", plant.tag, event.id, phase="Harvested", harvest=name,
                                weight=shown)
        await floor.facts.merge("harvest", name, event.id, location=drying,
                                strain=plant.strain, count=len(self.done) + 1)
        self.totals[weight.unit] = self.totals.get(weight.unit, Decimal(0)) + weight.value
        self.done.append({"tag": plant.tag, "weight": shown, "harvest": name, "event": event.id})
        self.current, self.pending = None, None
        return Outcome(True, f"Saved {shown} for plant {plant.tag}. {len(self.done)} weighed. "
                             "Take it off, scan the next plant.", event.id)

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
            "current": self.current.tag if self.current else None,
            "current_strain": self.current.strain if self.current else None,
            "pending": weight_text(self.pending.value, self.pending.unit) if self.pending else None,
            "confirm": self.ctx.settings.confirm_weight,
            "count": len(self.done),
            "totals": [weight_text(v, u) for u, v in sorted(self.totals.items())],
            "weighed": self.done[-10:][::-1],
            "flagged": self.flagged[-5:][::-1],
        }
