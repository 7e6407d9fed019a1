"""Print labels: plant, lot, room and harvest-batch labels on demand, reprints, with a preview.

Labels are drawn from what the floor knows (strain, room, lot size), previewed
exactly as the printer gets them (same renderer, same roll), and every label
that left the printer is a ``label.printed`` event (``reprint`` when this kiosk
printed that label before). A failed print records nothing and says why.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from agent.floor import Floor, Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, arg_int, arg_str, refused
from canopy.events import LabelPrinted, PrintedLabelKind
from drivers.labels import (
    HarvestBatchTag,
    ImmatureLot,
    Label,
    LabelError,
    LocationTag,
    PlantTag,
    render,
)
from drivers.printer import LabelPrinter, PrinterFault
from drivers.scanner import Scan

LabelKind = Literal["plant", "lot", "room", "harvest"]
KINDS: tuple[LabelKind, ...] = ("plant", "lot", "room", "harvest")
MAX_COPIES = 100


def _day(text: object) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return date.today()


def build_label(floor: Floor, kind: LabelKind, uid: str) -> Label:
    """The label for ``uid`` from what the floor knows; ``LabelError`` when it cannot be made."""
    if kind == "plant":
        plant = floor.plant(uid)
        if plant is None:
            raise LabelError(f"{uid} is not a known plant")
        return PlantTag(uid=uid, strain=plant.strain or "Strain not known", room=plant.location)
    if kind == "lot":
        lot = floor.lot(uid)
        if lot is None:
            raise LabelError(f"{uid} is not a known immature lot")
        return ImmatureLot(uid=uid, strain=lot.strain, count=lot.count, created=_day(lot.created))
    if kind == "room":
        room = floor.room(uid)
        if room is None:
            raise LabelError(f"{uid} is not a known room")
        return LocationTag(uid=uid, name=room.name, area=room.kind.capitalize())
    harvest = floor.harvest(uid)
    if harvest is None:
        raise LabelError(f"{uid} is not a known harvest batch")
    # The kiosk keeps no harvest day (the batch spans days of weighing): the label says today.
    return HarvestBatchTag(uid=uid, name=harvest.name, strain=harvest.strain or "Mixed strains",
                           harvested=date.today())


# What the worker does about each printer problem; then they tap Print again.
PRINTER_NEXT: dict[PrinterFault, str] = {
    PrinterFault.NO_MEDIA: "Load a new roll of labels and close the cover",
    PrinterFault.END_OF_MEDIA: "Load a new roll of labels and close the cover",
    PrinterFault.WRONG_MEDIA: "Load the label roll this kiosk is set up for",
    PrinterFault.COVER_OPEN: "Close the printer's cover",
    PrinterFault.CUTTER_JAM: "Switch the printer off and clear the cutter",
    PrinterFault.FEED_ERROR: "Open the cover and reload the labels so they feed straight",
    PrinterFault.OVERHEATED: "Wait a few minutes for the printer to cool",
    PrinterFault.RIBBON_OUT: "Load a new ribbon",
    PrinterFault.PAUSED: "Press the printer's pause button to resume",
    PrinterFault.BUSY: "Wait a moment",
    PrinterFault.SWITCHED_OFF: "Switch the printer on",
    PrinterFault.NOT_CONNECTED: "Check the printer's power and cable (call IT if it stays)",
    PrinterFault.COMMUNICATION: "Switch the printer off and on (call IT if it stays)",
    PrinterFault.HARDWARE: "Call IT: the printer needs service",
    PrinterFault.UNKNOWN: "Check the printer's lights or display (call IT if it stays)",
    PrinterFault.BAD_LABEL: "Load the label roll this kiosk is set up for",
}


def printer_next_step(message: str) -> str:
    """What to do about a printer problem (its screen words), ending in "then print again"."""
    try:
        step = PRINTER_NEXT[PrinterFault.lookup(message)]
    except ValueError:
        step = "Check the printer (call IT if it stays)"
    return f"{step}, then tap Print again."


async def print_label(ctx: FlowContext, printer: LabelPrinter, label: Label, kind: PrintedLabelKind,
                      copies: int) -> Outcome:
    """Print and record it; a refusal (nothing recorded) when the printer failed."""
    result = await printer.print(label, copies=copies)
    ctx.printed(result)
    if not result.ok:
        reason = result.fault.message if result.fault else "printer problem"
        done = f" ({result.copies} of {copies} printed)" if result.copies else ""
        return refused(f"Not printed: {reason}{done}. {printer_next_step(reason)}")
    before = ctx.floor.printed_before(kind, label.uid)
    event = await ctx.record(
        LabelPrinted(uid=label.uid, kind=kind, printer=printer.name[:200], copies=copies,
                     reprint=before),
        summary=f"{'Reprinted' if before else 'Printed'} {copies} {kind} label(s) {label.uid}")
    if isinstance(event, Outcome):
        return event
    sent = "sent to" if result.outcome == "sent" else "printed on"
    return Outcome(True, f"{copies} label(s) {label.uid} {sent} {printer.name}.", event.id)


def preview_png(printer: LabelPrinter, label: Label) -> bytes:
    image = render(label, printer.media)
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="PNG")
    return buffer.getvalue()


class LabelsFlow(Flow):
    screen = "labels"
    title = "Print labels"

    def __init__(self, ctx: FlowContext, printer: LabelPrinter) -> None:
        super().__init__(ctx)
        self.printer = printer
        self.kind: LabelKind | None = None
        self.label: Label | None = None
        self.copies = 1
        self.error = ""
        self.version = 0  # bumps when the label changes, so the page reloads its preview

    def _set(self, kind: LabelKind, uid: str) -> Outcome:
        self.kind = kind
        try:
            self.label = build_label(self.ctx.floor, kind, uid)
            render(self.label, self.printer.media)  # fits this roll? say so now, not at print time
        except LabelError as exc:
            self.label, self.error = None, str(exc)
            return refused(f"Cannot make that label: {exc}.")
        self.error = ""
        self.version += 1
        return Outcome(True, f"{kind.capitalize()} label {uid}: check the preview, then Print.")

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        kinds: dict[str, LabelKind] = {"plant": "plant", "lot": "lot", "room": "room", "harvest": "harvest"}
        if item.kind in kinds:
            return self._set(kinds[item.kind], item.text)
        if item.kind == "not_a_tag":
            return refused(item.message)
        return refused(f"No label for {item.describe()}: scan a plant, lot, room or harvest label.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "kind":
            kind = arg_str(args, "kind")
            if kind not in KINDS:
                return refused("Unknown label kind.")
            self.kind, self.label, self.copies, self.error = kind, None, 1, ""
            return Outcome(True, f"{kind.capitalize()} labels: scan or choose one.", quiet=True)
        if action == "pick":
            if self.kind is None:
                return refused("Choose the kind of label first.")
            return self._set(self.kind, arg_str(args, "uid"))
        if action == "copies":
            copies = arg_int(args, "copies")
            if not 1 <= copies <= MAX_COPIES:
                return refused(f"Between 1 and {MAX_COPIES} copies.")
            self.copies = copies
            return Outcome(True, f"{copies} copies.", quiet=True)
        if action == "print":
            if self.label is None or self.kind is None:
                return refused("Choose a label first.")
            return await print_label(self.ctx, self.printer, self.label, self.kind, self.copies)
        return await super().act(action, args)

    def preview(self) -> bytes | None:
        return preview_png(self.printer, self.label) if self.label is not None else None

    def choices(self) -> list[str]:
        floor = self.ctx.floor
        if self.kind == "room":
            return [r.name for r in floor.rooms(for_plants=False)]
        if self.kind == "lot":
            return [lot.name for lot in floor.lots()]
        if self.kind == "harvest":
            return [h.name for h in floor.harvests()]
        return []  # plants: scan the tag, a list of thousands is no use on a touch screen

    def view(self) -> dict[str, Any]:
        label = self.label
        reprint = label is not None and self.kind is not None and \
            self.ctx.floor.printed_before(self.kind, label.uid)
        return {
            "kind": self.kind,
            "kinds": list(KINDS),
            "uid": label.uid if label else None,
            "choices": self.choices(),
            "copies": self.copies,
            "reprint": reprint,
            "error": self.error,
            "preview": self.version if label else None,
            "printer": self.printer.name,
        }
