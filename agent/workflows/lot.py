"""Create an immature lot (≤100 plants of one strain) and print its lot labels.

Each plant of the lot carries a label with the lot's id (domain.md §0.6): after
``plant_batch.created`` the kiosk offers one label per plant. The lot's name is
a scanned unused plant tag (Metrc in CA and MI ties a batch to a tag) or a
suggested name for states where it can be anything. One strain per lot by
construction; the 101st plant is refused (the profile may set a lower limit).

Where the state asks where the plants came from, the facility profile says so
(``Profile.lot_source``, by state in ``canopy.refdata.LOT_SOURCES``) and the worker
scans the source first:

- ``package`` (BioTrack): the clone, seed or plant-tissue inventory they came from
  (16-digit id; the bridge publishes those as the ``plant_batches`` list). The lot
  takes its strain and cannot hold more plants than the package has left.
- ``mother_or_package`` (Metrc, California): the mother plant the clones were cut
  from (a living plant this kiosk knows; the lot takes its strain), or the clone or
  seed package (the kiosk has no package list: the state checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from agent.floor import LIVE_PHASES, LotInfo, PlantInfo, Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, arg_int, arg_str, refused
from agent.workflows.labels import build_label, print_label
from canopy.events import PlantBatchCreated
from drivers.labels import LabelError
from drivers.printer import LabelPrinter
from drivers.scanner import Scan


class LotFlow(Flow):
    screen = "lot"
    title = "New immature lot"

    def __init__(self, ctx: FlowContext, printer: LabelPrinter) -> None:
        super().__init__(ctx)
        self.printer = printer
        self._reset()

    def _reset(self) -> None:
        ctx = self.ctx
        self.strain: str | None = None
        self.type = "Clone"
        self.count = 1
        vegetative = [r.name for r in ctx.floor.rooms() if r.kind == "vegetative"]
        self.room: str | None = vegetative[0] if len(vegetative) == 1 else None
        self.name: str | None = None
        self.created: str | None = None  # the lot's name once saved
        self.printed = 0
        self.source: LotInfo | None = None  # BioTrack: the clone/seed package
        self.mother: PlantInfo | None = None  # Metrc CA: the plant the clones were cut from
        self.source_tag: str | None = None  # Metrc CA: the clone/seed package's tag

    @property
    def needs_source(self) -> bool:
        return self.ctx.floor.lot_source != "none"

    @property
    def has_source(self) -> bool:
        return self.source is not None or self.mother is not None or self.source_tag is not None

    def source_words(self) -> str:
        """The source as the worker reads it, or what to scan for it."""
        if self.source is not None:
            return f"From package {self.source.name}: {self.source.count} {self.source.strain} left."
        if self.mother is not None:
            return f"Clones from mother plant {self.mother.tag} ({self.mother.strain or 'strain not known'})."
        if self.source_tag is not None:
            return f"From package {self.source_tag}."
        if self.ctx.floor.lot_source == "mother_or_package":
            return "Scan the mother plant the clones were cut from, or the clone or seed package."
        return "Scan the clone or seed package the plants come from."

    @property
    def limit(self) -> int:
        return self.ctx.floor.max_plants_per_lot

    def suggest_name(self) -> str:
        strain = "".join(ch for ch in (self.strain or "LOT").upper() if ch.isalnum())[:10] or "LOT"
        stamp = date.today().strftime("%Y%m%d")
        n = 1
        while self._taken(f"{strain}-{stamp}-{n}"):
            n += 1
        return f"{strain}-{stamp}-{n}"

    def _taken(self, name: str) -> bool:
        floor = self.ctx.floor
        return floor.lot(name) is not None or floor.harvest(name) is not None or floor.room(name) is not None

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if self.created is not None:
            return refused(f"Lot {self.created} is made. Print its labels or start a new lot.")
        if item.kind == "room" and item.room is not None:
            return await self.act("room", {"name": item.text})
        if self.needs_source and not self.has_source:
            if self.ctx.floor.lot_source == "mother_or_package":
                return self._mother_or_package(item)
            return self._source(item)
        if item.kind == "fresh_tag" or (item.kind == "unknown_tag" and item.unchecked):
            self.name = item.text
            return Outcome(True, f"Lot name: {item.text}.", detail=f"Not checked: {item.unchecked}."
                           if item.unchecked else "")
        if item.kind in ("plant", "lot"):
            return refused(f"{item.text} is already used. Scan an unused plant tag to name the lot.")
        if item.kind == "package_tag":
            return refused(f"{item.text} is a package tag. Scan an unused plant tag.")
        if item.kind == "not_a_tag":
            return refused(item.message)
        return refused(f"{item.describe().capitalize()} cannot name a lot.")

    def _source(self, item: Resolved) -> Outcome:
        """BioTrack: the scan names the clone or seed package the plants come from."""
        if item.kind == "lot" and item.lot is not None:
            if item.lot.count < 1:
                return refused(f"Package {item.text} is used up (nothing left).")
            self.source = item.lot
            if item.lot.strain:
                self.strain = item.lot.strain
            return Outcome(True, f"From package {item.text}: {item.lot.count} {item.lot.strain} left.")
        if item.kind == "not_a_tag":
            return refused(item.message.replace("Not a plant tag", "Not a package id", 1))
        if not self.ctx.floor.has("plant_batches"):
            return refused(f"Package {item.text} cannot be checked offline: this kiosk never received "
                           "the list of clone and seed packages.")
        return refused(f"{item.text} is not a clone or seed package of this facility "
                       "(or the state shows nothing left). Scan the package the plants come from.")

    def _mother_or_package(self, item: Resolved) -> Outcome:
        """Metrc (CA): the scan names the mother plant or the clone/seed package."""
        if item.kind == "plant" and item.plant is not None:
            plant = item.plant
            if plant.phase not in LIVE_PHASES:
                return refused(f"Plant {plant.tag} is {plant.phase.lower()}: scan a living mother plant "
                               "or the clone package.")
            self.mother = plant
            if plant.strain:
                self.strain = plant.strain
            return Outcome(True, self.source_words())
        if item.kind == "unknown_tag" and item.tag is not None:
            self.source_tag = item.tag
            return Outcome(True, self.source_words(),
                           detail="Not checked: this kiosk has no list of packages (the state checks it).")
        if item.kind in ("fresh_tag", "package_tag"):
            return refused(f"{item.text} is an unused tag. Scan the mother plant or the clone or seed "
                           "package the plants come from.")
        if item.kind == "not_a_tag":
            return refused(item.message)
        return refused(f"{item.describe().capitalize()} is not a mother plant or a package. Scan the "
                       "mother plant or the clone or seed package the plants come from.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        floor = self.ctx.floor
        if action == "new":
            self._reset()
            return Outcome(True, "New immature lot.", quiet=True)
        if action == "print":
            return await self._print()
        if self.created is not None:
            return refused(f"Lot {self.created} is already made.")
        if action == "strain":
            name = arg_str(args, "name")
            if name not in floor.strains():
                return refused(f"{name} is not one of this facility's strains.")
            if self.mother is not None and self.mother.strain and name != self.mother.strain:
                return refused(f"Clones from mother plant {self.mother.tag} are {self.mother.strain}.")
            self.strain = name
            return Outcome(True, f"Strain: {name}.", quiet=True)
        if action == "type":
            kind = arg_str(args, "type")
            if kind not in ("Seed", "Clone"):
                return refused("Seed or Clone.")
            self.type = kind
            return Outcome(True, f"{kind}s.", quiet=True)
        if action == "count":
            count = arg_int(args, "count")
            if count > self.limit:
                return refused(f"An immature lot holds at most {self.limit} plants: start a second lot"
                               " for the rest.")
            if count < 1:
                return refused("At least 1 plant.")
            self.count = count
            return Outcome(True, f"{count} plants.", quiet=True)
        if action == "room":
            room = floor.room(arg_str(args, "name"))
            if room is None or not room.for_plants:
                return refused("Choose a room that takes plants.")
            self.room = room.name
            return Outcome(True, f"Room: {room.name}.", quiet=True)
        if action == "suggest":
            self.name = self.suggest_name()
            return Outcome(True, f"Lot name: {self.name}.", quiet=True)
        if action == "create":
            return await self._create()
        return await super().act(action, args)

    async def _create(self) -> Outcome:
        if self.needs_source and not self.has_source:
            return refused(self.source_words().replace("Scan", "First scan", 1))
        if self.source is not None and self.count > self.source.count:
            return refused(f"Package {self.source.name} has only {self.source.count} left.")
        if self.strain is None or self.room is None or self.name is None:
            return refused("Choose the strain and room, and scan a tag or take the suggested name.")
        if self.count > self.limit:
            return refused(f"An immature lot holds at most {self.limit} plants.")
        if self._taken(self.name):
            return refused(f"{self.name} is already used. Choose another name.")
        package = self.source.name if self.source else self.source_tag
        mother = self.mother.tag if self.mother else None
        data = PlantBatchCreated(name=self.name, type=self.type,  # type: ignore[arg-type]
                                 count=self.count, strain=self.strain, location=self.room,
                                 source_package=package, mother_tag=mother)
        source = f" from {package or f'mother plant {mother}'}" if package or mother else ""
        what = f"{self.count} {self.strain} {self.type.lower()}s"
        event = await self.ctx.record(data,
                                      summary=f"Lot {self.name}: {what} in {self.room}{source}")
        if isinstance(event, Outcome):
            return event
        self.created = self.name
        return Outcome(True, f"Lot {self.name} saved: {self.count} plants. Print its labels.", event.id)

    async def _print(self) -> Outcome:
        if self.created is None:
            return refused("Save the lot first.")
        try:
            label = build_label(self.ctx.floor, "lot", self.created)
        except LabelError as exc:
            return refused(f"Cannot make the lot label: {exc}.")
        outcome = await print_label(self.ctx, self.printer, label, "lot", self.count)
        if outcome.ok:
            self.printed += self.count
        return outcome

    def view(self) -> dict[str, Any]:
        return {
            "strains": self.ctx.floor.strains(),
            "rooms": [r.name for r in self.ctx.floor.rooms()],
            "strain": self.strain,
            "type": self.type,
            "count": self.count,
            "limit": self.limit,
            "room": self.room,
            "name": self.name,
            "created": self.created,
            "printed": self.printed,
            "needs_source": self.needs_source,
            "has_source": self.has_source,
            "source_words": self.source_words(),
            "source": {"name": self.source.name, "strain": self.source.strain, "count": self.source.count}
            if self.source else None,
        }
