"""A scan on the idle screen: record that the plant was seen here (``plant.scanned``).

Later flows (move, harvest, destroy …) take scans in their own context; this is
the one that needs none, and the one that carries every scan end to end today.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.outbox import Outbox, OutboxFault
from agent.workflows.tags import NotATag, TagFormat, check_tag
from canopy.events import InvalidEvent, PlantScanned
from drivers.scanner import Scan

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the worker is told: ``ok`` drives the good/bad beep and light."""

    ok: bool
    message: str
    event_id: str | None = None


class ScanFlow:
    def __init__(self, outbox: Outbox, *, tag_format: TagFormat, user: str,
                 location: str | None) -> None:
        self.outbox = outbox
        self.tag_format = tag_format
        self.user = user
        self.location = location

    async def handle(self, scan: Scan) -> Outcome:
        if scan.problem is not None:
            # Read, but doubtful (bad bytes, unmapped keys): never guess at a tag.
            return Outcome(False, f"Scan not clear ({scan.problem}). Scan again.")
        try:
            tag = check_tag(scan.text, self.tag_format)
        except NotATag as exc:
            return Outcome(False, str(exc))
        data = PlantScanned(tag=tag, location=self.location, symbology=scan.symbology,
                            scanner=scan.device[:200])
        try:
            event = await self.outbox.append("plant.scanned", data, user=self.user, at=scan.at)
        except (OutboxFault, InvalidEvent) as exc:
            log.error("scan of %s not saved: %s", tag, exc)
            return Outcome(False, str(exc))
        return Outcome(True, f"Saved: plant {tag}", event.id)
