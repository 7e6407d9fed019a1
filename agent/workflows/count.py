"""Room count: scan every tag in a room, see what is missing and what is extra.

Feeds the state's reconciliation (30-day in CA, daily in NM and UT): the room's
barcode first, then every plant tag found; the screen keeps ticking off the
expected plants and lists extras (plants the kiosk believes are elsewhere, and
unknown tags) as they come. Finishing records one ``room.counted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.floor import Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, refused
from canopy.events import RoomCounted
from canopy.refdata import Room
from drivers.scanner import Scan

MAX_TAGS = 2000  # the contract's limit per room count


class CountFlow(Flow):
    screen = "count"
    title = "Room count"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.room: Room | None = None
        self.expected: list[str] = []
        self.scanned: list[str] = []
        self.extra: list[str] = []
        self.result: dict[str, Any] | None = None

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "room" and item.room is not None:
            if self.scanned and self.result is None:
                return refused(f"Finish or cancel the count of {self.room.name if self.room else ''} first.")
            self.room, self.scanned, self.extra, self.result = item.room, [], [], None
            self.expected = [p.tag for p in self.ctx.floor.plants_in(item.text)]
            return Outcome(True, f"Counting {item.text}: {len(self.expected)} plants expected. "
                                 "Scan every tag.")
        if self.room is None or self.result is not None:
            return refused("Scan the room's barcode first.")
        if item.kind == "not_a_tag":
            return refused(item.message)
        if item.kind in ("room", "lot", "harvest") or item.tag is None:
            return refused(f"That is {item.describe()}. Scan plant tags.")
        tag = item.tag
        if tag in self.scanned:
            return refused(f"{tag} is counted already.")
        if len(self.scanned) >= MAX_TAGS:
            return refused(f"A count holds at most {MAX_TAGS} tags: finish this one.")
        self.scanned.append(tag)
        if tag in self.expected:
            return Outcome(True, f"{tag}: {self._progress()}")
        self.extra.append(tag)
        elsewhere = item.plant.location if item.plant and item.plant.location else None
        # Short: the answer band must leave the status pills on screen at 800x480.
        if elsewhere:
            return refused(f"Extra {tag}, listed in {elsewhere}. Keep counting; then move it here"
                           f" (Move plants) or take it back. {self._progress()}")
        return refused(f"Extra {tag}: not listed in any room. Keep counting; then tell a supervisor."
                       f" {self._progress()}")

    def _progress(self) -> str:
        found = len(set(self.scanned) & set(self.expected))
        return f"{found} of {len(self.expected)} found."

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "finish":
            return await self.finish()
        if action == "cancel":
            self.room, self.expected, self.scanned, self.extra, self.result = None, [], [], [], None
            return Outcome(True, "Count cancelled. Nothing was saved.")
        return await super().act(action, args)

    def missing(self) -> list[str]:
        seen = set(self.scanned)
        return [tag for tag in self.expected if tag not in seen]

    async def finish(self) -> Outcome:
        if self.room is None or self.result is not None:
            return refused("Scan a room's barcode to start a count.")
        missing = self.missing()
        data = RoomCounted(location=self.room.name, scanned=self.scanned,
                           expected_count=len(self.expected), missing=missing, extra=self.extra)
        event = await self.ctx.record(
            data,
            summary=f"Counted {self.room.name}: {len(self.scanned)} scanned, {len(missing)} missing, "
                    f"{len(self.extra)} extra")
        if isinstance(event, Outcome):
            return event
        self.result = {"missing": len(missing), "extra": len(self.extra), "event": event.id}
        if missing or self.extra:
            return Outcome(True, f"Count saved: {len(missing)} missing, {len(self.extra)} extra.", event.id)
        return Outcome(True, f"Count saved: all {len(self.expected)} plants found.", event.id)

    def view(self) -> dict[str, Any]:
        missing = self.missing()
        return {
            "room": self.room.name if self.room else None,
            "expected": len(self.expected),
            "found": len(set(self.scanned) & set(self.expected)),
            "scanned": len(self.scanned),
            "missing": missing[:50],
            "missing_count": len(missing),
            "extra": self.extra[:50],
            "result": self.result,
        }
