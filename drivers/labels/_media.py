"""Label media: the printable area of a roll, in printer dots.

Everything is drawn at the printer's true resolution, so a medium is a size in
dots plus the dpi it was measured at. Brother rolls use the printable-dot figures
from brother_ql's label table (300 dpi); a test keeps the two tables in step.
Other media (Zebra rolls, any dpi) are given as ``"WIDTHxLENGTH"`` in mm or inches.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from drivers.labels._errors import LabelError

MM_PER_INCH = 25.4
# Endless labels are at least this long: the QL-1100 family refuses labels under 301 dots.
MIN_ENDLESS_MM = 26.0


@dataclass(frozen=True, slots=True)
class Media:
    """A roll or sheet of labels as the print head sees it.

    ``width`` runs across the print head; ``length`` along the feed, or ``None`` for
    endless tape, where the label is as long as its content needs.
    """

    name: str
    width: int
    length: int | None
    dpi: int = 300
    brother_label: str | None = None

    @property
    def endless(self) -> bool:
        return self.length is None

    def dots(self, mm: float) -> int:
        """The nearest whole number of dots for a distance in mm (at least one)."""
        return max(1, round(mm * self.dpi / MM_PER_INCH))

    def mm(self, dots: int) -> float:
        return dots * MM_PER_INCH / self.dpi

    def describe(self) -> str:
        if self.brother_label is not None:  # people know Brother rolls by their name
            kind = "endless" if self.length is None else "die-cut"
            return f"Brother {self.brother_label} mm {kind}"
        size = f"{self.mm(self.width):.0f} mm"
        if self.length is None:
            return f"{size} endless ({self.dpi} dpi)"
        return f"{size} x {self.mm(self.length):.0f} mm ({self.dpi} dpi)"


def _brother(name: str, width: int, length: int | None = None) -> Media:
    return Media(name=name, width=width, length=length, dpi=300, brother_label=name)


# Printable dots at 300 dpi, as brother_ql_next's LabelsManager lists them.
BROTHER_MEDIA: dict[str, Media] = {
    m.name: m
    for m in (
        _brother("29", 306),
        _brother("38", 413),
        _brother("50", 554),
        _brother("54", 590),
        _brother("62", 696),
        _brother("29x42", 306, 425),
        _brother("29x90", 306, 991),
        _brother("39x90", 413, 991),
        _brother("62x29", 696, 271),
        _brother("62x100", 696, 1109),
    )
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:x\s*(\d+(?:\.\d+)?))?\s*(mm|in)?\s*$", re.IGNORECASE)


def get_media(name: str, *, dpi: int = 300) -> Media:
    """A Brother roll (``"62"``, ``"29x90"``) or a size (``"50.8x25.4"``, ``"2x1in"``).

    A Brother name is only taken from the Brother table at 300 dpi; at another dpi
    (a Zebra) the same text is read as a size in mm. A size without a length is
    endless (continuous) media.
    """
    if dpi < 100 or dpi > 1200:
        raise LabelError(f"unsupported printer resolution {dpi} dpi")
    if dpi == 300 and name in BROTHER_MEDIA:
        return BROTHER_MEDIA[name]
    match = _SIZE.match(name)
    if match is None:
        known = ", ".join(BROTHER_MEDIA)
        raise LabelError(f"unknown label media {name!r} (Brother rolls: {known}; or WxL in mm)")
    per_unit = MM_PER_INCH if (match.group(3) or "mm").lower() == "in" else 1.0
    width_mm = float(match.group(1)) * per_unit
    length_mm = float(match.group(2)) * per_unit if match.group(2) else None
    # Floor, not round: a graphic one dot wider than the head prints nothing of that dot.
    width = math.floor(width_mm * dpi / MM_PER_INCH)
    length = math.floor(length_mm * dpi / MM_PER_INCH) if length_mm is not None else None
    if width < 100 or (length is not None and length < 100):
        raise LabelError(f"label media {name!r} is too small to carry a barcode")
    return Media(name=name, width=width, length=length, dpi=dpi)
