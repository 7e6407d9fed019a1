"""Each red message says what to do next (issue 13, item 3): an unknown tag, a package tag
not on a package yet, an extra plant in a room count, a printer problem (every kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import flower_room_1, tag
from agent.testing import KioskRig
from agent.workflows.labels import PRINTER_NEXT, printer_next_step
from drivers.printer import PrinterFault

pytestmark = pytest.mark.timeout(90)
UNKNOWN = "1A4FF0100000022000008888"
UNUSED_PACKAGE_TAG = tag(9, 1)


async def test_refusals_on_the_floor_say_what_to_do_next(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        unknown = await kiosk.scan(UNKNOWN)
        assert not unknown["ok"]
        assert unknown["message"].startswith(f"Unknown tag {UNKNOWN}: not a plant of this facility. Check")
        assert "tell a supervisor" in unknown["message"]
        await kiosk.act("go", screen="package_move")
        await kiosk.scan("Vault")
        unused = await kiosk.scan(UNUSED_PACKAGE_TAG)
        assert not unused["ok"] and "Scan the label of a package that exists" in unused["message"]
        await kiosk.act("go", screen="count")
        await kiosk.scan("Flower Room 2")
        extra = await kiosk.scan(flower_room_1()[0])
        assert not extra["ok"]
        assert (f"Extra {flower_room_1()[0]}, listed in Flower Room 1. Keep counting; then move it here"
                " (Move plants) or take it back.") in extra["message"]


def test_every_printer_problem_has_a_next_step() -> None:
    assert set(PRINTER_NEXT) == set(PrinterFault)
    assert printer_next_step("printer out of labels") == (
        "Load a new roll of labels and close the cover, then tap Print again.")
    assert printer_next_step("something new").endswith("then tap Print again.")
