"""Destroy / waste (domain.md §2.6 "Waste record"): reason and method from the state's lists,
the weight from a registered scale, the employee, and a witness where the profile wants one."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, SCALE_ID, WORKERS, reference
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
DANA, SAM, _ = WORKERS


async def destroying(kiosk: KioskRig, subject: str) -> None:
    await kiosk.sign_in(SAM)
    await kiosk.act("go", screen="destroy")
    assert (await kiosk.scan(subject))["ok"]


async def test_rule_waste_record_fields_come_from_the_state_lists_and_the_scale(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref={**reference(), "profile": {
            **reference()["profile"], "witness_required_for_waste": False}}) as kiosk:
        await destroying(kiosk, DEMO_TAG)
        early = await kiosk.act("save")
        assert not early["ok"] and "choose a reason" in early["message"]
        assert not (await kiosk.act("reason", name="Because"))["ok"]  # not on the state's list
        assert not (await kiosk.act("method", name="Burn it"))["ok"]
        await kiosk.act("reason", name="Contamination")
        await kiosk.act("method", name="Grinder")
        await kiosk.act("material", name="Soil")
        still = await kiosk.act("save")
        assert not still["ok"] and "weigh the waste" in still["message"]
        taken = await kiosk.weigh("412.0")
        assert taken is not None and "412.0 g" in taken["message"]
        saved = await kiosk.act("save")
        assert saved["ok"], saved
        [event] = kiosk.events("plant.destroyed")
        assert event["user"] == SAM.id and "witness" not in event
        data = event["data"]
        assert data["tag"] == DEMO_TAG
        assert (data["reason"], data["method"], data["material_mixed"]) == \
            ("Contamination", "Grinder", "Soil")
        assert data["weight"]["value"] == "412.0" and data["weight"]["scale_id"] == SCALE_ID
        assert data["weight"]["raw"].startswith("S S")
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        gone = await kiosk.scan(DEMO_TAG)
        assert not gone["ok"] and "destroyed" in gone["message"]


async def test_rule_waste_record_witness_signs_in_where_the_profile_requires(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:  # the demo profile wants a witness
        await destroying(kiosk, DEMO_TAG)
        await kiosk.act("reason", name="Pest Infestation")
        await kiosk.act("method", name="Compost")
        await kiosk.weigh("300.5")
        blocked = await kiosk.act("save")
        assert not blocked["ok"] and "a witness signs in" in blocked["message"]
        assert kiosk.events("plant.destroyed") == []
        await kiosk.act("second.start")
        assert not (await kiosk.scan(SAM.badge))["ok"]  # not the same person
        assert (await kiosk.scan(DANA.badge))["ok"]
        assert (await kiosk.act("save"))["ok"]
        [event] = kiosk.events("plant.destroyed")
        assert (event["user"], event["witness"]) == (SAM.id, DANA.id)


async def test_destroy_part_of_an_immature_lot_with_a_reason_that_needs_a_note(tmp_path: Path) -> None:
    ref = reference(witness=False)
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await destroying(kiosk, "BD-CLONES-0601")
        assert not (await kiosk.act("count", count=13))["ok"]  # the lot has 12
        await kiosk.act("count", count=3)
        await kiosk.act("reason", name="Other")
        await kiosk.act("method", name="Landfill")
        await kiosk.weigh("95.2")
        needs_note = await kiosk.act("save")
        assert not needs_note["ok"] and "choose a note" in needs_note["message"]
        assert not (await kiosk.act("note", note="typed words"))["ok"]
        await kiosk.act("note", note="Mold")
        assert (await kiosk.act("save"))["ok"]
        [event] = kiosk.events("plant.destroyed")
        assert event["data"]["plant_batch"] == "BD-CLONES-0601"
        assert (event["data"]["count"], event["data"]["note"]) == (3, "Mold")
        lot = kiosk.floor.lot("BD-CLONES-0601")
        assert lot is not None and lot.count == 9


async def test_destroy_says_when_the_waste_lists_never_reached_the_kiosk(tmp_path: Path) -> None:
    ref = reference(witness=False)
    del ref["waste_reasons"]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await destroying(kiosk, DEMO_TAG)
        answer = await kiosk.act("save")
        assert not answer["ok"] and "never synced" in answer["message"]
