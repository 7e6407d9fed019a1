"""Several bridges on one PostgreSQL ledger: all ingest, each licence is submitted by
one bridge at a time (its lease), and a bridge killed mid-call hands its licences
to the others, which read back what it left without an answer.

Before the leases, two bridges on one ledger sent 1,915 of 2,000 moves twice."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from bridge.ledger import open_ledger
from canopy.mqtt import MqttSettings
from cli.broker import Mosquitto
from statesim.metrc import (
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    FaultPlan,
    FaultRule,
    MetrcSimulator,
    RateLimit,
    SimConfig,
    demo_seed_for,
)
from tests.pipeline.harness import Proc
from tests.submit.conftest import wait_until, weight

LICENCES = 6
MOVES, WEIGHTS = 2000, 200
ROOMS = ("Flower Room A", "Flower Room B")


def fleet_toml(tmp: Path, bridge_id: str, broker: Mosquitto, sim_url: str, ledger_url: str,
               licences: list[str]) -> Path:
    """One bridge's config: the same for every bridge but its id."""
    blocks = "".join(f"""
[[facilities]]
license = "{licence}"
state = "CA"
system = "metrc"
base_url = "{sim_url}"
timezone = "America/Los_Angeles"
flush_interval_s = 0.2
requests_per_s = 50
timeout_s = 2.0
[facilities.metrc]
vendor_key = "{DEMO_VENDOR_KEY}"
user_key = "{DEMO_USER_KEY}"
""" for licence in licences)
    conf = tmp / f"{bridge_id}.toml"
    conf.write_text(f"""
[bridge]
id = "{bridge_id}"
[mqtt]
port = {broker.port}
backoff_min_s = 0.2
backoff_max_s = 2.0
[ledger]
url = "{ledger_url}"
lease_s = 6
{blocks}""")
    return conf


