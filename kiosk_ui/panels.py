"""The touch panels a kiosk may have, and the sizes the page is laid out in.

    panel = PANELS["touch-display"]            # or Panel(width=…, height=…, px_per_mm=…)
    panel.css()                                # ":root { --mm: 5.2px; … }" for the page
    panel.chromium_flags()                     # how the kiosk browser unit starts Chromium

The page sizes everything in millimetres of the glass (``--mm``, CSS pixels per
millimetre, served as ``/panel.css``), so a gloved finger gets the same 15 mm
target on a 7" 800×480 panel as on a 10" one. The rules every screen is held to
are declared here once (``RULES``) and checked in the browser tests.

Text sizes. Legibility standards (ISO 9241-303, ANSI/HFES 100) give a character's
height, meaning the height of a capital letter, as the angle it subtends at the
eye: at least 16 minutes of arc for body text (20-22 preferred), and we allow 12
for the status bar. At the 70 cm a worker stands from the panel, 16' is
700 mm x tan(16') = 3.26 mm of cap height and 12' is 2.44 mm. DejaVu Sans, the
kiosk's font, has a cap height of 0.729 em, so body text is at least
3.26 / 0.729 = 4.47 mm of font size (23 px on the 7" Touch Display, 37 px on
Touch Display 2) and status text at least 3.35 mm. The tests measure the cap
height of the rendered font (canvas ``actualBoundingBoxAscent`` of "H"), not the
font size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Panel:
    """A panel in its device pixels, as mounted (portrait panels are taller than wide)."""

    width: int
    height: int
    px_per_mm: float
    title: str = ""
    # Device pixels per CSS pixel that Chromium is started with: 1 keeps the page's
    # pixels the panel's, whatever the display reports about itself.
    scale: float = 1.0

    @property
    def css_width(self) -> int:
        return round(self.width / self.scale)

    @property
    def css_height(self) -> int:
        return round(self.height / self.scale)

    @property
    def css_px_per_mm(self) -> float:
        return self.px_per_mm / self.scale

    @property
    def size_mm(self) -> tuple[float, float]:
        return (round(self.width / self.px_per_mm, 1), round(self.height / self.px_per_mm, 1))

    def css(self) -> str:
        """The stylesheet that tells the page how big a millimetre is on this panel."""
        return (f"/* {self.title or 'panel'}: {self.width}x{self.height}, {self.px_per_mm} px/mm */\n"
                f":root {{ --mm: {self.css_px_per_mm:.4f}px; }}\n")

    def chromium_flags(self) -> str:
        return (f"--force-device-scale-factor={self.scale:g}"
                f" --window-size={self.css_width},{self.css_height} --window-position=0,0")


# Declared once: the names `[ui] panel` takes.
PANELS: Final[dict[str, Panel]] = {
    "touch-display": Panel(800, 480, 5.2, "Raspberry Pi Touch Display, 7\""),
    "touch-display-2-portrait": Panel(720, 1280, 8.2, "Raspberry Pi Touch Display 2, 7\", portrait"),
    "touch-display-2-landscape": Panel(1280, 720, 8.2, "Raspberry Pi Touch Display 2, 7\", landscape"),
    "generic-1280x800": Panel(1280, 800, 5.9, "a 10.1\" 1280x800 panel"),
}
DEFAULT_PANEL: Final = "generic-1280x800"


@dataclass(frozen=True)
class Rules:
    """What every screen on every panel is held to (the browser tests check each one)."""

    target_mm: float = 15.0  # a gloved fingertip
    gap_mm: float = 2.0  # between two targets
    viewing_mm: float = 700.0  # arm's length
    body_arcmin: float = 16.0
    status_arcmin: float = 12.0
    contrast: float = 4.5  # WCAG 2 AA, normal text

    def cap_height_mm(self, arcmin: float) -> float:
        return self.viewing_mm * math.tan(math.radians(arcmin / 60))


RULES: Final = Rules()
