"""Immature lots, tagging at flowering, labels and room counts (domain.md §2.6 "Immature lot
≤100, one strain", "Tag at canopy/flowering", "Reconciliation")."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from agent.demo import DEMO_TAG, biotrack_reference, flower_room_1, reference, tag
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
FRESH = [tag(1, n) for n in range(1, 61)]
PACKAGE = tag(9, 1)
CLONE_PACKAGE = tag(8, 1)  # a package: on no list the kiosk has
MOTHER = tag(0, 301)  # a vegetative Gelato plant of the demo farm


def barcodes(path: Path) -> set[str]:
    with Image.open(path) as image:
        return {r.text for r in zxingcpp.read_barcodes(image)}


async def new_lot(kiosk: KioskRig) -> None:
    await kiosk.sign_in()
    await kiosk.act("go", screen="lot")


async def test_rule_immature_lot_at_most_100_plants(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await new_lot(kiosk)
        refused = await kiosk.act("count", count=101)
        assert not refused["ok"] and "at most 100 plants" in refused["message"]
        assert (await kiosk.act("count", count=100))["ok"]
        await kiosk.load_ref({"profile": {**reference()["profile"], "max_plants_per_lot": 50}})
        assert not (await kiosk.act("count", count=51))["ok"]  # the profile's lower limit wins


async def test_rule_immature_lot_one_strain_and_lot_labels_carry_the_lot_id(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await new_lot(kiosk)
        assert (await kiosk.scan(CLONE_PACKAGE))["ok"]  # California: where the plants came from
        assert not (await kiosk.act("strain", name="Mystery Kush"))["ok"]
        await kiosk.act("strain", name="Sour Diesel")
        await kiosk.act("type", type="Seed")
        await kiosk.act("count", count=6)
        await kiosk.act("room", name="Veg Room")
        used = await kiosk.scan(DEMO_TAG)
        assert not used["ok"] and "already used" in used["message"]
        assert not (await kiosk.scan(PACKAGE))["ok"]
        assert (await kiosk.scan(FRESH[0]))["message"] == f"Lot name: {FRESH[0]}."
        created = await kiosk.act("create")
        assert created["ok"], created
        [event] = kiosk.events("plant_batch.created")
        assert event["data"] == {"name": FRESH[0], "type": "Seed", "count": 6, "strain": "Sour Diesel",
                                 "location": "Veg Room", "source_package": CLONE_PACKAGE}
        printed = await kiosk.act("print")
        assert printed["ok"], printed
        [label] = kiosk.events("label.printed")
        assert label["data"] == {"uid": FRESH[0], "kind": "lot", "printer": "label printer", "copies": 6,
                                 "reprint": False}
        files = kiosk.agent.sim_devices.printed(20)  # type: ignore[union-attr]
        assert len(files) == 6
        assert all(barcodes(f) == {FRESH[0]} for f in files)
        lot = kiosk.floor.lot(FRESH[0])
        assert lot is not None and (lot.strain, lot.count) == ("Sour Diesel", 6)


async def test_rule_tag_at_flowering_one_new_tag_per_plant_counted_against_the_lot(tmp_path: Path) -> None:
    ref = reference()
    ref["plant_batches"] = [{"name": "BD-CLONES-0601", "strain": "Blue Dream", "count": 3,
                             "location": "Clone Room"}]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="tag")
        assert not (await kiosk.scan(FRESH[0]))["ok"]  # the lot first
        await kiosk.scan("BD-CLONES-0601")
        assert not (await kiosk.scan("Veg Room"))["ok"]  # not a flowering room
        await kiosk.scan("Flower Room 2")
        assert not (await kiosk.scan(DEMO_TAG))["ok"]  # already on a plant
        assert not (await kiosk.scan(PACKAGE))["ok"]
        unknown = await kiosk.scan("1A4FF0100000022000007777")
        assert not unknown["ok"] and "unused plant tags" in unknown["message"]
        answers = [await kiosk.scan(t) for t in FRESH[:3]]
        assert [a["ok"] for a in answers] == [True, True, True]
        assert answers[-1]["message"] == f"Tagged {FRESH[2]}: 3 of 3. All plants tagged."
        fourth = await kiosk.scan(FRESH[3])
        assert not fourth["ok"] and "All 3 plants" in fourth["message"]
        again = await kiosk.scan(FRESH[0])
        assert not again["ok"] and "already used" in again["message"]
        events = kiosk.events("plant.phase_changed")
        assert [e["data"] for e in events] == [
            {"plant_batch": "BD-CLONES-0601", "new_tag": t, "phase": "Flowering", "location": "Flower Room 2"}
            for t in FRESH[:3]]
        plant = kiosk.floor.plant(FRESH[0])
        assert plant is not None and (plant.location, plant.strain) == ("Flower Room 2", "Blue Dream")
        assert kiosk.floor.lot("BD-CLONES-0601").count == 0  # type: ignore[union-attr]


async def test_labels_print_with_preview_and_reprints_are_marked(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="labels")
        await kiosk.act("kind", kind="room")
        assert kiosk.state()["flow"]["choices"][:2] == ["Clone Room", "Veg Room"]
        await kiosk.act("pick", uid="Flower Room 1")
        png = kiosk.kiosk.preview_png()
        assert png is not None and png.startswith(b"\x89PNG")
        await kiosk.act("copies", copies=2)
        assert (await kiosk.act("print"))["ok"]
        assert kiosk.state()["flow"]["reprint"] is True
        assert (await kiosk.act("print"))["ok"]
        reprint = [e["data"]["reprint"] for e in kiosk.events("label.printed")]
        assert reprint == [False, True]
        assert (await kiosk.scan(DEMO_TAG))["ok"]  # a plant tag: its plant label
        assert kiosk.state()["flow"]["kind"] == "plant"
        await kiosk.sim(op="printer", fault="no media")
        failed = await kiosk.act("print")
        assert not failed["ok"] and "printer out of labels" in failed["message"]
        assert len(kiosk.events("label.printed")) == 2
        files = kiosk.agent.sim_devices.printed(10)  # type: ignore[union-attr]
        assert barcodes(files[0]) == {"Flower Room 1"}


async def test_rule_reconciliation_room_count_lists_missing_and_extra(tmp_path: Path) -> None:
    room = flower_room_1()
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="count")
        await kiosk.scan("Flower Room 1")
        assert kiosk.state()["flow"]["expected"] == 24
        for t in room[:20]:
            assert (await kiosk.scan(t))["ok"]
        dup = await kiosk.scan(room[0])
        assert not dup["ok"] and "counted already" in dup["message"]
        stray = tag(0, 201)  # a Flower Room 2 plant
        extra = await kiosk.scan(stray)
        assert not extra["ok"] and "listed in Flower Room 2" in extra["message"]
        view = kiosk.state()["flow"]
        assert (view["found"], view["missing_count"], view["extra"]) == (20, 4, [stray])
        assert (await kiosk.act("finish"))["ok"]
        [event] = kiosk.events("room.counted")
        assert event["data"]["location"] == "Flower Room 1"
        assert event["data"]["expected_count"] == 24
        assert event["data"]["missing"] == room[20:]
        assert event["data"]["extra"] == [stray]
        assert len(event["data"]["scanned"]) == 21


async def test_biotrack_lot_names_the_clone_or_seed_package_it_came_from(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=biotrack_reference()) as kiosk:
        await new_lot(kiosk)
        assert kiosk.state()["flow"]["needs_source"] is True
        await kiosk.act("count", count=12)
        await kiosk.act("room", name="Veg Room")
        await kiosk.act("suggest")
        early = await kiosk.act("create")
        assert not early["ok"] and "clone or seed package" in early["message"]
        unknown = await kiosk.scan("6647000000000999")
        assert not unknown["ok"] and "not a clone or seed package" in unknown["message"]
        plant = await kiosk.scan("6647000000000101")
        assert not plant["ok"] and "not a clone or seed package" in plant["message"]
        empty = await kiosk.scan("6647000000000902")
        assert not empty["ok"] and "used up" in empty["message"]
        source = await kiosk.scan("6647000000000901")
        assert source["ok"] and source["message"] == "From package 6647000000000901: 30 Gelato left."
        await kiosk.act("count", count=31)
        too_many = await kiosk.act("create")
        assert not too_many["ok"] and "has only 30 left" in too_many["message"]
        await kiosk.act("count", count=12)
        created = await kiosk.act("create")
        assert created["ok"], created
        [event] = kiosk.events("plant_batch.created")
        data = event["data"]
        assert (data["source_package"], data["strain"], data["count"]) == ("6647000000000901", "Gelato", 12)


async def test_biotrack_lot_source_cannot_be_checked_without_the_package_list(tmp_path: Path) -> None:
    ref = biotrack_reference()
    del ref["plant_batches"]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await new_lot(kiosk)
        refused = await kiosk.scan("6647000000000901")
        assert not refused["ok"] and "cannot be checked offline" in refused["message"]
        assert kiosk.state()["flow"]["source"] is None


async def test_california_lot_names_its_mother_plant_and_takes_its_strain(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:  # the demo farm is a California Metrc one
        await new_lot(kiosk)
        flow = kiosk.state()["flow"]
        assert flow["needs_source"] and flow["source_words"] == \
            "Scan the mother plant the clones were cut from, or the clone or seed package."
        await kiosk.act("room", name="Clone Room")
        await kiosk.act("suggest")
        early = await kiosk.act("create")
        assert not early["ok"] and early["message"].startswith("First scan the mother plant")
        unused = await kiosk.scan(FRESH[0])
        assert not unused["ok"] and "is an unused tag" in unused["message"]
        mother = await kiosk.scan(MOTHER)
        assert mother["ok"] and mother["message"] == f"Clones from mother plant {MOTHER} (Gelato)."
        assert not (await kiosk.act("strain", name="OG Kush"))["ok"]  # the mother's strain
        await kiosk.act("count", count=24)
        created = await kiosk.act("create")
        assert created["ok"], created
        [event] = kiosk.events("plant_batch.created")
        data = event["data"]
        assert (data["mother_tag"], data["strain"], data["count"], data.get("source_package")) == \
            (MOTHER, "Gelato", 24, None)


async def test_a_destroyed_plant_is_no_mother(tmp_path: Path) -> None:
    ref = reference()
    ref["plants"] = [*ref["plants"], {"tag": tag(0, 400), "location": "Veg Room", "phase": "Destroyed",
                                      "strain": "Gelato"}]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await new_lot(kiosk)
        dead = await kiosk.scan(tag(0, 400))
        assert not dead["ok"] and "scan a living mother plant" in dead["message"]


async def test_where_the_state_asks_no_source_the_lot_flow_asks_none(tmp_path: Path) -> None:
    ref = reference()
    ref["profile"] = {**ref["profile"], "state": "CO"}  # Metrc elsewhere: plantings from nothing
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await new_lot(kiosk)
        assert kiosk.state()["flow"]["needs_source"] is False
        assert (await kiosk.scan(FRESH[0]))["message"] == f"Lot name: {FRESH[0]}."
        await kiosk.load_ref({"profile": {**ref["profile"], "lot_source": "mother_or_package"}})
        await kiosk.act("new")
        assert kiosk.state()["flow"]["needs_source"] is True  # the facility profile's override wins
