"""Destroy / waste: a plant or part of an immature lot, with the state's reason and method.

The record a state wants (domain.md §2.6 "Waste record"): reason and method
from the state's lists (the method list may be empty, e.g. NY), mixed
material, the waste weight from a registered scale, the employee, and a
witness — a second worker signing in — where the facility profile says so.
Nothing is typed: reasons, methods, notes and materials are buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import LotInfo, PlantInfo, Resolved
from agent.workflows.base import (
    FlowContext,
    Outcome,
    WasteFlow,
    arg_int,
    arg_str,
    refused,
    weight_text,
)
from agent.workflows.hold import start_hold
from agent.workflows.move import refuse_non_plant
from canopy.events import PlantDestroyed
from drivers.printer import LabelPrinter
from drivers.scanner import Scan


class DestroyFlow(WasteFlow):
    screen = "destroy"
    title = "Destroy / waste"

    def __init__(self, ctx: FlowContext, printer: LabelPrinter | None = None) -> None:
        super().__init__(ctx)
        self.printer = printer  # for the hold label where waste is held (NM)
        self._reset()
        self.saved: list[dict[str, str]] = []

    def _reset(self) -> None:
        self.plant: PlantInfo | None = None
        self.lot: LotInfo | None = None
        self.count = 1
        self.reason: str | None = None
        self.method = ""
        self.note = ""
        self.material = ""
        self.weight = None
        self.witness = None

    @property
    def subject(self) -> str | None:
        if self.plant is not None:
            return f"plant {self.plant.tag}"
        if self.lot is not None:
            return f"{self.count} of lot {self.lot.name}"
        return None

    @property
    def wants_weight(self) -> bool:
        return self.subject is not None

    def missing(self) -> list[str]:
        """What still stops Save, in the order a worker fixes it."""
        out = []
        if self.subject is None:
            out.append("scan the plant or the lot label")
        if not self.ctx.floor.has("waste_reasons"):
            out.append("the state's waste reasons reach this kiosk (it never synced them)")
        elif self.reason is None:
            out.append("choose a reason")
        else:
            reason = next((r for r in self.ctx.floor.waste_reasons() if r.name == self.reason), None)
            if reason is not None and reason.requires_note and not self.note:
                out.append("choose a note")
        if self.ctx.floor.waste_methods() and not self.method:
            out.append("choose a method")
        return out + self.weight_and_witness_missing()

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "lot" and item.lot is not None:
            if item.lot.count < 1:
                return refused(f"Lot {item.text} has no plants left.")
            self._reset()
            self.lot = item.lot
            return Outcome(True, f"Destroy from lot {item.text} ({item.lot.count} plants). Set how many.")
        problem = refuse_non_plant(item)
        if problem is not None:
            return problem
        self._reset()
        self.plant = item.plant
        return Outcome(True, f"Destroy plant {item.text}: choose the reason, then weigh the waste.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        floor = self.ctx.floor
        if action == "count":
            if self.lot is None:
                return refused("Scan a lot label first.")
            count = arg_int(args, "count")
            if not 1 <= count <= self.lot.count:
                return refused(f"Between 1 and {self.lot.count} plants.")
            self.count = count
            return Outcome(True, f"{count} plant(s).", quiet=True)
        if action == "reason":
            name = arg_str(args, "name")
            if name not in {r.name for r in floor.waste_reasons()}:
                return refused(f"{name} is not on the state's list of reasons.")
            self.reason, self.note = name, ""
            return Outcome(True, f"Reason: {name}.", quiet=True)
        if action == "method":
            name = arg_str(args, "name")
            if name not in {m.name for m in floor.waste_methods()}:
                return refused(f"{name} is not on the state's list of methods.")
            self.method = name
            return Outcome(True, f"Method: {name}.", quiet=True)
        if action == "note":
            note = arg_str(args, "note")
            if note not in self.ctx.settings.waste_notes:
                return refused("Choose one of the notes shown.")
            self.note = note
            return Outcome(True, f"Note: {note}.", quiet=True)
        if action == "material":
            material = args.get("name") or ""
            if material and material not in self.ctx.settings.mixed_materials:
                return refused("Choose one of the materials shown.")
            self.material = str(material)
            return Outcome(True, f"Mixed with: {material or 'nothing'}.", quiet=True)
        if action == "save":
            return await self.save()
        if action == "cancel":
            self._reset()
            return Outcome(True, "Cancelled. Nothing was saved.")
        return await super().act(action, args)

    def witness_too_early(self) -> str | None:
        return "Scan what is destroyed first." if self.subject is None else None

    async def save(self) -> Outcome:
        missing = self.missing()
        if missing:
            return refused("Not saved yet: " + ", ".join(missing) + ".")
        assert self.reason is not None and self.weight is not None
        data = PlantDestroyed(
            tag=self.plant.tag if self.plant else None,
            plant_batch=self.lot.name if self.lot else None,
            count=self.count if self.lot else 0,
            reason=self.reason, method=self.method, material_mixed=self.material,
            weight=self.weight, note=self.note,
        )
        subject = self.subject
        shown = weight_text(self.weight.value, self.weight.unit)
        witness = self.witness["id"] if self.witness else None
        event = await self.ctx.record(data, witness=witness,
                                      summary=f"Destroyed {subject}: {self.reason}, {shown}")
        if isinstance(event, Outcome):
            return event
        self.ctx.mark_weighed()
        self.saved.append({"subject": subject or "", "reason": self.reason, "weight": shown,
                           "witness": self.witness["name"] if self.witness else ""})
        held = ""
        if self.plant is not None and self.ctx.floor.hold_hours > 0:
            held = " " + await start_hold(self.ctx, self.printer, self.plant.tag)
        self._reset()
        return Outcome(True, f"Saved: destroyed {subject} ({shown}).{held}", event.id)

    def view(self) -> dict[str, Any]:
        floor = self.ctx.floor
        reason = next((r for r in floor.waste_reasons() if r.name == self.reason), None)
        return {
            "subject": self.subject,
            "lot": {"name": self.lot.name, "max": self.lot.count} if self.lot else None,
            "count": self.count,
            "reasons": [r.name for r in floor.waste_reasons()],
            "methods": [m.name for m in floor.waste_methods()],
            "notes": list(self.ctx.settings.waste_notes) if reason and reason.requires_note else [],
            "materials": list(self.ctx.settings.mixed_materials),
            "reason": self.reason,
            "method": self.method,
            "note": self.note,
            "material": self.material,
            "weight": weight_text(self.weight.value, self.weight.unit) if self.weight else None,
            "witness_required": self.witness_required,
            "witness": self.witness["name"] if self.witness else None,
            "missing": self.missing(),
            "saved": self.saved[-5:][::-1],
        }
