"""Waste on hold (NM, domain.md §2.6 "Waste record": 72-h hold timer and hold label).

Where the facility profile sets ``destroy_hold_hours``, a destroyed plant's waste
stays secured, labelled and unmoved that long before it may be made unusable.
After ``plant.destroyed`` the kiosk keeps the hold as a local fact (see
``agent.projection``), so it survives restarts, and prints a hold label (tag,
weight, reason, when the hold ends).
The "Waste on hold" screen lists the holds with the time left; scanning a plant
whose hold is over (with a witness where waste needs one) records
``plant.destroy_completed`` pointing at the ``plant.destroyed`` that started it.
Move plants refuses a held plant. Every "now" comes from ``Floor.clock``.

Only tagged plants are held: the completion event names a tag, so waste from
part of an immature lot has nothing to complete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agent.floor import Floor, Resolved
from agent.floorinfo import Hold
from agent.workflows.base import FlowContext, Outcome, WitnessedFlow, arg_str, refused
from agent.workflows.labels import print_label
from canopy.events import PlantDestroyCompleted
from drivers.labels import WasteHold
from drivers.printer import LabelPrinter
from drivers.scanner import Scan

log = logging.getLogger(__name__)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def local_time(floor: Floor, ms: int) -> str:
    """``ms`` as the facility's wall-clock time: what a worker and an inspector read."""
    return floor.local_time(datetime.fromtimestamp(ms / 1000, UTC)).strftime("%Y-%m-%d %H:%M")


def time_left(ms: int) -> str:
    minutes = max(0, -(-ms // 60_000))  # round up: "0 min left" would be a lie
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def active_hold(floor: Floor, tag: str) -> Hold | None:
    hold = floor.hold(tag)
    return hold if hold is not None and not hold.completed else None


def hold_refusal(floor: Floor, item: Resolved) -> Outcome | None:
    """Move plants: held waste stays where it is."""
    hold = active_hold(floor, item.tag) if item.tag else None
    if hold is None:
        return None
    until = local_time(floor, hold.until)
    if _ms(floor.clock()) < hold.until:
        return refused(f"Plant {item.tag} is waste on hold until {until}: it must not be moved.")
    return refused(f"Plant {item.tag} is destroyed waste (hold ended {until}): complete its "
                   "destruction on the Waste on hold screen, do not move it.")


def hold_label(floor: Floor, hold: Hold) -> WasteHold:
    return WasteHold(uid=hold.tag, until=local_time(floor, hold.until), weight=hold.weight,
                     reason=hold.reason, since=local_time(floor, hold.since))


async def print_hold(ctx: FlowContext, printer: LabelPrinter | None, tag: str) -> Outcome:
    """Print the hold label (a ``label.printed`` record like every label); what to tell
    the worker either way (the hold itself is saved already)."""
    hold = ctx.floor.hold(tag)
    if hold is None:
        return refused(f"Plant {tag} is not on hold.")
    if printer is None:
        return refused("No printer here: print the hold label on the Waste on hold screen.")
    printed = await print_label(ctx, printer, hold_label(ctx.floor, hold), "hold", 1)
    if not printed.ok:
        why = printed.message.removeprefix("Not printed: ").rstrip(".")
        return refused(f"Hold label NOT printed ({why}): reprint it on the Waste on hold screen.")
    return Outcome(True, "Hold label printed: put it on the waste.", printed.event_id)


async def start_hold(ctx: FlowContext, printer: LabelPrinter | None, tag: str) -> str:
    """After ``plant.destroyed`` of ``tag`` (the kiosk holds it already): print its label."""
    hold = ctx.floor.hold(tag)
    if hold is None:  # the profile's hold hours changed between the record and now
        return ""
    printed = await print_hold(ctx, printer, tag)
    return f"On hold until {local_time(ctx.floor, hold.until)}. {printed.message}"


class HoldFlow(WitnessedFlow):
    screen = "hold"
    title = "Waste on hold"

    def __init__(self, ctx: FlowContext, printer: LabelPrinter) -> None:
        super().__init__(ctx)
        self.printer = printer
        self.pending: str | None = None  # hold over, waiting for the witness
        self.completed: list[dict[str, str]] = []

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "not_a_tag":
            return refused(item.message)
        if item.tag is None:
            return refused(f"That is {item.describe()}: scan the held plant's tag.")
        floor = self.ctx.floor
        hold = active_hold(floor, item.tag)
        if hold is None:
            return refused(f"Plant {item.tag} is not waste on hold here.")
        left = hold.until - _ms(floor.clock())
        if left > 0:
            return refused(f"Plant {item.tag} is on hold until {local_time(floor, hold.until)} "
                           f"({time_left(left)} left): not yet.")
        self.pending = item.tag
        if self.witness_missing:
            return Outcome(True, f"Hold over for plant {item.tag}: the witness signs in, then tap"
                                 " Complete.")
        return await self.complete()

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "complete":
            return await self.complete()
        if action == "print":
            return await print_hold(self.ctx, self.printer, arg_str(args, "tag"))
        if action == "cancel":
            self.pending, self.witness = None, None
            return Outcome(True, "Cancelled. Nothing was saved.", quiet=True)
        return await super().act(action, args)

    def set_witness(self, worker: dict[str, str]) -> Outcome:
        self.witness = worker
        then = "tap Complete" if self.pending else "scan the plant"
        return Outcome(True, f"Witness: {worker['name']}. Now {then}.")

    async def complete(self) -> Outcome:
        tag, floor = self.pending, self.ctx.floor
        if tag is None:
            return refused("Scan the held plant's tag first.")
        hold = active_hold(floor, tag)
        if hold is None:
            self.pending = None
            return refused(f"Plant {tag} is not waste on hold here.")
        left = hold.until - _ms(floor.clock())
        if left > 0:
            return refused(f"Plant {tag} is on hold for {time_left(left)} more: not yet.")
        if self.witness_missing:
            return refused("Not saved yet: a witness signs in.")
        witness = self.witness
        event = await self.ctx.record(
            PlantDestroyCompleted(tag=tag, scheduled=hold.scheduled),
            witness=witness["id"] if witness else None,
            summary=f"Plant {tag} waste made unusable after its hold")
        if isinstance(event, Outcome):
            return event
        self.completed.append({"tag": tag, "witness": witness["name"] if witness else ""})
        self.pending, self.witness = None, None
        return Outcome(True, f"Saved: plant {tag} destruction completed.", event.id)

    def holds(self) -> list[dict[str, Any]]:
        floor = self.ctx.floor
        now = _ms(floor.clock())
        rows = []
        for hold in floor.holds():
            if hold.completed:
                continue
            left = hold.until - now
            rows.append({"tag": hold.tag, "weight": hold.weight, "reason": hold.reason,
                         "until": local_time(floor, hold.until), "ready": left <= 0,
                         "left": time_left(left) if left > 0 else ""})
        return rows

    def view(self) -> dict[str, Any]:
        return {
            "hours": self.ctx.floor.hold_hours,
            "holds": self.holds(),
            "pending": self.pending,
            "witness_required": self.witness_required,
            "witness": self.witness["name"] if self.witness else None,
            "completed": self.completed[-5:][::-1],
        }