def sent_rows(sim: MetrcSimulator, path: str, licence: str) -> int:
    """Rows the state applied: answered 200, or applied and the answer withheld."""
    return sum(int(e["rows"] or 0) for e in sim.log
               if e["path"] == path and e["method"] != "GET" and e["license"] == licence
               and (e["status"] == 200 or str(e["fault"]).startswith("commit_then")))


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_three_bridges_share_the_licences_and_survive_a_kill(
        tmp_path: Path, broker: Mosquitto, pg_dsn: str) -> None:
    seed = demo_seed_for(LICENCES)
    licences = [lic.number for lic in seed.licenses]
    config = SimConfig(facility_limit=RateLimit(per_second=1000, concurrent=50),
                       vendor_limit=RateLimit(per_second=3000, concurrent=100))
    async with MetrcSimulator(seed, config=config) as sim:
        bridges = [Proc(f"bridge-{n}", ["bridge", "-c", str(fleet_toml(
            tmp_path, f"bridge-{n}", broker, sim.url, pg_dsn, licences))], tmp_path / f"bridge-{n}.log")
            for n in (1, 2, 3)]
        outboxes: list[Outbox] = []
        uplinks: list[asyncio.Task[None]] = []
        try:
            for bridge in bridges:
                bridge.start()
            for bridge in bridges:
                up: Callable[[], bool] = functools.partial(lambda b: "connected to" in b.tail(), bridge)
                await wait_until(up, 30, "bridge up", bridges)
            ledger = await open_ledger(pg_dsn)
            try:
                async def three_holders() -> bool:
                    """Every licence held, and the work split: two licences a bridge."""
                    holders = await ledger.lease_holders()
                    shares = sorted(Counter(holders.values()).values())
                    return len(holders) == LICENCES and shares == [2, 2, 2]

                for _ in range(150):
                    if await three_holders():
                        break
                    await asyncio.sleep(0.2)
                assert await three_holders(), await ledger.lease_holders()
            finally:
                await ledger.close()

            # One manicure call is applied and its answer withheld: the bridge that sent it dies.
            await sim.set_faults(FaultPlan(rules=(FaultRule(
                action="commit_then_hang", path="/plants/v2/manicure", seconds=60, times=1),)))
            for n, licence in enumerate(licences):
                outbox = await Outbox.open(tmp_path / f"kiosk-{n}" / "outbox.db", facility=licence,
                                           device=f"kiosk-{n}")
                outboxes.append(outbox)
                uplinks.append(asyncio.create_task(Uplink(
                    MqttSettings(port=broker.port, backoff_min_s=0.2), UplinkSettings(ack_timeout_s=5),
                    outbox).run()))
            plants = {lic.number: [p.label for p in lic.plants] for lic in seed.licenses}
            flowering = {lic.number: [p.label for p in lic.plants if p.growth_phase == "Flowering"]
                         for lic in seed.licenses}
            ids: list[tuple[Outbox, str]] = []
            last_room: dict[str, str] = {}
            grams = dict.fromkeys(licences, Decimal(0))
            for i in range(MOVES + WEIGHTS):
                outbox = outboxes[i % LICENCES]
                licence = licences[i % LICENCES]
                k = i // LICENCES
                data: dict[str, Any]
                if i < MOVES:
                    tag = plants[licence][k % len(plants[licence])]
                    room = ROOMS[(k // len(plants[licence])) % 2]
                    data, kind = {"tag": tag, "location": room}, "plant.moved"
                    last_room[tag] = room
                else:
                    tag = flowering[licence][k % len(flowering[licence])]
                    value = Decimal(f"{1 + k % 7}.{i % 100:02d}")
                    grams[licence] += value
                    data = {"tag": tag, "harvest_name": f"Trim {licence}", "drying_location": "Dry Room",
                            "weight": weight(str(value))}
                    kind = "plant.manicured"
                ids.append((outbox, (await outbox.append(kind, data, user="worker-1")).id))

            def fired() -> bool:
                return any(e["fault"] == "commit_then_hang" for e in sim.log)

            await wait_until(fired, 120, "the manicure call in flight", bridges)
            (hung,) = [e["license"] for e in sim.log if e["fault"] == "commit_then_hang"]
            ledger = await open_ledger(pg_dsn)
            try:
                victim_id = (await ledger.lease_holders())[hung]
            finally:
                await ledger.close()
            victim = next(b for b in bridges if b.name == victim_id)
            victim.kill9()

            deadline = asyncio.get_running_loop().time() + 300
            while True:
                states = {}
                for outbox in outboxes:
                    states.update(await outbox.states())
                done = sum(1 for _, i in ids if states.get(i) in ("accepted", "rejected"))
                if done == len(ids):
                    break
                assert asyncio.get_running_loop().time() < deadline, (
                    f"{done}/{len(ids)} settled\n" + "\n".join(b.tail(20) for b in bridges))
                await asyncio.sleep(0.5)
            assert Counter(states[i] for _, i in ids) == {"accepted": MOVES + WEIGHTS}

            # Every effect once: each licence's moves and weights, as the state counted them.
            world = sim.snapshot()["licenses"]
            for n, licence in enumerate(licences):
                assert sent_rows(sim, "/plants/v2/location", licence) == len(range(n, MOVES, LICENCES))
                (trim,) = [h for h in world[licence]["harvests"] if h["Name"] == f"Trim {licence}"]
                assert Decimal(str(trim["TotalWetWeight"])) == grams[licence]
                # Each kiosk's events in seq order, whichever bridge stored them: the last
                # move of each plant is where it stands.
                for p in world[licence]["plants"]:
                    if p["Label"] in last_room:
                        assert p["LocationName"] == last_room[p["Label"]]

            await _one_bridge_at_a_time(pg_dsn, licences, victim_id, hung)
        finally:
            for task in uplinks:
                task.cancel()
            for outbox in outboxes:
                await outbox.close()
            for bridge in bridges:
                bridge.kill9()


async def _one_bridge_at_a_time(dsn: str, licences: list[str], victim: str, hung: str) -> None:
    """The ledger's record of who sent what: per licence, the bridge changes only when
    the lease changes hands (its fencing token grows by one at each change), so no
    two bridges ever interleave calls for one licence."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        leases = await (await conn.execute("SELECT facility, token FROM leases")).fetchall()
        tokens: dict[str, int] = {str(r[0]): int(r[1]) for r in leases}
        rows = await (await conn.execute(
            "SELECT facility, bridge, outcome FROM attempts ORDER BY n")).fetchall()
    senders: dict[str, list[str]] = {}
    for facility, bridge, _outcome in rows:
        run = senders.setdefault(facility, [])
        if not run or run[-1] != bridge:
            run.append(bridge)
    for licence in licences:
        assert len(senders[licence]) <= tokens[licence], (licence, senders[licence], tokens[licence])
    assert victim not in senders[hung][-1:]  # the licence moved away from the dead bridge
    assert {b for run in senders.values() for b in run} == {"bridge-1", "bridge-2", "bridge-3"}
