"""Label rendering: label kinds as data, drawn pixel-exact for a printer's roll.

>>> from drivers.labels import PlantTag, get_media, render
>>> image = render(PlantTag(uid="1A4FF0100000022000000123", strain="Blue Dream"), get_media("62"))
>>> image.width
696
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.labels._errors import LabelError
from drivers.labels._fit import (
    LABEL_KINDS,
    WORST_METRC_TAG,
    ZEBRA_ROLLS,
    LabelKind,
    check_roll,
    sample_label,
    smallest_roll,
)
from drivers.labels._kinds import (
    SYMBOLS,
    HarvestBatchTag,
    ImmatureLot,
    Label,
    LabelBase,
    LocationTag,
    PackageTag,
    PlantTag,
    Symbol,
    WasteHold,
)
from drivers.labels._media import BROTHER_MEDIA, MIN_ENDLESS_MM, Media, get_media

if TYPE_CHECKING:
    from PIL import Image


def render(label: LabelBase, media: Media, *, fragile_twin: bool = False) -> Image.Image:
    """Draw ``label`` for ``media`` (see ``_layout.render``).

    Pillow and the barcode checker load here, on the first label, not when the
    kiosk starts: a kiosk that never prints keeps ~8 MB less resident.
    """
    from drivers.labels._layout import render as _render

    return _render(label, media, fragile_twin=fragile_twin)


__all__ = [
    "BROTHER_MEDIA",
    "LABEL_KINDS",
    "MIN_ENDLESS_MM",
    "SYMBOLS",
    "WORST_METRC_TAG",
    "ZEBRA_ROLLS",
    "HarvestBatchTag",
    "ImmatureLot",
    "Label",
    "LabelBase",
    "LabelError",
    "LabelKind",
    "LocationTag",
    "Media",
    "PackageTag",
    "PlantTag",
    "Symbol",
    "WasteHold",
    "check_roll",
    "get_media",
    "render",
    "sample_label",
    "smallest_roll",
]
