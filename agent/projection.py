"""What each saved event means for this kiosk's local picture: one projection per event type.

The bridge's lists lag the floor (see ``agent.facts``), so after the outbox has
an event the kiosk writes down what it now knows: the plant is in room B, lot L
has one plant fewer, the scale passed today's check. ``project`` says it for
every event type in one ``match`` over the typed envelopes; mypy checks it is
exhaustive (``assert_never``), so a new event type cannot be forgotten here.
Flows never write facts themselves: ``FlowContext.record`` saves the event and
hands it to ``Floor.remember``, which applies these changes.

A projection reads the picture as it was just before the event (``Picture``):
a move keeps the plant's phase, a harvest batch takes the plant's strain.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol, assert_never

from agent.facts import FactChange, Forget, Merge
from agent.floorinfo import LotInfo, PlantInfo, weight_text
from canopy.events import (
    Event,
    HarvestWasteEvent,
    LabelPrintedEvent,
    PackageAdjustedEvent,
    PackageCreatedEvent,
    PackageMovedEvent,
    PlantBatchCreatedEvent,
    PlantCuredEvent,
    PlantDestroyCompletedEvent,
    PlantDestroyedEvent,
    PlantHarvestedEvent,
    PlantManicuredEvent,
    PlantMovedEvent,
    PlantPhaseChangedEvent,
    PlantScannedEvent,
    RecordCorrectedEvent,
    RejectionDismissedEvent,
    RoomCountedEvent,
    ScaleChecked,
    ScaleCheckedEvent,
    SigninAlertedEvent,
    TagsReceivedEvent,
)


class Picture(Protocol):
    """What a projection may read: the kiosk's picture just before the event (a ``Floor``)."""

    def plant(self, tag: str) -> PlantInfo | None: ...
    def lot(self, name: str) -> LotInfo | None: ...
    @property
    def hold_hours(self) -> int: ...
    def local_day(self, at: datetime | None = None) -> date: ...


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def scale_check_why(data: ScaleChecked) -> str:
    """Why a scale failed its daily check, in the worker's words ("" when it passed)."""
    if data.legal_for_trade is False:
        return "It is not in legal-for-trade mode (LFT OFF)."
    if data.passed:
        return ""
    return (f"It read {weight_text(data.reading, data.unit)} for the "
            f"{weight_text(data.reference, data.unit)} test weight (allowed "
            f"±{weight_text(data.tolerance, data.unit)}).")


def project(event: Event, before: Picture) -> list[FactChange]:
    """The facts ``event`` leaves on this kiosk (none where the lists already say it all)."""
    match event:
        case PlantMovedEvent(data=d):
            plant = before.plant(d.tag)
            return [Merge("plant", d.tag, {"location": d.location,
                                           **({"phase": plant.phase} if plant else {})})]
        case PlantPhaseChangedEvent(data=d) if d.tag is not None:
            return [Merge("plant", d.tag, {"location": d.location, "phase": d.phase})]
        case PlantPhaseChangedEvent(data=d):  # a new tag on a plant of an immature lot
            assert d.new_tag is not None and d.plant_batch is not None  # the contract's rule
            lot = before.lot(d.plant_batch)
            return [Merge("plant", d.new_tag, {"location": d.location, "phase": d.phase,
                                               "strain": lot.strain if lot else "",
                                               "plant_batch": d.plant_batch}),
                    Merge("batch", d.plant_batch, add={"tagged": 1})]
        case PlantBatchCreatedEvent(data=d):
            return [Merge("batch", d.name, {"strain": d.strain, "count": d.count, "location": d.location,
                                            "created": date.today().isoformat()})]
        case PlantHarvestedEvent(data=d) | PlantManicuredEvent(data=d):
            plant = before.plant(d.tag)
            batch = Merge("harvest", d.harvest_name, {"location": d.drying_location,
                                                      "strain": plant.strain if plant else ""})
            if isinstance(event, PlantManicuredEvent):
                return [batch]  # the plant keeps growing where it is: only the batch is news
            shown = weight_text(d.weight.value, d.weight.unit)
            return [Merge("plant", d.tag, {"phase": "Harvested", "harvest": d.harvest_name,
                                           "weight": shown}), batch]
        case PlantCuredEvent(data=d):
            return [Merge("plant", d.tag, {"cured": weight_text(d.weight.value, d.weight.unit)})]
        case PlantDestroyedEvent(data=d) if d.tag is not None:
            changes: list[FactChange] = [Merge("plant", d.tag, {"phase": "Destroyed"})]
            hours = before.hold_hours
            if hours > 0:  # the waste stays secured that long (agent.workflows.hold)
                changes.append(Merge("hold", d.tag, {
                    "since": _ms(event.at), "until": _ms(event.at + timedelta(hours=hours)),
                    "weight": weight_text(d.weight.value, d.weight.unit), "reason": d.reason,
                    "scheduled": event.id}))
            return changes
        case PlantDestroyedEvent(data=d):  # part of an immature lot
            assert d.plant_batch is not None  # the contract's rule
            return [Merge("batch", d.plant_batch, add={"destroyed": d.count})]
        case PlantDestroyCompletedEvent(data=d):
            return [Merge("hold", d.tag, {"completed": event.id})]
        case LabelPrintedEvent(data=d):
            return [Merge("label", f"{d.kind}:{d.uid}", add={"printed": d.copies})]
        case ScaleCheckedEvent(data=d):
            return [Merge("scale_check", d.scale_id, {
                "passed": d.passed, "why": scale_check_why(d),
                "day": before.local_day(event.at).isoformat(), "at": _ms(event.at)})]
        case RecordCorrectedEvent():
            assert event.corrects is not None  # the contract's rule
            return [Forget(event.corrects)]
        case PackageCreatedEvent(data=d):  # the tag is used now, whatever the tag list still says
            return [Merge("package", d.tag, {"item": d.item, "location": d.location or "",
                                             "harvest": d.sources[0].harvest_name})]
        case (PlantScannedEvent() | HarvestWasteEvent() | PackageMovedEvent()
              | PackageAdjustedEvent() | RoomCountedEvent() | TagsReceivedEvent() | RejectionDismissedEvent()
              | SigninAlertedEvent()):
            return []  # nothing the kiosk looks up changes
        case _:
            assert_never(event)
