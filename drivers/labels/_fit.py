"""Which label kinds a roll can carry readably: checked once, when the printer is configured.

A kind fits a roll when its worst realistic label fits the robust layout
(Code 128 along the tape, 0.33 mm bars; see ``_geometry``), worked out from
sizes alone: the kiosk checks its config without loading Pillow. For the
tag-carrying kinds that is a 24-character Metrc tag of the issued shape whose
Code 128 is longest: ``1A4`` + six hex facility characters that are all letters
(no digit pairs for subset C) + a 15-digit sequence, 233 modules. For rooms, a
12-character location code. A roll that cannot carry a kind is refused for that
kind with the smallest roll (of the same printer family and dpi) that can.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeAlias

from drivers.labels._errors import LabelError
from drivers.labels._geometry import MIN_ACROSS_MM, code128_length
from drivers.labels._kinds import (
    HarvestBatchTag,
    ImmatureLot,
    Label,
    LocationTag,
    PackageTag,
    PlantTag,
    WasteHold,
)
from drivers.labels._media import BROTHER_MEDIA, Media, get_media

LabelKind: TypeAlias = Literal["plant", "lot", "location", "harvest", "package", "hold"]
LABEL_KINDS: tuple[LabelKind, ...] = ("plant", "lot", "location", "harvest", "package", "hold")

WORST_METRC_TAG = "1A4ABCDEF000000000000001"
WORST_LOCATION = "ROOM-FLOWR02"

# Common Zebra direct-thermal sizes, width (across the head) x length, inches;
# a size without a length is continuous media.
ZEBRA_ROLLS: tuple[str, ...] = (
    "2x1in", "2.25x1.25in", "3x1in", "3x2in", "4x2in", "4x3in", "2.25x4in",
    "3x5in", "4x4in", "4x6in", "2in", "3in", "4in",
)  # fmt: skip


def sample_label(kind: LabelKind, uid: str | None = None) -> Label:
    """A label of ``kind`` with long, realistic text; ``uid`` defaults to the worst case."""
    day = dt.date(2026, 3, 14)
    tag = uid or WORST_METRC_TAG
    if kind == "plant":
        return PlantTag(uid=tag, strain="Blue Dream", room="Flower 2", planted=day)
    if kind == "lot":
        return ImmatureLot(uid=tag, strain="Gelato #33", count=24, created=day)
    if kind == "location":
        return LocationTag(uid=uid or WORST_LOCATION, name="Flower Room 2", area="Row C, shelf 3")
    if kind == "harvest":
        return HarvestBatchTag(uid=tag, name="2026-03-14 Blue Dream F2", strain="Blue Dream",
                               harvested=day, weight="12.40 kg wet")  # fmt: skip
    if kind == "package":
        return PackageTag(uid=tag, item="Blue Dream Flower", quantity="28.00 g", packaged=day,
                          source="1A4FF0100000022000000007")  # fmt: skip
    return WasteHold(uid=tag, until="2026-03-17 14:05", weight="250.0 g", reason="Contamination",
                     since="2026-03-14 14:05")  # fmt: skip


# Code 128 modules (start to stop) of the sample UIDs; a test checks them against zxing.
WORST_METRC_MODULES = 233
WORST_LOCATION_MODULES = 167


def _needed_length(kind: LabelKind, media: Media) -> int:
    modules = WORST_LOCATION_MODULES if kind == "location" else WORST_METRC_MODULES
    return code128_length(modules, media)


def _fits(media: Media, kind: LabelKind) -> bool:
    if media.width < media.dots(MIN_ACROSS_MM):
        return False
    return media.length is None or media.length >= _needed_length(kind, media)


def _size(media: Media, kind: LabelKind) -> int:
    """Label area in square dots; on endless media as long as this kind's label gets."""
    return media.width * (media.length or _needed_length(kind, media))


def _rolls_like(media: Media) -> list[Media]:
    if media.brother_label is not None:
        return list(BROTHER_MEDIA.values())
    return [get_media(name, dpi=media.dpi) for name in ZEBRA_ROLLS]


def smallest_roll(media: Media, kind: LabelKind, allowed: tuple[str, ...] | None = None) -> Media | None:
    """The smallest roll of ``media``'s family and dpi that carries ``kind``, among ``allowed``."""
    rolls = [m for m in _rolls_like(media) if allowed is None or m.name in allowed]
    fitting = [m for m in rolls if _fits(m, kind)]
    return min(fitting, key=lambda m: _size(m, kind)) if fitting else None


def check_roll(media: Media, kinds: tuple[LabelKind, ...] = LABEL_KINDS,
               allowed: tuple[str, ...] | None = None) -> None:  # fmt: skip
    """Raise ``LabelError`` naming each kind ``media`` cannot carry readably and the roll to use."""
    by_roll: dict[str, list[str]] = {}
    for kind in kinds:
        if not _fits(media, kind):
            better = smallest_roll(media, kind, allowed)
            instead = f"need {_name(better)} or larger" if better else "fit no known roll"
            by_roll.setdefault(instead, []).append(kind)
    if by_roll:
        problems = "; ".join(f"{', '.join(names)} labels {instead}" for instead, names in by_roll.items())
        raise LabelError(
            f"{media.describe()} media is too small for labels that still scan on a worn printer: "
            f"{problems}. Load a larger roll, or list only the label kinds this printer prints "
            "in its `labels` setting"
        )


def _name(media: Media) -> str:
    return f'media = "{media.name}" ({media.describe()})'
