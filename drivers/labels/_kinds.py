"""What goes on a label, as plain data: one frozen dataclass per kind of label.

These are layouts of text, not the domain model: the agent fills them from its own
records. Every kind carries ``uid`` (the barcode content, a Metrc tag or a BioTrack
id) and ``symbol``: Code 128 is always printed, because every 1D scanner and the
state's own tags use it; ``"datamatrix"`` or ``"qr"`` adds a 2D twin of the same UID.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

from drivers.labels._errors import LabelError

Symbol: TypeAlias = Literal["code128", "datamatrix", "qr"]
SYMBOLS: tuple[Symbol, ...] = ("code128", "datamatrix", "qr")

# Code 128 carries ASCII; printable characters only, so the human-readable line
# shows exactly what the scanner will type.
_MAX_UID = 48


def _day(value: dt.date | None) -> str:
    # ISO dates: no month/day ambiguity between states or workers.
    return value.isoformat() if value is not None else ""


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelBase:
    """Fields every label has. Subclasses add their text and a ``title``."""

    title: ClassVar[str] = "LABEL"

    uid: str
    symbol: Symbol = "code128"

    def __post_init__(self) -> None:
        uid = self.uid
        if not uid or len(uid) > _MAX_UID:
            raise LabelError(f"label UID must be 1 to {_MAX_UID} characters, got {len(uid)}")
        if uid != uid.strip() or not all(" " <= ch <= "~" for ch in uid):
            raise LabelError(f"label UID {uid!r} must be printable ASCII without outer spaces")
        if self.symbol not in SYMBOLS:
            raise LabelError(f"unknown symbol {self.symbol!r}; choose one of {', '.join(SYMBOLS)}")

    def headline(self) -> str:
        """The one line a worker reads first (strain, room name, item)."""
        raise NotImplementedError

    def details(self) -> tuple[str, ...]:
        """Smaller lines under the barcode; empty ones are skipped."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True, slots=True)
class PlantTag(LabelBase):
    title: ClassVar[str] = "PLANT"

    strain: str
    room: str = ""
    planted: dt.date | None = None

    def headline(self) -> str:
        return self.strain

    def details(self) -> tuple[str, ...]:
        return (
            f"Room {self.room}" if self.room else "",
            f"Planted {_day(self.planted)}" if self.planted else "",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ImmatureLot(LabelBase):
    title: ClassVar[str] = "IMMATURE LOT"

    strain: str
    count: int
    created: dt.date

    def __post_init__(self) -> None:
        LabelBase.__post_init__(self)
        if self.count < 0:
            raise LabelError(f"plant count cannot be negative ({self.count})")

    def headline(self) -> str:
        return self.strain

    def details(self) -> tuple[str, ...]:
        plants = "plant" if self.count == 1 else "plants"
        return (f"{self.count} {plants}", f"Created {_day(self.created)}")


@dataclass(frozen=True, kw_only=True, slots=True)
class LocationTag(LabelBase):
    """A room, table or shelf; ``uid`` is the location's code."""

    title: ClassVar[str] = "LOCATION"

    name: str
    area: str = ""

    def headline(self) -> str:
        return self.name

    def details(self) -> tuple[str, ...]:
        return (self.area,)


@dataclass(frozen=True, kw_only=True, slots=True)
class HarvestBatchTag(LabelBase):
    title: ClassVar[str] = "HARVEST"

    name: str
    strain: str
    harvested: dt.date
    weight: str = ""  # decimal text with unit, e.g. "12.40 kg wet"; never a float

    def headline(self) -> str:
        return self.name

    def details(self) -> tuple[str, ...]:
        return (self.strain, f"Harvested {_day(self.harvested)}", self.weight)


@dataclass(frozen=True, kw_only=True, slots=True)
class PackageTag(LabelBase):
    title: ClassVar[str] = "PACKAGE"

    item: str
    quantity: str  # decimal text with unit, e.g. "28.00 g"
    packaged: dt.date | None = None
    source: str = ""  # the harvest batch or package it came from

    def headline(self) -> str:
        return self.item

    def details(self) -> tuple[str, ...]:
        return (
            self.quantity,
            f"Packed {_day(self.packaged)}" if self.packaged else "",
            f"From {self.source}" if self.source else "",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class WasteHold(LabelBase):
    """Destroyed plant waste held before it may be made unusable (NM: 72 hours);
    ``uid`` is the plant's tag. Times are facility-local text, e.g. "2026-05-20 14:05"."""

    title: ClassVar[str] = "WASTE HOLD"

    until: str
    weight: str  # decimal text with unit; never a float
    reason: str
    since: str = ""

    def headline(self) -> str:
        return f"Until {self.until}"

    def details(self) -> tuple[str, ...]:
        return (f"{self.weight} - {self.reason}", f"Destroyed {self.since}" if self.since else "",
                "Do not move or mix")


Label: TypeAlias = PlantTag | ImmatureLot | LocationTag | HarvestBatchTag | PackageTag | WasteHold
