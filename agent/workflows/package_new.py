"""New package from a harvest (``package.created``): scan the harvest batch, scan an unused
package tag, weigh into the package on the scale, save, print its label.

The weight is the settled load on the registered scale (never typed), checked by
the one weight rule set like every other weight. The item comes from the
state's list (a weighed item: a count-based one cannot take grams), the room
from the rooms that hold packages. A tag this kiosk has put on a package is used
from then on (``agent.projection``), so it cannot start a second package. Where
the state makes packages itself (BioTrack builds its lots), the screen is not
offered (``makes_packages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import Floor, Resolved
from agent.workflows.base import FlowContext, OneLoadFlow, Outcome, arg_str, refused, weight_text
from agent.workflows.labels import preview_png, print_label
from canopy.events import PackageCreated, PackageSource
from canopy.refdata import Item
from drivers.labels import LabelError, PackageTag, render
from drivers.printer import LabelPrinter
from drivers.scanner import Scan

# Systems whose state takes packages made at the facility from a harvest (the others make
# their lots themselves: bridge/state/biotrack refuses package.created with what to do).
PACKAGES_FROM_HARVEST: frozenset[str | None] = frozenset({"metrc", None})
COUNTED_UNITS = frozenset({"each"})  # items counted, not weighed: no scale weight fits them


def makes_packages(floor: Floor) -> bool:
    """The state takes packages made at this kiosk (unknown until the profile arrives: yes)."""
    return floor.system in PACKAGES_FROM_HARVEST


def weighed_items(floor: Floor) -> list[Item]:
    return [i for i in floor.items() if i.unit.lower() not in COUNTED_UNITS]


class PackageCreateFlow(OneLoadFlow):
    load_name = "Package weight"
    screen = "package_new"
    title = "New package from a harvest"

    def __init__(self, ctx: FlowContext, printer: LabelPrinter) -> None:
        super().__init__(ctx)
        self.printer = printer
        self.harvest: str | None = None
        rooms = [r.name for r in ctx.floor.package_rooms()]
        self.room: str | None = rooms[0] if len(rooms) == 1 else None
        self.item: str | None = None
        self.tag: str | None = None
        self.weight = None
        self.made: PackageTag | None = None  # the package saved last, until the next one starts
        self.printed = 0
        self.saved: list[dict[str, str]] = []

    @property
    def wants_weight(self) -> bool:
        return self.harvest is not None and self.tag is not None

    async def enter(self) -> Outcome:
        if not makes_packages(self.ctx.floor):
            return refused(f"{self.ctx.floor.system}: the state makes packages itself, not this kiosk. "
                           "Use the state system to make packages from a harvest.")
        return await super().enter()

    def missing(self) -> list[str]:
        floor = self.ctx.floor
        out = []
        if self.harvest is None:
            out.append("scan the harvest batch")
        if self.tag is None:
            out.append("scan an unused package tag")
        if not floor.has("items"):
            out.append("the state's item list reaches this kiosk (it never received it)")
        elif self.item is None:
            out.append("choose the item")
        if self.room is None:
            out.append("choose the room")
        if self.weight is None:
            out.append("weigh the package on the scale")
        return out

    # --- scans -------------------------------------------------------------------------

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "harvest" and item.harvest is not None:
            return await self.act("batch", {"name": item.harvest.name})
        if item.kind == "room" and item.room is not None:
            return await self.act("room", {"name": item.room.name})
        if self.harvest is None:
            return refused("Scan the harvest batch's label first (or tap the batch), then the package tag.")
        if item.kind == "not_a_tag":
            return refused(item.message.replace("Not a plant tag", "Not a package tag", 1))
        if item.kind in ("plant", "fresh_tag"):
            return refused(f"{item.text} is a plant tag, not a package tag. Scan an unused package tag.")
        floor = self.ctx.floor
        if item.kind == "unknown_tag" and item.tag is not None and floor.package_made(item.tag):
            return refused(f"Package tag {item.tag} is already on a package. Scan an unused package tag.")
        if item.kind == "unknown_tag" and floor.has("package_tags"):
            return refused(f"{item.text} is not one of this facility's unused package tags. Scan an "
                           "unused package tag (a new roll: Receive tags first).")
        if item.kind not in ("package_tag", "unknown_tag") or item.tag is None:
            return refused(f"That is {item.describe()}, not a package tag. Scan an unused package tag.")
        self.tag, self.weight, self.made, self.printed = item.tag, None, None, 0
        return Outcome(True, f"Package tag {item.tag}: put the package on the scale.",
                       detail=f"Not checked: {item.unchecked}." if item.unchecked else "")

    # --- touches ------------------------------------------------------------------------

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        floor = self.ctx.floor
        if action == "batch":
            harvest = floor.harvest(arg_str(args, "name"))
            if harvest is None:
                return refused("Unknown harvest batch: tap one of those shown, or scan its label.")
            self.harvest, self.made = harvest.name, None
            where = floor.room(harvest.location)
            if self.room is None and where is not None and where.for_packages:
                self.room = where.name  # packed where the harvest dries, unless chosen otherwise
            return Outcome(True, f"Harvest {harvest.name}: scan an unused package tag.")
        if action == "item":
            name = arg_str(args, "name")
            if name not in {i.name for i in weighed_items(floor)}:
                return refused(f"{name} is not on the state's list of weighed items: choose one shown.")
            self.item = name
            return Outcome(True, f"Item: {name}.", quiet=True)
        if action == "room":
            room = floor.room(arg_str(args, "name"))
            if room is None or not room.for_packages:
                return refused("Choose a room that holds packages.")
            self.room = room.name
            return Outcome(True, f"Room: {room.name}.", quiet=True)
        if action in ("save", "confirm"):  # confirm: the foot pedal
            return await self.save()
        if action == "print":
            return await self.print()
        if action == "cancel":
            self.tag, self.weight = None, None
            return Outcome(True, "Cancelled. Nothing was saved.")
        return await super().act(action, args)

    async def save(self) -> Outcome:
        missing = self.missing()
        if missing:
            return refused("Not saved yet: " + ", ".join(missing) + ".")
        harvest, tag, item, room, weight = self.harvest, self.tag, self.item, self.room, self.weight
        assert harvest is not None and tag is not None and item is not None and room is not None
        assert weight is not None
        shown = weight_text(weight.value, weight.unit)
        event = await self.ctx.record(
            PackageCreated(tag=tag, item=item, location=room,
                           sources=[PackageSource(harvest_name=harvest, weight=weight)]),
            summary=f"Package {tag}: {shown} {item} from {harvest}, in {room}")
        if isinstance(event, Outcome):
            return event
        self.ctx.mark_weighed()
        self.made = PackageTag(uid=tag, item=item, quantity=shown, packaged=self.ctx.floor.local_day(),
                               source=harvest)
        self.printed = 0
        self.saved.append({"tag": tag, "item": item, "weight": shown, "harvest": harvest, "event": event.id})
        self.tag, self.weight = None, None
        return Outcome(True, f"Saved: package {tag}, {shown} {item} from {harvest}. Print its label.",
                       event.id)

    async def print(self) -> Outcome:
        if self.made is None:
            return refused("Save the package first, then print its label.")
        try:
            render(self.made, self.printer.media)
        except LabelError as exc:
            return refused(f"Cannot make the package label: {exc}.")
        outcome = await print_label(self.ctx, self.printer, self.made, "package", 1)
        if outcome.ok:
            self.printed += 1
        return outcome

    def preview(self) -> bytes | None:
        return preview_png(self.printer, self.made) if self.made is not None else None

    def view(self) -> dict[str, Any]:
        floor = self.ctx.floor
        return {
            "harvest": self.harvest,
            "harvests": [h.name for h in floor.harvests()],
            "tag": self.tag,
            "items_known": floor.has("items"),
            "items": [i.name for i in weighed_items(floor)],
            "item": self.item,
            "rooms": [r.name for r in floor.package_rooms()],
            "room": self.room,
            "weight": weight_text(self.weight.value, self.weight.unit) if self.weight else None,
            "missing": self.missing(),
            "made": self.made.uid if self.made else None,
            "printed": self.printed,
            "saved": self.saved[-5:][::-1],
        }
