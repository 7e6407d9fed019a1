"""Scale legality (domain.md §2.6): the daily zero and check-weight test before a registered
scale weighs, and "LFT ON" where the scale can say it (Ohaus ``PV``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.demo import DEMO_TAG, SCALE_ID, WORKERS, reference
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
DANA, SAM, _ = WORKERS
OHAUS = {"scale": {"protocol": "ohaus"}}


def profile(**changes: Any) -> dict[str, Any]:
    ref = reference(witness=False)
    return {**ref, "profile": {**ref["profile"], **changes}}


async def weigh_waste(kiosk: KioskRig, grams: str) -> dict[str, Any] | None:
    """A weight offered on the destroy screen (weighing, whatever the flow)."""
    if kiosk.kiosk.flow.screen != "destroy":
        await kiosk.act("go", screen="destroy")
        assert (await kiosk.scan(DEMO_TAG))["ok"]
    return await kiosk.weigh(grams)


async def check(kiosk: KioskRig, test_weight: str) -> dict[str, Any] | None:
    """Scale check screen: empty pan, then the test weight; the answer to the test weight."""
    await kiosk.act("go", screen="scalecheck")
    await kiosk.empty_scale()
    assert kiosk.state()["flow"]["step"] == "weight"
    return await kiosk.weigh(test_weight)


async def test_scale_legality_daily_check_blocks_weighing(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False) as kiosk:
        await kiosk.sign_in(SAM)
        blocked = await weigh_waste(kiosk, "250.0")
        assert blocked is not None and not blocked["ok"]
        assert "needs today's zero and test-weight check" in blocked["message"]
        assert kiosk.state()["weight"]["check_due"]
        assert kiosk.state()["flow"]["weight"] is None
        passed = await check(kiosk, "500.0")
        assert passed is not None and passed["ok"] and "Scale check passed" in passed["message"]
        [event] = kiosk.events("scale.checked")
        assert event["user"] == SAM.id
        assert event["data"] == {"scale_id": SCALE_ID, "unit": "g", "zero": "0", "reference": "500",
                                 "reading": "500.0", "tolerance": "0.2", "passed": True,
                                 "raw": event["data"]["raw"]}  # legal_for_trade: MT-SICS cannot say
        assert "500.0" in event["data"]["raw"]
        await kiosk.empty_scale()
        taken = await weigh_waste(kiosk, "250.0")
        assert taken is not None and taken["ok"] and "250.0 g" in taken["message"]
        assert not kiosk.state()["weight"]["check_due"]


async def test_scale_legality_daily_check_failed_keeps_the_scale_blocked_across_restarts(
        tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False) as kiosk:
        await kiosk.sign_in(SAM)
        failed = await check(kiosk, "497.1")
        assert failed is not None and not failed["ok"] and failed["event"]
        assert "scale failed its check: call a supervisor" in failed["message"].lower()
        assert "497.1 g" in failed["message"]
        [event] = kiosk.events("scale.checked")
        assert (event["data"]["passed"], event["data"]["reading"]) == (False, "497.1")
        await kiosk.empty_scale()
        blocked = await weigh_waste(kiosk, "250.0")
        assert blocked is not None and "failed its check: call a supervisor" in blocked["message"]
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False) as kiosk:  # restarted
        await kiosk.sign_in(SAM)
        blocked = await weigh_waste(kiosk, "250.0")
        assert blocked is not None and "failed its check" in blocked["message"]
        assert kiosk.events("plant.destroyed") == []
        await kiosk.empty_scale()
        passed = await check(kiosk, "500.1")  # within 0.2 g
        assert passed is not None and passed["ok"]
        await kiosk.empty_scale()
        taken = await weigh_waste(kiosk, "250.0")
        assert taken is not None and taken["ok"]


async def test_scale_legality_daily_check_is_due_again_on_the_next_facility_day(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False) as kiosk:
        await kiosk.sign_in(SAM)
        assert (await check(kiosk, "500.0"))["ok"]  # type: ignore[index]
        await kiosk.empty_scale()
        kiosk.later(hours=24)
        blocked = await weigh_waste(kiosk, "250.0")
        assert blocked is not None and "needs today's" in blocked["message"]


async def test_scale_legality_daily_check_needs_a_zero_reading_and_the_check_unit(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.weigh("3.0")  # something left on the pan
        await kiosk.act("go", screen="scalecheck")
        loaded = kiosk.kiosk.feedback
        assert loaded is not None and not loaded.ok and "press Zero on the scale" in loaded.message
        assert kiosk.state()["flow"]["step"] == "empty"
        pounds = await kiosk.weigh("0", "lb")
        assert pounds is not None and "set it to g for the check" in pounds["message"]
        await kiosk.empty_scale()
        assert kiosk.state()["flow"]["step"] == "weight"
        assert kiosk.events("scale.checked") == []


async def test_scale_legality_no_daily_check_where_the_profile_does_not_ask(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(daily_scale_check=False), scale_checked=False) as kiosk:
        await kiosk.sign_in(SAM)
        taken = await weigh_waste(kiosk, "250.0")
        assert taken is not None and taken["ok"]


async def test_scale_legality_records_lft_on_from_the_ohaus_pv_answer(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False, config=OHAUS) as kiosk:
        await kiosk.sign_in(SAM)
        passed = await check(kiosk, "500.00")
        assert passed is not None and passed["ok"]
        [event] = kiosk.events("scale.checked")
        assert (event["data"]["passed"], event["data"]["legal_for_trade"]) == (True, True)


async def test_scale_legality_lft_off_fails_the_check(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=profile(), scale_checked=False, config=OHAUS) as kiosk:
        assert kiosk.agent is not None
        kiosk.agent.sim_devices.scale.set_legal_for_trade(False)  # type: ignore[union-attr]
        await kiosk.sign_in(SAM)
        failed = await check(kiosk, "500.00")
        assert failed is not None and not failed["ok"]
        assert "not in legal-for-trade mode (LFT OFF)" in failed["message"]
        [event] = kiosk.events("scale.checked")
        # The weighing itself was right (the contract's verdict); the kiosk still blocks.
        assert (event["data"]["passed"], event["data"]["legal_for_trade"]) == (False, False)
        await kiosk.empty_scale()
        blocked = await weigh_waste(kiosk, "250.00")
        assert blocked is not None and "legal-for-trade" in blocked["message"]
