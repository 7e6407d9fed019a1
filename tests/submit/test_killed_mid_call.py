"""The bridge is killed (kill -9) or stopped (SIGTERM, as ``systemctl restart`` sends)
while a state call is in flight, and the state applies the write after the client
has gone (the simulators' ``commit_then_hang``). After the restart every effect is
in the state exactly once and the kiosk is told the truth: accepted.

Without the write-ahead intent the restarted bridge sent the same rows again:
ten manicure weights counted twice, re-sent harvests answered "already harvested"
and marked rejected although the state held them (issue 11)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from bridge.ledger import AMBIGUOUS, open_ledger
from statesim.metrc import FaultPlan, FaultRule, MetrcSimulator
from tests.pipeline.harness import Proc
from tests.provisioned import ProvisionedSite
from tests.submit.conftest import BT_LICENSE, LICENSE, BioTrackLine, bridge_toml, wait_until, weight
from tests.submit.test_submit_biotrack import weights_of
from tests.waiting import until

pytestmark = pytest.mark.timeout(180)

PLANT = "1A4FF01000000220000010{:02d}"  # 06..12 are flowering
BATCH = "BD Clone 2025-10-01"  # 60 untracked clones
DRIED = "2025-10-20-Dry Room-H"  # a seeded harvest, 5200 g wet
BUDS = "1A4FF0300000022000004001"  # 450 g in the Vault
CLONES = "1A4FF0300000022000004002"  # 50 Each
NEW_PACKAGE = "1A4FF0300000022000005001"
HANG_S = 30.0  # the state holds the answer this long after applying the write
TIMEOUT_S = 8.0  # the bridge's call timeout: it is killed well before that

Events = list[tuple[str, dict[str, Any]]]
State = dict[str, Any]


def _named(state: State, kind: str, name: str) -> list[State]:
    return [x for x in state[kind] if x.get("Name") == name]


def _plant(state: State, label: str) -> State:
    return next(p for p in state["plants"] if p["Label"] == label)


def _harvest_waste(state: State, harvest: str) -> list[Decimal]:
    (h,) = _named(state, "harvests", harvest)
    return sorted(Decimal(str(w["WasteWeight"])) for w in state["harvest_waste"] if w["HarvestId"] == h["Id"])


def _harvested_once(state: State) -> None:
    (h,) = _named(state, "harvests", "Kill-H")
    assert Decimal(str(h["TotalWetWeight"])) == Decimal("300.75")
    assert all(_plant(state, PLANT.format(n))["HarvestedDate"] for n in (6, 7))


def _manicured_once(state: State) -> None:
    (h,) = _named(state, "harvests", "Kill-M")
    assert Decimal(str(h["TotalWetWeight"])) == Decimal("24.75")  # +24.75 g, not +49.5 g


def _wasted_once(state: State) -> None:
    assert _harvest_waste(state, DRIED) == [Decimal("11.5"), Decimal(22)]


def _destroyed_once(state: State) -> None:
    assert _plant(state, PLANT.format(10))["DestroyedDate"] is not None


def _batch_destroyed_once(state: State) -> None:
    (batch,) = _named(state, "plant_batches", BATCH)
    assert (batch["UntrackedCount"], batch["DestroyedCount"]) == (55, 5)


def _planted_once(state: State) -> None:
    (batch,) = _named(state, "plant_batches", "Kill Planting")
    assert batch["UntrackedCount"] == 10
    (from_package,) = _named(state, "plant_batches", "Kill From Clones")
    assert from_package["UntrackedCount"] == 12
    (clones,) = [p for p in state["packages"] if p["Label"] == CLONES]
    assert Decimal(str(clones["Quantity"])) == 38


def _packaged_once(state: State) -> None:
    assert len([p for p in state["packages"] if p["Label"] == NEW_PACKAGE]) == 1


def _adjusted_once(state: State) -> None:
    (buds,) = [p for p in state["packages"] if p["Label"] == BUDS]
    assert Decimal(str(buds["Quantity"])) == 400
    assert len([a for a in state["package_adjustments"] if a["PackageLabel"] == BUDS]) == 1


def _manicure(n: int, grams: str) -> dict[str, Any]:
    return {"tag": PLANT.format(n), "harvest_name": "Kill-M", "drying_location": "Dry Room",
            "weight": weight(grams)}


@dataclass(frozen=True)
class Case:
    path: str  # the write the state applies and then never answers
    method: str
    events: Events
    once: Callable[[State], None]


CASES = {
    "harvest": Case("/plants/v2/harvest", "PUT", [
        ("plant.harvested", {"tag": PLANT.format(6), "harvest_name": "Kill-H", "drying_location": "Dry Room",
                             "weight": weight("100.5")}),
        ("plant.harvested", {"tag": PLANT.format(7), "harvest_name": "Kill-H", "drying_location": "Dry Room",
                             "weight": weight("200.25")})], _harvested_once),
    "manicure": Case("/plants/v2/manicure", "POST", [
        ("plant.manicured", _manicure(n, "2.475")) for n in (6, 7, 8, 9, 10, 11, 12, 6, 7, 8)],
        _manicured_once),
    "harvest waste": Case("/harvests/v2/waste", "POST", [
        ("harvest.waste", {"harvest_name": DRIED, "waste_type": "Stems", "weight": weight(w)})
        for w in ("11.5", "22")], _wasted_once),
    "destroy": Case("/plants/v2", "DELETE", [
        ("plant.destroyed", {"tag": PLANT.format(10), "reason": "Male Plants", "method": "Grinder",
                             "material_mixed": "Soil", "weight": weight("120")})], _destroyed_once),
    "plant-batch destroy": Case("/plantbatches/v2", "DELETE", [
        ("plant.destroyed", {"plant_batch": BATCH, "count": 5, "reason": "Pest Infestation",
                             "method": "Compost", "material_mixed": "Soil", "weight": weight("60")})],
        _batch_destroyed_once),
    "plantings": Case("/plantbatches/v2/plantings", "POST", [
        ("plant_batch.created", {"name": "Kill Planting", "type": "Clone", "count": 10,
                                 "strain": "Blue Dream", "location": "Clone Room"}),
        ("plant_batch.created", {"name": "Kill From Clones", "type": "Clone", "count": 12,
                                 "strain": "Blue Dream", "location": "Clone Room",
                                 "source_package": CLONES})], _planted_once),
    "package create": Case("/harvests/v2/packages", "POST", [
        ("package.created", {"tag": NEW_PACKAGE, "item": "Blue Dream - Buds", "location": "Vault",
                             "sources": [{"harvest_name": DRIED, "weight": weight("100")}]})],
        _packaged_once),
    "package adjust": Case("/packages/v2/adjust", "PUT", [
        ("package.adjusted", {"tag": BUDS, "quantity": weight("400"), "reason": "Scale Variance"})],
        _adjusted_once),
}


@pytest.fixture
async def kiosk(tmp_path: Path, provisioned: ProvisionedSite) -> AsyncIterator[Outbox]:
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    task = asyncio.create_task(Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2),
                                      UplinkSettings(ack_timeout_s=5), outbox).run())
    try:
        yield outbox
    finally:
        task.cancel()
        await outbox.close()


def stop(bridge: Proc, how: str) -> None:
    """kill -9, or SIGTERM as systemd sends it (the bridge finishes or abandons the call)."""
    if how == "kill -9":
        bridge.kill9()
        return
    assert bridge.proc is not None
    os.kill(bridge.proc.pid, signal.SIGTERM)
    bridge.proc.wait(30)
    bridge.proc = None


async def settled(outbox: Outbox, ids: list[str], bridge: Proc, timeout: float = 90) -> dict[str, str]:
    async def answered() -> bool:
        states = await outbox.states()
        return all(states.get(i) in ("accepted", "rejected") for i in ids)

    await until(answered, "every event answered", timeout, interval=0.2, detail=lambda: bridge.tail(60))
    return dict(await outbox.states())


async def unanswered_intents(ledger_url: str) -> list[str]:
    ledger = await open_ledger(ledger_url)
    try:
        return [a.outcome for a in await ledger.attempts() if a.outcome in AMBIGUOUS]
    finally:
        await ledger.close()


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
@pytest.mark.parametrize("case", list(CASES))
async def test_metrc_write_in_flight_when_the_bridge_dies_lands_once(
        case: str, how: str, tmp_path: Path, provisioned: ProvisionedSite, kiosk: Outbox,
        ledger_url: str) -> None:
    spec = CASES[case]
    async with MetrcSimulator() as sim:
        conf = bridge_toml(tmp_path, provisioned, sim.url, ledger_url=ledger_url, timeout_s=TIMEOUT_S)
        bridge = Proc("bridge", ["bridge", "-c", str(conf)], tmp_path / "bridge.log")
        bridge.start()
        try:
            await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
            await sim.set_faults(FaultPlan(rules=(FaultRule(
                action="commit_then_hang", path=spec.path, methods=(spec.method,), seconds=HANG_S,
                times=1),)))
            ids = [(await kiosk.append(t, d, user="worker-1")).id for t, d in spec.events]

            def applied_and_hanging() -> bool:
                return any(e["fault"] == "commit_then_hang" for e in sim.log)

            await wait_until(applied_and_hanging, 30, "the write applied, its answer held", [bridge])
            stop(bridge, how)
            # The trace left behind: an intent without an answer ("sending" after kill -9),
            # or one marked abandoned / uncertain (SIGTERM finished or gave up the call).
            assert await unanswered_intents(ledger_url)
            await sim.set_faults(FaultPlan())
            bridge.start()
            states = await settled(kiosk, ids, bridge)
            assert {states[i] for i in ids} == {"accepted"}, bridge.tail(60)
            spec.once(sim.snapshot()["licenses"][LICENSE])
            told = {r.id: r.message or "" for r in await kiosk.recent(50)}
            assert any("confirmed by reading it back" in told[i] for i in ids)
            # The rows the state applied (answered, or applied and the answer withheld): one an event.
            applied = [e for e in sim.log if e["method"] != "GET"
                       and (e["status"] == 200 or str(e["fault"]).startswith("commit_then"))]
            assert sum(int(e["rows"] or 0) for e in applied) == len(ids), applied
        finally:
            bridge.kill9()


@pytest.fixture
def provisioned_facility(request: pytest.FixtureRequest) -> str:
    """The broker's facility: the BioTrack test's kiosk belongs to the BioTrack licence."""
    return BT_LICENSE if "biotrack" in request.node.name else LICENSE


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
async def test_biotrack_cure_in_flight_when_the_bridge_dies_lands_once(
        how: str, tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str) -> None:
    from statesim.biotrack import SimConfig, start

    sim = await start("127.0.0.1", 0, config=SimConfig())
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=BT_LICENSE, device="kiosk-01")
    conf = bridge_toml(tmp_path, provisioned, sim.url, system="biotrack", license=BT_LICENSE,
                       ledger_url=ledger_url, timeout_s=TIMEOUT_S)
    bridge = Proc("bridge", ["bridge", "-c", str(conf)], tmp_path / "bridge.log")
    bridge.start()
    uplink = asyncio.create_task(Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2),
                                        UplinkSettings(ack_timeout_s=5), outbox).run())
    line = BioTrackLine(sim, outbox, bridge)
    try:
        await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
        world = await line.state()
        plant = sorted(p["id"] for p in world["plants"].values() if p["state"] == 0 and not p["deleted"])[0]
        cut = await line.record("plant.harvested", {"tag": plant, "harvest_name": "BT-K",
                                                    "drying_location": "Drying Room",
                                                    "weight": weight("700")})
        await line.settled([cut])
        await line.admin("faults", {"rules": [{"kind": "commit_then_hang", "actions": ["plant_cure"],
                                               "count": 1}], "hang_s": HANG_S})
        cured = await line.record("plant.cured", {"tag": plant, "location": "Vault",
                                                  "weight": weight("150.5"), "waste": weight("12")})

        async def fired() -> bool:
            return [f["fired"] for f in (await line.sim_state())["fault_stats"]] == [1]

        deadline = asyncio.get_running_loop().time() + 30
        while not await fired():
            assert asyncio.get_running_loop().time() < deadline, bridge.tail()
            await asyncio.sleep(0.1)
        stop(bridge, how)
        assert await unanswered_intents(ledger_url)
        await line.admin("faults", {"rules": []})
        bridge.start()
        states = await settled(outbox, [cured], bridge)
        assert states[cured] == "accepted", bridge.tail(60)
        world = await line.state()
        # The wet weight from the harvest, the cure's flower and waste each once.
        assert weights_of(world, plant) == [(6, Decimal("150.5"), True), (27, Decimal(12), True),
                                            (29, Decimal(700), False)]
        told = await line.messages([cured])
        assert "confirmed by reading it back" in told[cured]
    finally:
        uplink.cancel()
        bridge.kill9()
        await outbox.close()
        await sim.stop()
