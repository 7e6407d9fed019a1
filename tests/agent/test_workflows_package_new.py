"""New package from a harvest at the kiosk (``package.created``): the harvest batch, an unused
package tag, the item and room from the state's lists, the weight from the scale, then the label."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, SCALE_ID, biotrack_reference, reference, tag
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(60)
HARVEST = "HB-20250520-1"
TAGS = [tag(9, n) for n in range(1, 4)]  # unused package tags of the demo farm


async def _ready(kiosk: KioskRig) -> None:
    await kiosk.sign_in()
    await kiosk.act("go", screen="packages")
    assert "package_new" in [c["screen"] for c in kiosk.state()["flow"]["choices"]]
    assert (await kiosk.act("go", screen="package_new"))["ok"]


async def test_package_from_a_harvest_weighed_on_the_scale_then_its_label(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await _ready(kiosk)
        first = await kiosk.scan(TAGS[0])
        assert not first["ok"] and "harvest batch's label first" in first["message"]
        assert (await kiosk.scan(HARVEST))["ok"]
        assert (await kiosk.scan(TAGS[0]))["ok"]
        assert kiosk.state()["flow"]["room"] == "Dry Room"  # where the harvest is, unless chosen
        assert not (await kiosk.act("room", name="Flower Room 1"))["ok"]  # holds no packages
        await kiosk.act("room", name="Vault")
        assert not (await kiosk.act("item", name="Clones"))["ok"]
        await kiosk.act("item", name="Buds")
        early = await kiosk.act("save")
        assert not early["ok"] and early["message"] == "Not saved yet: weigh the package on the scale."
        await kiosk.weigh("453.6")
        saved = await kiosk.act("save")
        assert saved["ok"] and saved["message"] == \
            f"Saved: package {TAGS[0]}, 453.6 g Buds from {HARVEST}. Print its label.", saved
        [event] = kiosk.events("package.created")
        assert event["data"] == {
            "tag": TAGS[0], "item": "Buds", "location": "Vault", "note": "",
            "sources": [{"harvest_name": HARVEST, "weight": {
                "value": "453.6", "unit": "g", "scale_id": SCALE_ID, "stable": True,
                "raw": event["data"]["sources"][0]["weight"]["raw"]}}]}
        assert kiosk.kiosk.preview_png() is not None  # the package label, before it prints
        printed = await kiosk.act("print")
        assert printed["ok"], printed
        [label] = kiosk.events("label.printed")
        assert (label["data"]["uid"], label["data"]["kind"]) == (TAGS[0], "package")
        # The tag is on a package now: it cannot start a second one, and moves take it as a package.
        again = await kiosk.scan(TAGS[0])
        assert not again["ok"] and "already on a package" in again["message"]
        assert kiosk.kiosk.floor.package_tags() == [tag(9, n) for n in range(2, 11)]
        codes = {c["code"]: c["label"] for c in kiosk.state()["sim"]["codes"]}
        assert (codes[TAGS[0]], codes[TAGS[1]]) == ("Package", "Unused package tag")  # the demo panel
        await kiosk.empty_scale()
        assert (await kiosk.scan(TAGS[1]))["ok"]  # the next package from the same harvest


@pytest.mark.parametrize(("code", "says"), [
    pytest.param(DEMO_TAG, "is a plant tag, not a package tag", id="plant"),
    pytest.param(tag(1, 1), "is a plant tag, not a package tag", id="unused-plant-tag"),
    pytest.param(tag(8, 1), "not one of this facility's unused package tags", id="not-in-the-list"),
    pytest.param("12-AB", "Not a package tag", id="not-a-tag"),
])
async def test_package_tag_must_be_an_unused_package_tag(tmp_path: Path, code: str, says: str) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await _ready(kiosk)
        await kiosk.scan(HARVEST)
        answer = await kiosk.scan(code)
        assert not answer["ok"] and says in answer["message"], answer
        assert kiosk.state()["flow"]["tag"] is None


async def test_a_weight_before_the_tag_is_not_taken_and_the_scale_rules_apply(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, scale_checked=False) as kiosk:
        await _ready(kiosk)
        await kiosk.scan(HARVEST)
        await kiosk.weigh("100")
        assert kiosk.state()["flow"]["weight"] is None
        await kiosk.scan(TAGS[0])
        await kiosk.empty_scale()
        blocked = await kiosk.weigh("100")
        assert blocked is not None and not blocked["ok"]  # today's scale check first
        assert kiosk.state()["flow"]["weight"] is None


async def test_without_the_tag_list_the_tag_is_taken_and_said_unchecked(tmp_path: Path) -> None:
    ref = reference()
    del ref["package_tags"]
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        await _ready(kiosk)
        await kiosk.scan(HARVEST)
        taken = await kiosk.scan(TAGS[0])
        assert taken["ok"] and kiosk.kiosk.feedback is not None
        assert "available package tag" in kiosk.kiosk.feedback.detail


async def test_biotrack_makes_packages_itself_so_the_kiosk_offers_none(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, ref=biotrack_reference()) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="packages")
        assert "package_new" not in [c["screen"] for c in kiosk.state()["flow"]["choices"]]
        refused = await kiosk.act("go", screen="package_new")
        assert not refused["ok"] and "makes packages itself" in refused["message"]
