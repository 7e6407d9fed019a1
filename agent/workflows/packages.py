"""Packages: move them between rooms (``package.moved``) and re-weigh them (``package.adjusted``).

The kiosk has no list of packages (the state's available package tags are the
*unused* ones), so a package tag is checked as far as it can be: the right
format, not a plant or plant tag, not a tag still unused. The state checks
that the package exists; the screen says so. A plant tag here is refused: the
tags look alike and the mix-up is the usual mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from agent.floor import Resolved
from agent.workflows.base import (
    Flow,
    FlowContext,
    OneLoadFlow,
    Outcome,
    arg_str,
    refused,
    weight_text,
)
from agent.workflows.package_new import makes_packages
from canopy.events import PackageAdjusted, PackageMoved
from canopy.refdata import AdjustReason, Room
from drivers.scanner import Scan

UNCHECKED = "This kiosk has no list of packages: the state checks that each package exists."


def refuse_non_package(item: Resolved) -> Outcome | None:
    """Why ``item`` cannot be a package, or None when it may be one."""
    if item.kind == "not_a_tag":
        return refused(item.message.replace("Not a plant tag", "Not a package tag", 1))
    if item.kind == "plant":
        return refused(f"{item.text} is a plant tag (plant {item.text}), not a package. Scan the "
                       "package's tag.")
    if item.kind == "fresh_tag":
        return refused(f"{item.text} is a plant tag (unused), not a package. Scan the package's tag.")
    if item.kind == "package_tag":
        return refused(f"Package tag {item.text} is not on a package yet (an unused tag). Scan the label"
                       " of a package that exists; a new package is made from its harvest first.")
    if item.kind != "unknown_tag" or item.tag is None:
        return refused(f"That is {item.describe()}, not a package tag.")
    return None


def unchecked(item: Resolved) -> str:
    """What could not be checked offline about a tag taken as a package (it may be a plant's)."""
    return f"Not checked: {item.unchecked}." if item.unchecked else ""


class PackagesMenu(Flow):
    """The Packages tile: the package tasks, as big tiles."""

    screen = "menu"
    title = "Packages"
    CHOICES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("package_new", "New package from a harvest"), ("package_move", "Move packages"),
        ("package_adjust", "Adjust a package"))

    def view(self) -> dict[str, Any]:
        shown = [(s, t) for s, t in self.CHOICES if s != "package_new" or makes_packages(self.ctx.floor)]
        return {"choices": [{"screen": s, "title": t} for s, t in shown]}


class PackageMoveFlow(Flow):
    screen = "package_move"
    title = "Move packages"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.room: Room | None = None
        self.moved: list[dict[str, str]] = []

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "room" and item.room is not None:
            if not item.room.for_packages:
                return refused(f"Room {item.text} holds plants only: packages cannot go there.")
            self.room, self.moved = item.room, []
            return Outcome(True, f"Moving packages to {item.text}. Scan the packages.")
        if self.room is None:
            return refused("Scan the room's barcode first, then the packages.")
        problem = refuse_non_package(item)
        if problem is not None:
            return problem
        assert item.tag is not None
        room = self.room.name
        if any(m["tag"] == item.tag for m in self.moved):
            return refused(f"Package {item.tag} is already moved to {room}.")
        event = await self.ctx.record(PackageMoved(tag=item.tag, location=room),
                                      summary=f"Package {item.tag} moved to {room}",
                                      at=source.at if source else None)
        if isinstance(event, Outcome):
            return event
        self.moved.append({"tag": item.tag, "event": event.id})
        return Outcome(True, f"Moved package {item.tag} to {room}. {len(self.moved)} moved.", event.id,
                       detail=unchecked(item))

    def view(self) -> dict[str, Any]:
        return {
            "room": self.room.name if self.room else None,
            "count": len(self.moved),
            "moved": self.moved[-12:][::-1],
            "unchecked": UNCHECKED,
        }


class PackageAdjustFlow(OneLoadFlow):
    """Scan the package, put it on the scale: the settled weight is its new total."""

    load_name = "New total"
    screen = "package_adjust"
    title = "Adjust a package"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.tag: str | None = None
        self._reset()
        self.saved: list[dict[str, str]] = []

    def _reset(self) -> None:
        self.weight = None
        self.reason: str | None = None
        self.note = ""

    @property
    def wants_weight(self) -> bool:
        return self.tag is not None

    def _reason(self) -> AdjustReason | None:
        return next((r for r in self.ctx.floor.adjust_reasons() if r.name == self.reason), None)

    def missing(self) -> list[str]:
        out = []
        if self.tag is None:
            out.append("scan the package")
        if self.weight is None:
            out.append("put the package on the scale")
        if not self.ctx.floor.has("adjust_reasons"):
            out.append("the state's adjustment reasons reach this kiosk (it never received them)")
        elif self.reason is None:
            out.append("choose a reason")
        elif (reason := self._reason()) is not None and reason.requires_note and not self.note:
            out.append("choose a note")
        return out

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        problem = refuse_non_package(item)
        if problem is not None:
            return problem
        assert item.tag is not None
        self.tag = item.tag
        self._reset()
        return Outcome(True, f"Package {item.tag}: put it on the scale, then choose the reason.",
                       detail=unchecked(item))

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        floor = self.ctx.floor
        if action == "reason":
            name = arg_str(args, "name")
            if not floor.has("adjust_reasons"):
                return refused("The adjustment reasons cannot be checked offline: this kiosk never "
                               "received the state's list.")
            if name not in {r.name for r in floor.adjust_reasons()}:
                return refused(f"{name} is not on the state's list of adjustment reasons.")
            self.reason, self.note = name, ""
            return Outcome(True, f"Reason: {name}.", quiet=True)
        if action == "note":
            note = arg_str(args, "note")
            if note not in self.ctx.settings.adjust_notes:
                return refused("Choose one of the notes shown.")
            self.note = note
            return Outcome(True, f"Note: {note}.", quiet=True)
        if action in ("save", "confirm"):  # confirm: the foot pedal
            return await self.save()
        if action == "cancel":
            self.tag = None
            self._reset()
            return Outcome(True, "Cancelled. Nothing was saved.")
        return await super().act(action, args)

    async def save(self) -> Outcome:
        missing = self.missing()
        if missing:
            return refused("Not saved yet: " + ", ".join(missing) + ".")
        tag, weight, reason = self.tag, self.weight, self.reason
        assert tag is not None and weight is not None and reason is not None
        shown = weight_text(weight.value, weight.unit)
        event = await self.ctx.record(
            PackageAdjusted(tag=tag, quantity=weight, reason=reason, note=self.note),
            summary=f"Package {tag} adjusted to {shown}: {reason}")
        if isinstance(event, Outcome):
            return event
        self.ctx.mark_weighed()
        self.saved.append({"tag": tag, "weight": shown, "reason": reason, "event": event.id})
        self.tag = None
        self._reset()
        return Outcome(True, f"Saved: package {tag} is now {shown} ({reason}).", event.id)

    def view(self) -> dict[str, Any]:
        floor = self.ctx.floor
        reason = self._reason()
        return {
            "tag": self.tag,
            "weight": weight_text(self.weight.value, self.weight.unit) if self.weight else None,
            "reasons_known": floor.has("adjust_reasons"),
            "reasons": [r.name for r in floor.adjust_reasons()],
            "reason": self.reason,
            "notes": list(self.ctx.settings.adjust_notes) if reason and reason.requires_note else [],
            "note": self.note,
            "missing": self.missing(),
            "saved": self.saved[-5:][::-1],
            "unchecked": UNCHECKED,
        }
