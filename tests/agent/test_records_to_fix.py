"""Answers a worker can act on (issue 13, item 3): every rejection stays on the "to fix" list
until it is corrected or a supervisor dismisses it with a reason, however many records follow,
and the status bar's count is that list; facility records are "kept at the facility"; every
type shows by its label."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, WORKERS, flower_room_1
from agent.outbox import Settlement
from agent.testing import KioskRig, until
from agent.workflows.records import SHOWN, label
from canopy.events import EVENT_TYPES, FACILITY_ONLY, LABELS, kept_at_facility

pytestmark = pytest.mark.timeout(120)
DANA, SAM = WORKERS[0], WORKERS[1]
MESSAGE = f"Plant {DEMO_TAG} was destroyed on 2025-05-30."


async def reject_one_then_scan_40(kiosk: KioskRig) -> str:
    bad = await kiosk.scan(DEMO_TAG)
    await kiosk.outbox.settle([Settlement(bad["event"], "rejected", MESSAGE)])
    later = [(await kiosk.scan(flower_room_1()[n % 5]))["event"] for n in range(40)]
    await kiosk.outbox.settle([Settlement(i, "accepted") for i in later])
    return str(bad["event"])


async def test_a_rejection_stays_to_fix_after_40_records_until_corrected(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        bad = await reject_one_then_scan_40(kiosk)
        await until(lambda: kiosk.kiosk.status.get("rejected") == 1, "the count of records to fix")
        await kiosk.act("go", screen="records")
        flow = kiosk.state()["flow"]
        assert bad not in {r["id"] for r in flow["rows"]} and len(flow["rows"]) == SHOWN
        [row] = flow["to_fix"]
        assert (row["id"], row["state"], row["message"]) == (bad, "rejected", MESSAGE)
        assert row["what"] == "Plant seen"
        assert "Correct it" in flow["next_step"] and "supervisor dismisses" in flow["next_step"]
        # Sam corrects it with Dana's sign-off: the list and the count go down together.
        assert (await kiosk.act("select", id=bad))["ok"]
        await kiosk.act("second.start", purpose="supervisor")
        await kiosk.scan(DANA.badge)
        assert (await kiosk.act("second.pin", pin=DANA.pin))["ok"]
        assert (await kiosk.act("correct", reason="Rejected by the state"))["ok"]
        assert kiosk.state()["flow"]["to_fix"] == []
        await until(lambda: kiosk.kiosk.status.get("rejected") == 0, "the count to follow the list")


async def test_only_a_supervisor_dismisses_a_rejection_and_says_why(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        bad = await reject_one_then_scan_40(kiosk)
        await kiosk.act("go", screen="records")
        await kiosk.act("select", id=bad)
        assert kiosk.state()["flow"]["can_dismiss"] is False
        refused = await kiosk.act("dismiss", reason="Entered in the state system by the office")
        assert not refused["ok"] and "supervisor" in refused["message"]
        await kiosk.act("signout")
        await kiosk.sign_in(DANA)
        await kiosk.act("go", screen="records")
        await kiosk.act("select", id=bad)
        assert not (await kiosk.act("dismiss", reason="Because I say so"))["ok"]  # a reason from the list
        done = await kiosk.act("dismiss", reason="Entered in the state system by the office")
        assert done["ok"], done
        [dismissal] = kiosk.events("rejection.dismissed")
        assert dismissal["corrects"] == bad and dismissal["user"] == DANA.id
        assert dismissal["data"] == {"reason": "Entered in the state system by the office",
                                     "note": f"state said: {MESSAGE}"}
        assert kiosk.state()["flow"]["to_fix"] == []
        await until(lambda: kiosk.kiosk.status.get("rejected") == 0, "the count to follow the list")
        [shown] = [r for r in kiosk.state()["flow"]["rows"] if r["id"] == dismissal["id"]]
        assert shown["what"] == "Rejection dismissed"
        # A recent one, dismissed: the list of recent records says how it was fixed.
        await kiosk.act("go", screen="home")
        fresh = (await kiosk.scan(DEMO_TAG))["event"]
        await kiosk.outbox.settle([Settlement(fresh, "rejected", MESSAGE)])
        await kiosk.act("go", screen="records")
        await kiosk.act("select", id=fresh)
        assert (await kiosk.act("dismiss", reason="Duplicate of another record"))["ok"]
        fixed = {r["id"]: r["fixed"] for r in kiosk.state()["flow"]["rows"]}
        assert fixed[fresh] == "dismissed"
        # Dismissed once: nothing left to dismiss or correct for it.
        await kiosk.act("select", id=dismissal["id"])
        assert not (await kiosk.act("dismiss", reason="Duplicate of another record"))["ok"]


async def test_facility_records_are_kept_at_the_facility_never_accepted_by_the_state(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        seen = await kiosk.scan(flower_room_1()[0])
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        moved = await kiosk.scan(flower_room_1()[1])
        await kiosk.outbox.settle([
            Settlement(seen["event"], "accepted", FACILITY_ONLY["plant.scanned"]),
            Settlement(moved["event"], "accepted")])
        await kiosk.act("go", screen="records")
        rows = {r["id"]: r for r in kiosk.state()["flow"]["rows"]}
        assert (rows[seen["event"]]["state"], rows[seen["event"]]["message"]) == ("kept", "")
        assert rows[moved["event"]]["state"] == "accepted"
        assert {r["what"] for r in rows.values()} <= set(LABELS.values())
        # A dry weight is reported to BioTrack but has no Metrc call: at this (Metrc) facility it is kept.
        weight = {"value": "120.5", "unit": "g", "scale_id": "bench-1", "raw": "S S 120.5 g"}
        cured = await kiosk.outbox.append("plant.cured", {"tag": DEMO_TAG, "location": "Vault",
                                                          "weight": weight}, user=SAM.id)
        await kiosk.outbox.settle([Settlement(cured.id, "accepted", "dry weight recorded at the facility")])
        await kiosk.act("go", screen="records")
        [row] = [r for r in kiosk.state()["flow"]["rows"] if r["id"] == cured.id]
        assert (row["state"], row["what"], row["summary"]) == ("kept", "Dry weight", "Dry weight")


def test_kept_at_the_facility_follows_the_payloads_and_the_state_system() -> None:
    assert kept_at_facility("scale.checked", None) and kept_at_facility("scale.checked", "biotrack")
    assert kept_at_facility("plant.cured", "metrc") and not kept_at_facility("plant.cured", "biotrack")
    assert not kept_at_facility("plant.cured", None) and not kept_at_facility("plant.moved", "metrc")


def test_every_event_type_has_a_label_and_no_label_is_a_type_name() -> None:
    for type_ in EVENT_TYPES:
        assert label(type_) == LABELS[type_] and "." not in label(type_) and label(type_)[0].isupper()
    assert label("made.up") == "Record"
