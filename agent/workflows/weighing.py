"""Weigh one plant at a time: a scan arms the loop, the next settled load is that plant's weight.

Shared by the harvest loop (wet weight, whole plant or manicure) and the cure
(dry weight): the weight passes the one rule set (``FlowContext.weight_ok``),
is never typed, and is saved at once or on the foot pedal / a touch where the
kiosk is configured to confirm. What a saved weight becomes is the subclass's
``save``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import PlantInfo
from agent.workflows.base import Flow, FlowContext, Outcome, hint, refused, weight_text
from canopy.events import Weight
from drivers.scale import Reading


class WeighEachPlant(Flow):
    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.current: PlantInfo | None = None
        self.pending: Weight | None = None

    async def arm(self, plant: PlantInfo) -> Outcome:
        """``plant`` is the one weighed next; a load already on the platter counts for it."""
        self.current, self.pending = plant, None
        settled = self.ctx.settled()
        if settled is not None and settled.value is not None and settled.value > 0:
            checked = self.ctx.weight_ok(settled)
            if not isinstance(checked, Outcome):
                return await self._offer(checked)
            return Outcome(True, f"Plant {plant.tag}: {checked.message}")
        return Outcome(True, f"Plant {plant.tag}: put it on the scale.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        """Save the weight on offer (a touch on Save; the pedal comes here too) or skip the plant."""
        if action == "confirm":
            return await self.confirm()
        if action == "skip":
            return self.skip()
        return await super().act(action, args)

    def skip(self) -> Outcome:
        self.current, self.pending = None, None
        return Outcome(True, "Plant skipped. Scan the next plant.")

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
        return await self._saved(checked)

    async def confirm(self) -> Outcome:
        if self.pending is None or self.current is None:
            return refused("No weight to save: scan a plant and put it on the scale.")
        settled = self.ctx.settled()
        if settled is None or settled.value != self.pending.value or settled.unit != self.pending.unit:
            self.pending = None
            return refused("The weight changed. Wait for a steady weight.")
        return await self._saved(self.pending)

    async def _saved(self, weight: Weight) -> Outcome:
        plant = self.current
        assert plant is not None
        outcome = await self.save(plant, weight)
        if outcome.event_id is not None:
            self.ctx.mark_weighed()
            self.current, self.pending = None, None
        return outcome

    async def save(self, plant: PlantInfo, weight: Weight) -> Outcome:
        """Record ``weight`` for ``plant``; an outcome with the event id once saved."""
        raise NotImplementedError

    def weighing_view(self) -> dict[str, str | None]:
        return {
            "current": self.current.tag if self.current else None,
            "current_strain": self.current.strain if self.current else None,
            "pending": weight_text(self.pending.value, self.pending.unit) if self.pending else None,
            "confirm": self.ctx.settings.confirm_weight,
        }
