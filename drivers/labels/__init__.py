"""Label rendering: label kinds as data, drawn pixel-exact for a printer's roll.

>>> from drivers.labels import PlantTag, get_media, render
>>> image = render(PlantTag(uid="1A4FF0100000022000000123", strain="Blue Dream"), get_media("62"))
>>> image.width
696
"""

from drivers.labels._errors import LabelError
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
from drivers.labels._layout import render
from drivers.labels._media import BROTHER_MEDIA, Media, get_media

__all__ = [
    "BROTHER_MEDIA",
    "SYMBOLS",
    "HarvestBatchTag",
    "ImmatureLot",
    "Label",
    "LabelBase",
    "LabelError",
    "LocationTag",
    "Media",
    "PackageTag",
    "PlantTag",
    "Symbol",
    "WasteHold",
    "get_media",
    "render",
]
