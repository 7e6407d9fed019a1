"""Tag receipt (domain.md §2.6): the first and last tag of a new roll or box give the count."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, WORKERS, tag
from agent.testing import KioskRig
from agent.workflows.receive import NotARun, tag_count

pytestmark = pytest.mark.timeout(60)
_, SAM, _ = WORKERS
NEW_ROLL = ("1A4FF0100000099000000001", "1A4FF0100000099000000250")  # in no list of the kiosk


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        ("1A4FF0100000022000000123", "1A4FF0100000022000000123", 1),
        ("1A4FF0100000022000000199", "1A4FF0100000022000000201", 3),  # the run carries over
        ("1A4FF0100000022000009001", "1A4FF0100000022000010000", 1000),
        ("6647302918470001", "6647302918470500", 500),  # BioTrack ids
    ],
)
def test_tag_receipt_count_from_the_numeric_suffix(first: str, last: str, count: int) -> None:
    assert tag_count(first, last) == count


@pytest.mark.parametrize(
    ("first", "last", "said"),
    [
        ("1A4FF0100000022000000200", "1A4FF0100000022000000100", "numbered before"),
        ("1A4FF0100000022000000100", "1A4AB0100000022000000200", "do not share a prefix"),
        ("1A4FF0100000022000000100", "6647302918470500", "not the same length"),
        ("1A4FF0100000022000000001", "1A4FF0100000023000000001", "more than a roll or box holds"),
    ],
)
def test_tag_receipt_refuses_ends_that_are_not_one_run(first: str, last: str, said: str) -> None:
    with pytest.raises(NotARun, match=said):
        tag_count(first, last)


async def test_tag_receipt_counts_a_roll_of_plant_tags_from_its_ends(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="receive")
        assert (await kiosk.scan(tag(1, 1)))["ok"]
        assert not (await kiosk.act("confirm"))["ok"]  # the last tag is missing
        last = await kiosk.scan(tag(1, 60))
        assert last["ok"] and "60 plant tags" in last["message"]
        assert not kiosk.state()["flow"]["ask_kind"]
        saved = await kiosk.act("confirm")
        assert saved["ok"], saved
        [event] = kiosk.events("tags.received")
        assert event["user"] == SAM.id
        assert event["data"] == {"kind": "plant", "first": tag(1, 1), "last": tag(1, 60), "count": 60}


async def test_tag_receipt_refuses_out_of_order_mixed_and_used_tags(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="receive")
        used = await kiosk.scan(DEMO_TAG)
        assert not used["ok"] and "already on a plant" in used["message"]
        await kiosk.scan(tag(1, 60))
        backwards = await kiosk.scan(tag(1, 1))
        assert not backwards["ok"] and "numbered before" in backwards["message"]
        assert not (await kiosk.scan(tag(1, 1)))["ok"]  # still backwards
        assert kiosk.state()["flow"]["first"] == tag(1, 60)  # a refused scan changes nothing
        await kiosk.act("restart")
        await kiosk.scan(tag(1, 1))
        mixed = await kiosk.scan(tag(9, 5))
        assert not mixed["ok"] and "one roll holds one kind" in mixed["message"]
        assert not (await kiosk.scan("Flower Room 2"))["ok"]
        assert kiosk.events("tags.received") == []


async def test_tag_receipt_asks_plant_or_package_when_no_list_knows_the_tags(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="receive")
        await kiosk.scan(NEW_ROLL[0])
        asked = await kiosk.scan(NEW_ROLL[1])
        assert asked["ok"] and "Plant tags or package tags?" in asked["message"]
        assert kiosk.state()["flow"]["ask_kind"]
        refused = await kiosk.act("confirm")
        assert not refused["ok"] and "Tap Plant tags or Package tags" in refused["message"]
        await kiosk.act("kind", kind="package")
        assert (await kiosk.act("confirm"))["ok"]
        [event] = kiosk.events("tags.received")
        assert event["data"] == {"kind": "package", "first": NEW_ROLL[0], "last": NEW_ROLL[1], "count": 250}
