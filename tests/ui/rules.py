"""The floor rules, measured on the rendered page (kiosk_ui.panels.RULES): one checker, called on
every screen a panel test visits.

    report = await measure(page, panel)     # what the page shows now, in millimetres of the panel
    assert not report.broken(), report.broken()

Everything is taken from the browser: target sizes and gaps from ``getBoundingClientRect``
divided by the panel's CSS pixels per millimetre; cap heights from the rendered font (canvas
``actualBoundingBoxAscent`` of "H" in the element's computed font); contrast from the computed
text colour over the element's computed background (its own or the nearest ancestor's,
blended where translucent); the primary actions from the element hit at their centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from kiosk_ui import RULES, Panel

# What a worker taps. The simulator panel is the demo's, never on a floor panel.
TARGETS = "#app button, #app ul.records li, #app input, #app select, #app a[href]"
# What must be on the screen without scrolling: each step's primary action, the whole PIN
# pad, the home tiles, the live weight, the label preview, Sign out and every status pill, and
# (on scan-only steps, whose action is the scanner) the instruction.
PRIMARY = ("#screen button.primary, #screen button[data-testid=save], #screen button[data-testid=complete],"
           " [data-testid=pin-pad] button, #screen [data-testid^=tile-], #screen [data-testid=step],"
           " #screen [data-testid=weight], #screen [data-testid=preview], #status [data-testid=signout],"
           " #status .pill")
STATUS_TEXT = "#status, .chip"  # held to 12 arcminutes; everything else is body text (16)

_MEASURE = (Path(__file__).parent / "rules.js").read_text()


@dataclass
class Report:
    panel: Panel
    raw: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def screen(self) -> str:
        return str(self.raw["screen"])

    @property
    def smallest_target_mm(self) -> float:
        mm = self.panel.css_px_per_mm
        sizes = [min(t["w"], t["h"]) / mm for t in self.raw["targets"]]
        return round(min(sizes), 2) if sizes else math.inf

    def broken(self) -> list[str]:
        return self.problems


async def measure(page: Page, panel: Panel) -> Report:
    """Every rule on what ``page`` shows now; ``Report.broken()`` lists what fails, by name."""
    raw = await page.evaluate(_MEASURE, [TARGETS, PRIMARY, STATUS_TEXT])
    mm = panel.css_px_per_mm
    report = Report(panel, raw)
    where = f"{raw['screen']} at {panel.width}x{panel.height}"
    out = report.problems
    for t in raw["targets"]:
        w, h = t["w"] / mm, t["h"] / mm
        if min(w, h) < RULES.target_mm:
            out.append(f"{where}: target {t['label']} is {w:.1f} x {h:.1f} mm"
                       f" (< {RULES.target_mm} mm)")
    for p in raw["pairs"]:
        if p["px"] / mm < RULES.gap_mm:
            out.append(f"{where}: {p['a']} and {p['b']} are {p['px'] / mm:.1f} mm apart"
                       f" (< {RULES.gap_mm} mm)")
    for p in raw["primary"]:
        if not p["shown"]:
            out.append(f"{where}: {p['label']} is not on the screen without scrolling")
    body, status = RULES.cap_height_mm(RULES.body_arcmin), RULES.cap_height_mm(RULES.status_arcmin)
    for t in raw["texts"]:
        need = status if t["status"] else body
        if t["cap"] / mm < need - 0.005:
            out.append(f"{where}: text {t['label']} has a cap height of {t['cap'] / mm:.2f} mm"
                       f" (< {need:.2f})")
        if t["contrast"] < RULES.contrast:
            out.append(f"{where}: text {t['label']} has contrast {t['contrast']:.2f}:1"
                       f" (< {RULES.contrast}:1)")
        if t["font"].strip('"') not in ("DejaVu Sans", "DejaVu Sans Mono"):
            out.append(f"{where}: text {t['label']} is not in the kiosk's font ({t['font']})")
    if raw["overflowX"] > 1:
        out.append(f"{where}: the task area is {raw['overflowX'] / mm:.1f} mm wider than the panel")
    return report


async def scroll_down(page: Page) -> None:
    """Scroll the task area as far as it goes, as a worker who looked at the bottom of a list."""
    await page.evaluate("() => { const m = document.getElementById('screen');"
                        " m.scrollTop = m.scrollHeight; }")


async def scroll_top(page: Page) -> float:
    return float(await page.evaluate(
        "() => document.getElementById('screen').scrollTop + document.scrollingElement.scrollTop"))
