"""Packages on the floor: move them into a room that holds packages (room barcode first, as
for plants), and re-weigh one to adjust it with the state's reason (domain.md §2.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, SCALE_ID, reference, tag
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
PACKAGES = [tag(8, n) for n in range(1, 5)]  # packages: on no list the kiosk has
UNUSED_PACKAGE_TAG = tag(9, 1)
UNUSED_PLANT_TAG = tag(1, 1)


async def test_move_packages_room_first_then_tags_with_a_running_count(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="packages")
        assert kiosk.state()["screen"] == "menu"
        assert [c["screen"] for c in kiosk.state()["flow"]["choices"]] == \
            ["package_new", "package_move", "package_adjust"]
        await kiosk.act("go", screen="package_move")
        first = await kiosk.scan(PACKAGES[0])
        assert not first["ok"] and "room's barcode first" in first["message"]
        plants_only = await kiosk.scan("Flower Room 1")
        assert not plants_only["ok"] and plants_only["message"] == \
            "Room Flower Room 1 holds plants only: packages cannot go there."
        assert (await kiosk.scan("Vault"))["ok"]
        for n, package in enumerate(PACKAGES, start=1):
            moved = await kiosk.scan(package)
            assert moved["ok"] and moved["message"] == f"Moved package {package} to Vault. {n} moved."
        assert not (await kiosk.scan(PACKAGES[1]))["ok"]  # already moved in this round
        events = kiosk.events("package.moved")
        assert [(e["data"]["tag"], e["data"]["location"]) for e in events] == [(p, "Vault") for p in PACKAGES]
        assert kiosk.state()["flow"]["count"] == 4


@pytest.mark.parametrize(("code", "says"), [
    pytest.param(DEMO_TAG, f"{DEMO_TAG} is a plant tag (plant {DEMO_TAG})", id="plant"),
    pytest.param(UNUSED_PLANT_TAG, f"{UNUSED_PLANT_TAG} is a plant tag (unused)", id="unused-plant-tag"),
    pytest.param(UNUSED_PACKAGE_TAG, "is not on a package yet", id="unused-package-tag"),
    pytest.param("BD-CLONES-0601", "immature lot BD-CLONES-0601, not a package tag", id="lot"),
    pytest.param("12-AB", "Not a package tag: scanned '12-AB'", id="not-a-tag"),
])
async def test_move_packages_refuses_what_is_not_a_package_with_the_reason(
        tmp_path: Path, code: str, says: str) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="package_move")
        await kiosk.scan("Vault")
        refused = await kiosk.scan(code)
        assert not refused["ok"] and says in refused["message"], refused
        adjust = await kiosk.act("go", screen="package_adjust")
        assert adjust["ok"]
        assert not (await kiosk.scan(code))["ok"]
        assert kiosk.events("package.moved") == []


async def test_move_packages_says_what_it_could_not_check_offline(tmp_path: Path) -> None:
    ref = reference()
    del ref["plants"]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="package_move")
        await kiosk.scan("Vault")
        moved = await kiosk.scan(PACKAGES[0])
        feedback = kiosk.kiosk.feedback
        assert moved["ok"] and feedback is not None
        assert feedback.detail == "Not checked: this kiosk has not received the plant list yet."


async def test_adjust_a_package_new_total_from_the_scale_reason_and_note_from_lists(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="package_adjust")
        assert not (await kiosk.act("save"))["ok"]
        assert (await kiosk.scan(PACKAGES[0]))["ok"]
        taken = await kiosk.weigh("452.8")
        assert taken is not None and taken["message"] == "New total 452.8 g."
        assert not (await kiosk.act("reason", name="Because"))["ok"]
        await kiosk.act("reason", name="Entry Error")  # needs a note
        needs_note = await kiosk.act("save")
        assert not needs_note["ok"] and "choose a note" in needs_note["message"]
        assert kiosk.state()["flow"]["notes"][0] == "Moisture loss"
        assert not (await kiosk.act("note", note="typed by hand"))["ok"]
        await kiosk.act("note", note="Entered wrong at packaging")
        saved = await kiosk.act("confirm")
        assert saved["ok"], saved
        assert saved["message"] == f"Saved: package {PACKAGES[0]} is now 452.8 g (Entry Error)."
        [event] = kiosk.events("package.adjusted")
        data = event["data"]
        assert (data["tag"], data["reason"], data["note"]) == (PACKAGES[0], "Entry Error",
                                                              "Entered wrong at packaging")
        assert (data["quantity"]["value"], data["quantity"]["unit"], data["quantity"]["scale_id"]) == \
            ("452.8", "g", SCALE_ID)
        # The next package needs its own load: the one still on the scale was logged.
        await kiosk.scan(PACKAGES[1])
        await kiosk.act("reason", name="Drying")
        assert not (await kiosk.act("save"))["ok"]
        await kiosk.empty_scale()
        await kiosk.weigh("300.1")
        assert (await kiosk.act("save"))["ok"]
        notes = [e["data"]["note"] for e in kiosk.events("package.adjusted")]
        assert notes == ["Entered wrong at packaging", ""]


async def test_adjust_reasons_never_received_cannot_be_checked_offline(tmp_path: Path) -> None:
    ref = reference()
    del ref["adjust_reasons"]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="package_adjust")
        await kiosk.scan(PACKAGES[0])
        await kiosk.weigh("452.8")
        guessed = await kiosk.act("reason", name="Drying")
        assert not guessed["ok"] and "cannot be checked offline" in guessed["message"]
        refused = await kiosk.act("save")
        assert not refused["ok"] and "never received them" in refused["message"]
        assert kiosk.events("package.adjusted") == []
