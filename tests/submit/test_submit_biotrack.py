"""Kiosk events through Mosquitto and the bridge into the BioTrack simulator, and back."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.submit.conftest import BioTrackLine, weight

pytestmark = pytest.mark.timeout(120)


async def test_floor_events_reach_biotrack(bt_line: BioTrackLine) -> None:
    world = await bt_line.state()
    rooms = {r["name"]: r["roomid"] for r in world["plant_rooms"]}
    growing = sorted(p["id"] for p in world["plants"].values() if p["state"] == 0 and not p["deleted"])
    movers, harvested, destroyed = growing[:3], growing[3:5], growing[5]
    moves = [await bt_line.record("plant.moved", {"tag": t, "location": "Flower Room A"}) for t in movers]
    nowhere = await bt_line.record("plant.moved", {"tag": movers[0], "location": "Mars"})
    cuts = [await bt_line.record("plant.harvested", {"tag": t, "harvest_name": "BT-1",
                                                     "drying_location": "Drying Room",
                                                     "weight": weight(w)})
            for t, w in zip(harvested, ("640.5", "702.25"), strict=True)]
    waste = await bt_line.record("harvest.waste", {"harvest_name": "BT-1", "waste_type": "Stems",
                                                   "weight": weight("88.8")})
    gone = await bt_line.record("plant.destroyed", {"tag": destroyed, "reason": "Male Plants",
                                                    "method": "Grinder", "weight": weight("55")})
    everything = [*moves, nowhere, *cuts, waste, gone]
    states = await bt_line.settled(everything)
    assert {i: states[i] for i in everything} == {**{i: "accepted" for i in everything},
                                                   nowhere: "rejected"}
    world = await bt_line.state()
    assert all(world["plants"][t]["room"] == rooms["Flower Room A"] for t in movers)
    assert all(world["plants"][t]["harvestcollect"] for t in harvested)
    assert world["plants"][destroyed]["removescheduled"]
    # Each weight recorded once: the wet flower of both plants, and two waste items.
    made = [i for i in world["inventory"].values() if i["transactionid_original"] > 1]  # not seeded
    amounts = sorted(Decimal(i["remaining_quantity"]) for i in made if i["inventorytype"] in (27, 29))
    assert amounts == sorted([Decimal("640.5"), Decimal("702.25"), Decimal("88.8"), Decimal("55")])


async def test_a_lost_answer_is_read_back_not_applied_twice(bt_line: BioTrackLine) -> None:
    """BioTrack applies a harvest and a waste weigh but the answers are lost (500 after
    commit): the bridge asks nonce_replay, and each weight is recorded exactly once."""
    async with httpx.AsyncClient(base_url=bt_line.sim.base_url) as admin:
        plan = {"rules": [{"kind": "commit_then_500", "actions": ["plant_harvest", "plant_waste_weigh"],
                           "count": 2}]}
        assert (await admin.post("/_sim/faults", json=plan)).status_code < 300
    world = await bt_line.state()
    plant = sorted(p["id"] for p in world["plants"].values() if p["state"] == 0)[0]
    ids = [await bt_line.record("plant.harvested", {"tag": plant, "harvest_name": "BT-2",
                                                    "drying_location": "Drying Room",
                                                    "weight": weight("512.5")}),
           await bt_line.record("harvest.waste", {"harvest_name": "BT-2", "waste_type": "Stems",
                                                  "weight": weight("31.5")})]
    states = await bt_line.settled(ids)
    assert [states[i] for i in ids] == ["accepted", "accepted"]
    world = await bt_line.state()
    made = [i for i in world["inventory"].values() if i["transactionid_original"] > 1]
    assert sorted(Decimal(i["remaining_quantity"]) for i in made) == [Decimal("31.5"), Decimal("512.5")]
    rows = {r.id: r for r in await bt_line.outbox.recent(10)}
    assert all(rows[i].message == "confirmed by reading it back" for i in ids)
