"""The floor over a big plant list kept on disk (v2 parts) and over a whole one (v1):
the same answers, with this kiosk's own moves on top."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.floor import Floor
from canopy import refdata

FAC = "CA-LIC-0001"
BASE = "1A4FF0100000022"


def plants(n: int) -> list[dict[str, Any]]:
    return [{"tag": f"{BASE}{i:09d}", "location": "Flower 1" if i % 2 else "Veg 1",
             "phase": "Flowering" if i % 2 else "Vegetative"} for i in range(n)]


async def load(floor: Floor, rows: list[dict[str, Any]], in_parts: bool) -> None:
    at = datetime.now(UTC)
    if not in_parts:
        await floor.apply_ref("plants", refdata.encode("plants", FAC, at, rows))
        return
    parts = refdata.encode_parts("plants", FAC, at, rows, max_bytes=4096)
    for part, payload in parts.parts.items():
        await floor.apply_ref(f"plants/{part}", payload)
    await floor.apply_ref("plants", parts.manifest)
    copy = floor.ref.copy("plants")
    assert copy is not None and copy.version == parts.version and len(parts.parts) > 3


@pytest.mark.parametrize("in_parts", [False, True], ids=["whole", "parts"])
async def test_room_counts_and_lists_agree_with_local_moves(tmp_path: Path, in_parts: bool) -> None:
    floor = await Floor.open(tmp_path / "floor.db", facility=FAC)
    try:
        await load(floor, plants(200), in_parts)
        assert floor.count_in("Flower 1") == len(floor.plants_in("Flower 1")) == 100
        # This kiosk moved one plant out, one in, destroyed one, and tagged a new one there.
        await floor.facts.merge("plant", f"{BASE}{1:09d}", None, location="Dry 1")
        await floor.facts.merge("plant", f"{BASE}{2:09d}", None, location="Flower 1")
        await floor.facts.merge("plant", f"{BASE}{3:09d}", None, phase="Destroyed")
        await floor.facts.merge("plant", f"{BASE}{999:09d}", None, location="Flower 1",
                                phase="Vegetative")
        listed = [p.tag for p in floor.plants_in("Flower 1")]
        assert floor.count_in("Flower 1") == len(listed) == 100
        assert f"{BASE}{2:09d}" in listed and f"{BASE}{999:09d}" in listed
        assert f"{BASE}{1:09d}" not in listed and f"{BASE}{3:09d}" not in listed
        assert floor.count_in("Dry 1") == 1
        assert len(floor.known_plant_tags()) == 201
        plant = floor.plant(f"{BASE}{199:09d}")
        assert plant is not None and plant.location == "Flower 1"
        assert floor.resolve(f"{BASE}{200:09d}").kind == "unknown_tag"
    finally:
        await floor.close()


async def test_a_pool_in_parts_answers_like_a_whole_one(tmp_path: Path) -> None:
    pool = [f"{BASE}{i:09d}" for i in range(5_000)] + [f"{BASE}{i:09d}" for i in range(7_000, 7_010)]
    floor = await Floor.open(tmp_path / "floor.db", facility=FAC)
    try:
        parts = refdata.encode_parts("plant_tags", FAC, datetime.now(UTC), pool, max_bytes=4096)
        await floor.apply_ref("plant_tags", parts.manifest)
        for part, payload in parts.parts.items():
            await floor.apply_ref(f"plant_tags/{part}", payload)
        assert floor.resolve(f"{BASE}{4_999:09d}").kind == "fresh_tag"
        assert floor.resolve(f"{BASE}{5_000:09d}").kind == "unknown_tag"
        assert floor.resolve(f"{BASE}{7_009:09d}").kind == "fresh_tag"
        assert floor.fresh_plant_tags(3) == [f"{BASE}{i:09d}" for i in range(3)]
        assert list(floor.ref.pool("plant_tags")) == sorted(pool)
    finally:
        await floor.close()
