"""Move plants and the tag rules every plant scan passes (domain.md §2.6 "Valid state ID",
"Correct room/location"), offline against the cached reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, flower_room_1, reference, tag
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
VEG = tag(0, 301)
FRESH = tag(1, 1)
PACKAGE = tag(9, 1)
UNKNOWN = "1A4FF0100000022000008888"


async def moving_to(kiosk: KioskRig, room: str) -> None:
    await kiosk.sign_in()
    await kiosk.act("go", screen="move")
    answer = await kiosk.scan(room)
    assert answer["ok"], answer


async def test_rule_correct_room_scan_the_room_barcode_before_the_plants(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="move")
        first = await kiosk.scan(DEMO_TAG)
        assert not first["ok"] and "room's barcode first" in first["message"]
        assert (await kiosk.act("room", name="Flower Room 2"))["ok"] is False  # never from a touch
        assert (await kiosk.scan("Dry Room"))["message"] == "Room Dry Room does not take plants."
        assert (await kiosk.scan("Flower Room 2"))["ok"]
        moved = [await kiosk.scan(t) for t in flower_room_1()[:3]]
        assert all(m["ok"] for m in moved)
        assert moved[-1]["message"].endswith("3 moved.")
        events = kiosk.events("plant.moved")
        assert [e["data"] for e in events] == [{"tag": t, "location": "Flower Room 2"}
                                               for t in flower_room_1()[:3]]
        assert kiosk.state()["flow"]["count"] == 3


async def test_rule_valid_state_id_unknown_wrong_kind_and_used_tags_refused_with_reason(
        tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await moving_to(kiosk, "Flower Room 2")
        unknown = await kiosk.scan(UNKNOWN)
        assert not unknown["ok"] and "not a plant of this facility" in unknown["message"]
        package = await kiosk.scan(PACKAGE)
        assert not package["ok"] and "package tag" in package["message"]
        fresh = await kiosk.scan(FRESH)
        assert not fresh["ok"] and "not on a plant yet" in fresh["message"]
        misread = await kiosk.scan("1A4FF01")
        assert not misread["ok"] and "expected a Metrc tag (24 letters and digits)" in misread["message"]
        lower = await kiosk.scan(DEMO_TAG.lower())
        assert not lower["ok"]
        assert kiosk.events() == []
        assert kiosk.gpio.buzzer.history[-5:] == ("bad",) * 5


async def test_rule_valid_state_id_format_follows_the_facility_profile(tmp_path: Path) -> None:
    ref = reference()
    ref["profile"] = {**ref["profile"], "system": "biotrack", "tag_format": "biotrack"}
    ref["plants"] = [{"tag": "1234567890123456", "location": "Veg Room", "phase": "Vegetative"}]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await moving_to(kiosk, "Flower Room 2")
        metrc = await kiosk.scan(DEMO_TAG)
        assert not metrc["ok"] and "a BioTrack id (16 digits)" in metrc["message"]
        assert (await kiosk.scan("1234567890123456"))["ok"]


async def test_move_refuses_a_plant_already_in_that_room_and_remembers_moves_offline(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await moving_to(kiosk, "Flower Room 1")
        same = await kiosk.scan(DEMO_TAG)
        assert not same["ok"] and same["message"] == f"Plant {DEMO_TAG} is already in Flower Room 1."
        await kiosk.scan("Flower Room 2")
        assert (await kiosk.scan(DEMO_TAG))["ok"]
        again = await kiosk.scan(DEMO_TAG)  # the cached list still says Flower Room 1
        assert not again["ok"] and "already in Flower Room 2" in again["message"]
        assert kiosk.floor.plant(DEMO_TAG) is not None
        assert kiosk.floor.plant(DEMO_TAG).location == "Flower Room 2"  # type: ignore[union-attr]


async def test_move_of_a_vegetative_plant_into_flowering_changes_its_phase(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await moving_to(kiosk, "Flower Room 2")
        answer = await kiosk.scan(VEG)
        assert answer["ok"] and "now flowering" in answer["message"]
        [event] = kiosk.events("plant.phase_changed")
        assert event["data"] == {"tag": VEG, "phase": "Flowering", "location": "Flower Room 2"}
        await kiosk.scan("Veg Room")
        back = await kiosk.scan(VEG)  # flowering plants may still be moved, as a move
        assert back["ok"] and kiosk.events()[-1]["type"] == "plant.moved"


async def test_move_refuses_destroyed_and_harvested_plants(tmp_path: Path) -> None:
    ref = reference()
    ref["plants"] = [*ref["plants"],
                     {"tag": UNKNOWN, "location": "Flower Room 1", "phase": "Destroyed"}]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await moving_to(kiosk, "Flower Room 2")
        answer = await kiosk.scan(UNKNOWN)
        assert not answer["ok"] and "destroyed" in answer["message"]


async def test_what_cannot_be_checked_offline_is_said_so(tmp_path: Path) -> None:
    ref = reference()
    for name in ("plants", "plant_tags", "package_tags"):
        del ref[name]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await kiosk.sign_in()
        seen = await kiosk.scan(UNKNOWN)  # home screen: saved, and says what was not checked
        assert seen["ok"]
        assert "not received" in (kiosk.kiosk.feedback.detail if kiosk.kiosk.feedback else "")
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        move = await kiosk.scan(UNKNOWN)  # a move needs to know the plant: refused, and why
        assert not move["ok"]
        assert "plant" in (kiosk.kiosk.feedback.detail if kiosk.kiosk.feedback else "")
        assert "plants" in kiosk.floor.ref.summary()["missing"]
