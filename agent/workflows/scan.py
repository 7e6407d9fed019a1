"""A scan on the home screen: record that the plant was seen here (``plant.scanned``).

The other flows take scans in their own context; this one needs none. A scan
of a room, lot or harvest label just says what it is.
"""

from __future__ import annotations

from agent.floor import Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, refused, unknown_tag
from canopy.events import PlantScanned
from drivers.scanner import Scan


class HomeFlow(Flow):
    screen = "home"
    title = "Choose a task"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.last_seen: dict[str, str] | None = None

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        if item.kind == "not_a_tag":
            return refused(item.message)
        if item.kind == "room":
            count = self.ctx.floor.count_in(item.text)
            return Outcome(True, f"Room {item.text}: {count} plant(s) here. Choose a task.")
        if item.kind == "lot" and item.lot is not None:
            return Outcome(True, f"Immature lot {item.text}: {item.lot.count} {item.lot.strain} plants.")
        if item.kind == "harvest":
            return Outcome(True, f"Harvest batch {item.text}. Choose a task.")
        if item.kind == "fresh_tag":
            return refused(f"Tag {item.text} is not on a plant yet (an unused plant tag).")
        if item.kind == "package_tag":
            return refused(f"{item.text} is a package tag, not a plant tag.")
        if item.kind == "unknown_tag" and not item.unchecked:
            return refused(unknown_tag(item.text))
        assert item.tag is not None
        data = PlantScanned(tag=item.tag, location=self.ctx.kiosk_room,
                            symbology=source.symbology if source else None,
                            scanner=source.device[:200] if source else None)
        saved = await self.ctx.record(data, summary=f"Seen: plant {item.tag}",
                                      at=source.at if source else None)
        if isinstance(saved, Outcome):
            return saved
        plant = item.plant
        self.last_seen = {
            "tag": item.tag,
            "location": plant.location if plant else "",
            "phase": plant.phase if plant else "",
            "strain": plant.strain if plant else "",
        }
        detail = f"Not checked: {item.unchecked}." if item.unchecked else ""
        return Outcome(True, f"Saved: plant {item.tag}", saved.id, detail=detail)

    def view(self) -> dict[str, object]:
        return {"last_seen": self.last_seen}
