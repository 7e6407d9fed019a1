"""The floor rules on every supported panel: each flow walked once per panel (tests/ui/walk.py),
each screen measured from the rendered page (tests/ui/rules.py): targets >= 15 mm and 2 mm
apart, the step's primary action and the whole PIN pad on the screen, text >= 16 (status 12)
arcminutes at 70 cm, WCAG AA contrast, and every screen opening at its top."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser

from agent.testing import KioskRig
from kiosk_ui import PANELS, RULES
from tests.ui.pages import open_kiosk
from tests.ui.walk import Walk

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]
SHOTS = Path(os.environ["CANOPY_PANEL_SHOTS"]) if os.environ.get("CANOPY_PANEL_SHOTS") else None
SCREENS = {"signin", "witness", "home", "move", "harvest", "harvest_waste", "cure", "menu", "package_move",
           "package_adjust", "tag", "lot", "destroy", "labels", "count", "receive", "scalecheck", "records",
           "hold"}


@pytest.mark.parametrize("name", list(PANELS))
async def test_every_screen_keeps_the_floor_rules_on_the_panel(
        name: str, tmp_path: Path, browser: Browser) -> None:
    panel = PANELS[name]
    config = {"ui": {"sim_panel": False, "panel": name}}
    async with KioskRig(tmp_path, ui=True, config=config) as kiosk:
        kp = await open_kiosk(browser, kiosk.url, panel)
        # The kiosk tells the page how big a millimetre is on the panel it was configured with.
        mm = await kp.page.evaluate(
            "() => getComputedStyle(document.documentElement).getPropertyValue('--mm')")
        assert float(mm.strip().removesuffix("px")) == pytest.approx(panel.css_px_per_mm, abs=1e-3)
        walk = Walk(kiosk, kp, panel, shots=SHOTS / name if SHOTS else None)
        await walk.everything()
        assert walk.screens() == SCREENS
        problems = walk.problems()
        assert not problems, "\n".join(problems)
        assert walk.smallest_mm() >= RULES.target_mm
        assert not kp.errors
