"""Sizes of the robust layout in one place, free of Pillow and zxing.

The config check (``_fit``) runs when the kiosk starts and must not load the
imaging libraries; the renderer (``_layout``) draws with the same numbers.

Module sizes are chosen so every symbol survives a worn printer (three dead
head dots, one dot of gain, read at 203 dpi, 2 degrees of rotation; simulated
by ``drivers/labels/testing.py``, measured by ``bench/labels.py``): Code 128 at
least 0.33 mm (4 dots at 300 dpi, 3 at 203: 3-dot bars at 300 dpi read at
203 dpi, and 2-dot bars at 203 dpi after one dot of gain, fail zbar and zxing),
2D cells at least 0.5 mm (6 dots at 300 dpi, 4 at 203).
"""

from __future__ import annotations

from drivers.labels._media import MIN_ENDLESS_MM, Media

QUIET_CODE128 = 10  # modules each side; ISO/IEC 15417 asks for 10X
MARGIN_MM = 1.0
BAR_MM = 0.33
MIN_BAR_DOTS = 3
CELL_MM = 0.5
MIN_CELL_DOTS = 4
# Narrowest printable width across the head the layout (headline, bars, UID line)
# was checked on: Brother 29 mm tape, 306 dots at 300 dpi.
MIN_ACROSS_MM = 25.9


def module_dots(media: Media, mm: float, least: int) -> int:
    """Whole dots per module: ``mm`` at the media's dpi, never fewer than ``least``."""
    return max(least, round(mm * media.dpi / 25.4))


def bar_dots(media: Media) -> int:
    return module_dots(media, BAR_MM, MIN_BAR_DOTS)


def code128_length(modules: int, media: Media) -> int:
    """Dots along the tape a Code 128 of ``modules`` needs, quiet zones and margins included."""
    bars = (modules + 2 * QUIET_CODE128) * bar_dots(media)
    return max(bars + 2 * media.dots(MARGIN_MM), media.dots(MIN_ENDLESS_MM))
