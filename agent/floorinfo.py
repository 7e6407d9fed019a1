"""What the floor answers: a plant, an immature lot, a harvest batch, a hold, a scale's
last check, and what a scan is, as far as this kiosk can tell.

Plain values built by ``agent.floor.Floor`` from its reference copy with the
kiosk's own recent facts on top; flows read them and never change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from canopy.refdata import Room

ScanKind = Literal["room", "plant", "lot", "harvest", "fresh_tag", "package_tag", "unknown_tag", "not_a_tag"]
LIVE_PHASES = ("Vegetative", "Flowering", "Other")


def weight_text(value: Decimal, unit: str) -> str:
    """A weight as the worker reads it (and as the kiosk remembers it): ``812.4 g``."""
    return f"{format(value, 'f')} {unit}"


@dataclass(frozen=True, slots=True)
class PlantInfo:
    tag: str
    location: str
    phase: str
    strain: str = ""
    plant_batch: str = ""
    harvest: str = ""  # set once weighed into a harvest batch
    weight: str = ""  # e.g. "812.4 g", for "weighed twice" messages
    cured: str = ""  # the dry weight once cured, for "cured twice" messages

    @property
    def alive(self) -> bool:
        return self.phase in LIVE_PHASES


@dataclass(frozen=True, slots=True)
class LotInfo:
    name: str
    strain: str
    count: int  # plants still in the lot
    location: str = ""
    created: str = ""  # ISO day this kiosk created the lot ("" when it did not)


@dataclass(frozen=True, slots=True)
class HarvestInfo:
    name: str
    location: str = ""
    strain: str = ""


@dataclass(frozen=True, slots=True)
class Hold:
    """A destroyed plant's waste on hold (see ``agent.workflows.hold``); times in unix ms."""

    tag: str
    since: int
    until: int
    weight: str
    reason: str
    scheduled: str  # the plant.destroyed event that started the hold
    completed: str | None = None  # the plant.destroy_completed event, once made unusable


@dataclass(frozen=True, slots=True)
class ScaleCheck:
    """A scale's last daily check on this kiosk."""

    passed: bool
    why: str  # why it failed, in the worker's words ("" when it passed)
    day: str | None  # the facility's ISO day it was done


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a scan is, as far as this kiosk can tell."""

    kind: ScanKind
    text: str
    tag: str | None = None
    room: Room | None = None
    plant: PlantInfo | None = None
    lot: LotInfo | None = None
    harvest: HarvestInfo | None = None
    message: str = ""  # for not_a_tag: what was expected
    unchecked: str = ""  # what could not be checked offline, in plain words

    def describe(self) -> str:
        return {
            "room": f"room {self.text}",
            "plant": f"plant {self.text}",
            "lot": f"immature lot {self.text}",
            "harvest": f"harvest batch {self.text}",
            "fresh_tag": f"unused plant tag {self.text}",
            "package_tag": f"package tag {self.text}",
            "unknown_tag": f"tag {self.text}",
            "not_a_tag": repr(self.text),
        }[self.kind]
