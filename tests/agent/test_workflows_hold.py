"""Waste record, NM (domain.md §2.6): a 72-hour hold after destruction, a hold label, the
plant not moved meanwhile, and the destruction completed after the hold (with a witness)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.demo import DEMO_TAG, WORKERS, reference
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
DANA, SAM, _ = WORKERS


def nm(*, witness: bool) -> dict[str, Any]:
    ref = reference(witness=witness)
    return {**ref, "profile": {**ref["profile"], "state": "NM", "timezone": "America/Denver",
                               "destroy_hold_hours": 72}}


async def destroy(kiosk: KioskRig, *, witness: bool) -> dict[str, Any]:
    await kiosk.act("go", screen="destroy")
    assert (await kiosk.scan(DEMO_TAG))["ok"]
    await kiosk.act("reason", name="Contamination")
    await kiosk.act("method", name="Grinder")
    await kiosk.weigh("250.0")
    if witness:
        await kiosk.act("second.start")
        assert (await kiosk.scan(DANA.badge))["ok"]
    saved = await kiosk.act("save")
    assert saved["ok"], saved
    return saved


async def test_waste_record_nm_hold_prints_a_label_and_the_plant_must_not_move(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=nm(witness=False)) as kiosk:
        await kiosk.sign_in(SAM)
        printed_before = len(kiosk.agent.sim_devices.printed())  # type: ignore[union-attr]
        saved = await destroy(kiosk, witness=False)
        assert "On hold until" in saved["message"] and "Hold label printed" in saved["message"]
        assert len(kiosk.agent.sim_devices.printed()) == printed_before + 1  # type: ignore[union-attr]
        (label,) = kiosk.events("label.printed")  # a hold label is recorded like every label
        assert (label["data"]["kind"], label["data"]["uid"]) == ("hold", DEMO_TAG)
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        moved = await kiosk.scan(DEMO_TAG)
        assert not moved["ok"] and "on hold until" in moved["message"]
        assert "must not be moved" in moved["message"]
        assert kiosk.events("plant.moved") == []
        await kiosk.act("go", screen="home")
        assert "hold" in [t["screen"] for t in kiosk.state()["tiles"]]
        await kiosk.act("go", screen="hold")
        [held] = kiosk.state()["flow"]["holds"]
        assert (held["tag"], held["weight"], held["reason"], held["ready"]) == \
            (DEMO_TAG, "250.0 g", "Contamination", False)
        assert held["left"] in ("71 h 59 min", "72 h 0 min")
        early = await kiosk.scan(DEMO_TAG)
        assert not early["ok"] and "left): not yet" in early["message"]
        kiosk.later(hours=71)
        still = await kiosk.scan(DEMO_TAG)
        assert not still["ok"] and "not yet" in still["message"]
        assert kiosk.events("plant.destroy_completed") == []
    async with KioskRig(tmp_path, ref=nm(witness=False)) as kiosk:  # the hold survives a restart
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="hold")
        assert [h["tag"] for h in kiosk.state()["flow"]["holds"]] == [DEMO_TAG]
        kiosk.later(hours=72, minutes=1)
        done = await kiosk.scan(DEMO_TAG)
        assert done["ok"], done
        [destroyed] = kiosk.events("plant.destroyed")
        [completed] = kiosk.events("plant.destroy_completed")
        assert completed["data"] == {"tag": DEMO_TAG, "scheduled": destroyed["id"]}
        assert kiosk.state()["flow"]["holds"] == []
        again = await kiosk.scan(DEMO_TAG)
        assert not again["ok"] and "not waste on hold" in again["message"]


async def test_waste_record_nm_hold_completion_needs_the_witness(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=nm(witness=True)) as kiosk:
        await kiosk.sign_in(SAM)
        await destroy(kiosk, witness=True)
        await kiosk.act("go", screen="hold")
        kiosk.later(hours=73)
        ready = await kiosk.scan(DEMO_TAG)
        assert ready["ok"] and "the witness signs in" in ready["message"]
        alone = await kiosk.act("complete")
        assert not alone["ok"] and "a witness signs in" in alone["message"]
        await kiosk.act("second.start")
        assert (await kiosk.scan(DANA.badge))["ok"]
        done = await kiosk.act("complete")
        assert done["ok"], done
        [completed] = kiosk.events("plant.destroy_completed")
        assert (completed["user"], completed["witness"]) == (SAM.id, DANA.id)


async def test_waste_record_without_a_hold_in_the_profile_prints_no_hold_label(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=reference(witness=False)) as kiosk:
        await kiosk.sign_in(SAM)
        saved = await destroy(kiosk, witness=False)
        assert "hold" not in saved["message"].lower()
        assert "hold" not in [t["screen"] for t in kiosk.state()["tiles"]]
        assert kiosk.floor.facts.items("hold") == []


async def test_waste_record_nm_hold_label_reprinted_when_the_printer_failed(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=nm(witness=False)) as kiosk:
        await kiosk.sign_in(SAM)
        assert (await kiosk.sim(op="printer", fault="no media"))["ok"]
        saved = await destroy(kiosk, witness=False)  # the record is saved all the same
        assert "Hold label NOT printed" in saved["message"] and "reprint it" in saved["message"]
        await kiosk.act("go", screen="hold")
        assert not (await kiosk.act("print", tag=DEMO_TAG))["ok"]
        assert (await kiosk.sim(op="printer", fault=None))["ok"]
        reprinted = await kiosk.act("print", tag=DEMO_TAG)
        assert reprinted["ok"] and "Hold label printed" in reprinted["message"]
