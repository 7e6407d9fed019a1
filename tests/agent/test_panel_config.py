"""`[ui] panel`: a named panel or an explicit size, refused with the names when unknown, and the
page told how big a millimetre of it is (/panel.css)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from agent.config import AgentConfig
from agent.testing import KioskRig
from canopy.config import validate_config
from canopy.errors import ConfigError
from kiosk_ui import PANELS, RULES, Panel

pytestmark = pytest.mark.timeout(60)


def test_a_named_panel_and_an_explicit_size() -> None:
    named = validate_config(AgentConfig, {"ui": {"panel": "touch-display"}}, "test")
    assert named.ui.panel_spec == PANELS["touch-display"]
    size = {"width": 1024, "height": 600, "px_per_mm": 6.0}
    explicit = validate_config(AgentConfig, {"ui": {"panel": size}}, "test")
    assert (explicit.ui.panel_spec.width, explicit.ui.panel_spec.height) == (1024, 600)
    assert explicit.ui.panel_spec.css().endswith(":root { --mm: 6.0000px; }\n")


def test_an_unknown_panel_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(AgentConfig, {"ui": {"panel": "touch-display-3"}}, "test")
    message = str(caught.value)
    assert "unknown panel 'touch-display-3'" in message
    assert all(name in message for name in PANELS)


def test_the_rules_arithmetic() -> None:
    # 16 arcminutes at 70 cm is 3.26 mm of cap height, 12 is 2.44 mm.
    assert RULES.cap_height_mm(16) == pytest.approx(3.258, abs=1e-3)
    assert RULES.cap_height_mm(12) == pytest.approx(2.443, abs=1e-3)
    assert Panel(720, 1280, 8.2, scale=2.0).css_px_per_mm == pytest.approx(4.1)
    assert Panel(720, 1280, 8.2, scale=2.0).chromium_flags().startswith("--force-device-scale-factor=2 ")


async def test_the_page_is_told_the_millimetre_of_its_panel(tmp_path: Path) -> None:
    rig = KioskRig(tmp_path, ui=True, config={"ui": {"panel": "touch-display"}})
    async with rig as kiosk, aiohttp.ClientSession() as http, http.get(f"{kiosk.url}panel.css") as response:
        assert response.status == 200
        assert response.content_type == "text/css"
        assert ":root { --mm: 5.2000px; }" in await response.text()
