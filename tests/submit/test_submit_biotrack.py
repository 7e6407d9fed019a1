"""Kiosk events through Mosquitto and the bridge into the BioTrack simulator, and back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
    flowering = await bt_line.record("plant.phase_changed", {"tag": growing[6], "phase": "Flowering",
                                                             "location": "Flower Room A"})
    tagging = await bt_line.record("plant.phase_changed", {"plant_batch": "Lot 1", "new_tag": growing[7],
                                                           "phase": "Flowering", "location": "Flower Room A"})
    everything = [*moves, nowhere, *cuts, waste, gone, flowering, tagging]
    states = await bt_line.settled(everything)
    assert {i: states[i] for i in everything} == {**{i: "accepted" for i in everything},
                                                   nowhere: "rejected", tagging: "rejected"}
    told = await bt_line.messages([flowering, tagging])
    assert "does not track growth phase" in told[flowering]
    assert "no tagging step" in told[tagging]
    world = await bt_line.state()
    assert all(world["plants"][t]["room"] == rooms["Flower Room A"] for t in [*movers, growing[6]])
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


def growing(world: dict[str, Any]) -> list[str]:
    return sorted(p["id"] for p in world["plants"].values() if p["state"] == 0 and not p["deleted"])


def stock(world: dict[str, Any], invtype: int) -> str:
    """The first seeded inventory item of a type (7 clones, 6 flower, 9 trim)."""
    return str(next(i["id"] for i in world["inventory"].values() if i["inventorytype"] == invtype))


def weights_of(world: dict[str, Any], plant: str) -> list[tuple[int, Decimal, bool]]:
    """Every weight BioTrack holds for a plant: (type, weight, cure?)."""
    return sorted((d["inventorytype"], Decimal(d["weight"]), bool(d["curecollect"]))
                  for d in world["derivatives"] if d["plantid"] == plant)


async def test_plants_from_a_clone_package_tell_the_worker_their_new_ids(bt_line: BioTrackLine) -> None:
    world = await bt_line.state()
    clones = stock(world, 7)
    made = await bt_line.record("plant_batch.created", {
        "name": "BD-0412", "type": "Clone", "count": 3, "strain": "Blue Dream",
        "location": "Veg Room", "source_package": clones})
    unsourced = await bt_line.record("plant_batch.created", {
        "name": "BD-0413", "type": "Clone", "count": 2, "strain": "Blue Dream", "location": "Veg Room"})
    nowhere = await bt_line.record("plant_batch.created", {
        "name": "BD-0414", "type": "Clone", "count": 2, "strain": "Blue Dream", "location": "Mars",
        "source_package": clones})
    not_an_id = await bt_line.record("plant_batch.created", {
        "name": "BD-0415", "type": "Clone", "count": 2, "strain": "Blue Dream", "location": "Veg Room",
        "source_package": "1A4FF0100000022000000123"})
    ids = [made, unsourced, nowhere, not_an_id]
    states = await bt_line.settled(ids)
    assert [states[i] for i in ids] == ["accepted", "rejected", "rejected", "rejected"]

    world = await bt_line.state()
    rooms = {r["name"]: r["roomid"] for r in world["plant_rooms"]}
    new = sorted(p["id"] for p in world["plants"].values() if p["transactionid_original"] > 1)
    assert len(new) == 3
    assert all(world["plants"][p]["room"] == rooms["Veg Room"] and world["plants"][p]["parentid"] == clones
               for p in new)
    assert Decimal(world["inventory"][clones]["remaining_quantity"]) == 48 - 3
    told = await bt_line.messages(ids)
    assert told[made] == f"BioTrack created 3 plants: {new[0]} – {new[-1]}"
    assert "scan that package" in told[unsourced]
    assert "no plant room named 'Mars'" in told[nowhere]
    assert "16 digits" in told[not_an_id]


async def test_manicure_cure_moves_and_adjustments_reach_biotrack(bt_line: BioTrackLine) -> None:
    world = await bt_line.state()
    manicured, cured = growing(world)[:2]
    flower, trim = stock(world, 6), stock(world, 9)
    room_before = world["plants"][manicured]["room"]
    cut = await bt_line.record("plant.harvested", {"tag": cured, "harvest_name": "BT-3",
                                                   "drying_location": "Drying Room",
                                                   "weight": weight("800")})
    trimmed = await bt_line.record("plant.manicured", {"tag": manicured, "harvest_name": "BT-3",
                                                       "drying_location": "Drying Room",
                                                       "weight": weight("120.5")})
    dried = await bt_line.record("plant.cured", {"tag": cured, "location": "Vault",
                                                 "weight": weight("190.25"),
                                                 "other_material": weight("55"),
                                                 "waste": weight("12")})
    await bt_line.settled([cut, trimmed, dried])
    # BioTrack forgets the session mid-run (errorcode 63): the bridge logs in again.
    await bt_line.admin("sessions/expire", {})
    moves = [await bt_line.record("package.moved", {"tag": t, "location": "Drying Room"})
             for t in (flower, trim)]
    lost = await bt_line.record("package.moved", {"tag": flower, "location": "Mars"})
    adjusted = await bt_line.record("package.adjusted", {
        "tag": flower, "quantity": weight("440.1"), "reason": "moisture loss", "note": "dried further"})
    bad_reason = await bt_line.record("package.adjusted", {
        "tag": flower, "quantity": weight("400"), "reason": "Spilled"})
    package = await bt_line.record("package.created", {
        "tag": "9900100000999999", "item": "Flower",
        "sources": [{"harvest_name": "BT-3", "weight": weight("100")}]})
    batch_gone = await bt_line.record("plant.destroyed", {"plant_batch": "BD-0412", "count": 2,
                                                         "reason": "Disease", "weight": weight("30")})
    ids = [cut, trimmed, dried, *moves, lost, adjusted, bad_reason, package, batch_gone]
    states = await bt_line.settled(ids)
    rejected = {lost, bad_reason, package, batch_gone}
    assert {i: states[i] for i in ids} == {i: "rejected" if i in rejected else "accepted" for i in ids}

    snapshot = await bt_line.sim_state()
    world = snapshot["worlds"]["live"]["990010"]
    inventory_rooms = {r["name"]: r["roomid"] for r in world["inventory_rooms"]}
    # The manicured plant keeps growing where it was, with its wet flower recorded once.
    kept = world["plants"][manicured]
    assert (kept["state"], kept["deleted"], kept["room"]) == (0, 0, room_before)
    assert weights_of(world, manicured) == [(29, Decimal("120.5"), False)]
    # The cured plant: wet flower at harvest, then dry flower, other material and waste.
    assert world["plants"][cured]["state"] == 2
    assert weights_of(world, cured) == [(6, Decimal("190.25"), True), (9, Decimal("55"), True),
                                        (27, Decimal("12"), True), (29, Decimal("800"), False)]
    outputs = [d["inventoryid"] for d in world["derivatives"] if d["plantid"] == cured and d["curecollect"]]
    assert all(world["inventory"][i]["currentroom"] == inventory_rooms["Vault"] for i in outputs)
    # Both packages moved in one call; the adjustment set the new total with BioTrack's reason code.
    assert all(world["inventory"][t]["currentroom"] == inventory_rooms["Drying Room"] for t in (flower, trim))
    assert sum(1 for c in snapshot["calls"] if c["action"] == "inventory_move") == 1
    assert Decimal(world["inventory"][flower]["remaining_quantity"]) == Decimal("440.1")
    assert [(a["inventoryid"], a["atype"], Decimal(a["new_quantity"]), a["reason"])
            for a in world["adjustments"]] == [(flower, 5, Decimal("440.1"), "moisture loss: dried further")]
    assert any(c["errorcode"] is not None and int(c["errorcode"]) == 63 for c in snapshot["calls"])

    told = await bt_line.messages(ids)
    assert "no inventory room named 'Mars'" in told[lost]
    assert "Spilled" in told[bad_reason] and "Moisture Loss" in told[bad_reason]
    assert "create the lot in BioTrack" in told[package]
    assert "scan each plant" in told[batch_gone]


async def test_destroy_completes_only_after_the_hold(bt_line: BioTrackLine) -> None:
    plant = growing(await bt_line.state())[0]
    scheduled = await bt_line.record("plant.destroyed", {"tag": plant, "reason": "Disease",
                                                         "weight": weight("42")})
    early = await bt_line.record("plant.destroy_completed", {"tag": plant, "scheduled": scheduled})
    states = await bt_line.settled([scheduled, early])
    assert [states[scheduled], states[early]] == ["accepted", "rejected"]
    assert (await bt_line.messages([early]))[early] == "The mandatory 72 hour waiting period has not passed."
    assert not (await bt_line.state())["plants"][plant]["deleted"]

    # Three days later on BioTrack's clock (its sessions expire too: the bridge logs in again).
    await bt_line.admin("clock", {"advance_s": 72 * 3600})
    done = await bt_line.record("plant.destroy_completed", {"tag": plant, "scheduled": scheduled})
    assert (await bt_line.settled([done]))[done] == "accepted"
    assert (await bt_line.state())["plants"][plant]["deleted"]


async def test_lost_answers_to_cure_manicure_and_new_plants_apply_once(bt_line: BioTrackLine) -> None:
    """BioTrack applies a cure (answer lost in a timeout), a manicure and a plant_new (answers
    lost in a 500): the bridge asks nonce_replay, and each lands exactly once."""
    world = await bt_line.state()
    manicured, cured = growing(world)[:2]
    clones = stock(world, 7)
    cut = await bt_line.record("plant.harvested", {"tag": cured, "harvest_name": "BT-4",
                                                   "drying_location": "Drying Room",
                                                   "weight": weight("700")})
    await bt_line.settled([cut])
    await bt_line.admin("faults", {"rules": [
        {"kind": "commit_then_hang", "actions": ["plant_cure"], "count": 1},
        {"kind": "commit_then_500", "actions": ["plant_harvest", "plant_new"], "count": 2}]})
    ids = [await bt_line.record("plant.cured", {"tag": cured, "location": "Vault",
                                                "weight": weight("150.5")}),
           await bt_line.record("plant.manicured", {"tag": manicured, "harvest_name": "BT-4",
                                                    "drying_location": "Drying Room",
                                                    "weight": weight("64.25")}),
           await bt_line.record("plant_batch.created", {
               "name": "BD-0500", "type": "Clone", "count": 2, "strain": "Blue Dream",
               "location": "Veg Room", "source_package": clones})]
    states = await bt_line.settled(ids)
    assert [states[i] for i in ids] == ["accepted"] * 3

    snapshot = await bt_line.sim_state()
    assert [f["fired"] for f in snapshot["fault_stats"]] == [1, 2]
    world = snapshot["worlds"]["live"]["990010"]
    assert weights_of(world, cured) == [(6, Decimal("150.5"), True), (29, Decimal("700"), False)]
    assert weights_of(world, manicured) == [(29, Decimal("64.25"), False)]
    new = sorted(p["id"] for p in world["plants"].values() if p["parentid"] == clones
                 and p["transactionid_original"] > 1)
    assert len(new) == 2
    told = await bt_line.messages(ids)
    assert told[ids[0]] == told[ids[1]] == "confirmed by reading it back"
    assert told[ids[2]] == f"BioTrack created 2 plants: {new[0]} – {new[1]} (confirmed by reading it back)"
