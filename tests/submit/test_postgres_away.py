"""PostgreSQL goes away under a running bridge (issue 11): its backend is terminated
(a restart, an idle-connection killer, a DBA) or the database refuses connections
for a while (a failover), in the middle of ingest and in the middle of a state call.

A real bridge process on the provisioned broker, a kiosk's outbox and uplink, the
Metrc simulator over HTTP, the ledger on a scratch PostgreSQL database. Every event
must be stored once, reach the state once and be answered; nothing the ledger did
not store is acknowledged (the kiosk is never told "stored" for it), nothing is
sent while the ledger is away, and the bridge's log says "ledger unreachable".

Before, the bridge kept its dead connection: after the first drop it stored and
sent nothing until it was restarted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from bridge.ledger import open_ledger, verify_and_record
from statesim.metrc import FaultPlan, FaultRule, MetrcSimulator
from tests.pg_outage import PgOutage
from tests.pipeline.harness import Proc
from tests.provisioned import ProvisionedSite
from tests.submit.conftest import LICENSE, bridge_toml, wait_until, weight
from tests.waiting import until

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

PLANT = "1A4FF01000000220000010{:02d}"  # 06..12 are flowering
ROOMS = ("Flower Room A", "Flower Room B")
TIMEOUT_S = 8.0  # the bridge's state call timeout


@dataclass
class Site:
    sim: MetrcSimulator
    outbox: Outbox
    bridge: Proc
    outage: PgOutage
    ledger_url: str

    async def record(self, type_: str, data: dict[str, Any]) -> str:
        return (await self.outbox.append(type_, data, user="worker-1")).id

    async def settled(self, ids: list[str], timeout: float = 90) -> dict[str, str]:
        async def answered() -> bool:
            states = await self.outbox.states()
            return all(states.get(i) in ("accepted", "rejected") for i in ids)

        await until(answered, "every event answered", timeout, interval=0.2,
                    detail=lambda: self.bridge.tail(60))
        return dict(await self.outbox.states())

    def writes(self, path: str) -> list[dict[str, Any]]:
        """The simulator's writes to ``path`` that it applied."""
        return [e for e in self.sim.log if e["method"] != "GET" and e["path"] == path
                and (e["status"] == 200 or str(e["fault"]).startswith("commit_then"))]

    async def told(self, ids: list[str]) -> dict[str, str]:
        return {r.id: r.message or "" for r in await self.outbox.recent(500) if r.id in ids}

    async def check_ledger(self, ids: list[str]) -> None:
        """Each event once in the ledger, nothing quarantined, the chain whole: one entry
        per event stored and one per verdict, none twice through a retried commit."""
        ledger = await open_ledger(self.ledger_url)
        try:
            assert sorted(await ledger.event_ids()) == sorted(ids)
            assert await ledger.quarantined() == []
            (report,) = await verify_and_record(ledger, LICENSE)
            assert report.mismatch is None
            assert report.entries == 2 * len(ids)
        finally:
            await ledger.close()


@pytest.fixture
async def site(tmp_path: Path, provisioned: ProvisionedSite, pg_dsn: str) -> AsyncIterator[Site]:
    sim = MetrcSimulator()
    await sim.start()
    outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    conf = bridge_toml(tmp_path, provisioned, sim.url, ledger_url=pg_dsn, timeout_s=TIMEOUT_S)
    bridge = Proc("bridge", ["bridge", "-c", str(conf)], tmp_path / "bridge.log")
    bridge.start()
    outage = PgOutage(pg_dsn)
    uplink = None
    try:
        await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
        await asyncio.sleep(0.3)
        uplink = asyncio.create_task(Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2),
                                            UplinkSettings(ack_timeout_s=5), outbox).run())
        yield Site(sim, outbox, bridge, outage, pg_dsn)
    finally:
        if uplink is not None:
            uplink.cancel()
        bridge.kill9()
        await outage.up()
        await outbox.close()
        await sim.stop()


async def test_ingest_through_a_terminated_backend_and_a_refused_database(site: Site) -> None:
    moves: list[tuple[str, str]] = []  # (event id, plant)
    during: list[str] = []  # recorded while the database refused connections

    async def move(i: int) -> None:
        plant = PLANT.format(i % 10 + 1)
        moves.append((await site.record("plant.moved", {"tag": plant, "location": ROOMS[i // 10 % 2]}),
                      plant))

    for i in range(120):
        if i == 40:
            # A restart's or an idle killer's cut, mid-stream: the next commit reconnects.
            assert await site.outage.kill() >= 1, site.bridge.tail()
        if i == 80:
            async with site.outage.away():
                for j in range(20):
                    await move(i + j)
                    during.append(moves[-1][0])
                    await asyncio.sleep(0.15)
                await wait_until(lambda: "ledger unreachable" in site.bridge.tail(200), 20,
                                 "the bridge saying the ledger is unreachable", [site.bridge])
                await asyncio.sleep(2)  # the kiosk's answer would have come by now
                # Not stored, so not acknowledged: the kiosk still holds every one of them.
                held = await site.outbox.states()
                assert not [i for i in during if held.get(i) in ("stored", "accepted", "rejected")]
            continue
        if 80 <= i < 100:
            continue
        await move(i)
        await asyncio.sleep(0.02)

    ids = [event_id for event_id, _ in moves]
    assert len(ids) == 120
    states = await site.settled(ids)
    assert {states[i] for i in ids} == {"accepted"}, site.bridge.tail(60)
    await site.check_ledger(ids)
    # Each move reached the state once, and each plant ended where its last move put it.
    assert sum(int(e["rows"]) for e in site.writes("/plants/v2/location")) == len(ids)
    plants = {p["Label"]: p for p in site.sim.state()["licenses"][LICENSE]["plants"]}
    last = {plant: ROOMS[i // 10 % 2] for i, (_, plant) in enumerate(moves)}
    assert {plant: plants[plant]["LocationName"] for plant in last} == last
    assert "ledger reachable again" in site.bridge.tail(400)


def _manicure(n: int, grams: str) -> dict[str, Any]:
    return {"tag": PLANT.format(n), "harvest_name": "Away-M", "drying_location": "Dry Room",
            "weight": weight(grams)}


async def test_a_call_answered_while_the_ledger_is_away_is_read_back_not_sent_again(site: Site) -> None:
    """The state call is in flight when the database goes away: the answer comes back
    but cannot be written. Nothing is sent while the ledger is away; once it is back the
    call's events are read back (the state has them) and answered accepted, not re-sent."""
    path = "/plants/v2/manicure"
    await site.sim.set_faults(FaultPlan(rules=(FaultRule(
        action="latency", path=path, methods=("POST",), seconds=3.0, times=1),)))
    first = [await site.record("plant.manicured", _manicure(n, "2.5")) for n in range(6, 13)]

    async def sending() -> bool:  # the test's own look at the ledger, as a DBA would
        async with await psycopg.AsyncConnection.connect(site.ledger_url, autocommit=True) as db:
            cursor = await db.execute("SELECT count(*) FROM attempts WHERE outcome = 'sending'"
                                      " AND endpoint LIKE '%manicure%'")
            row = await cursor.fetchone()
            return row is not None and int(row[0]) > 0

    await until(sending, "a manicure call in flight", 30, interval=0.05, detail=lambda: site.bridge.tail())
    async with site.outage.away():
        await until(lambda: bool(site.writes(path)), "the held call answered", 15, interval=0.05)
        sent = len([e for e in site.sim.log if e["method"] != "GET"])
        later = [await site.record("plant.manicured", _manicure(n, "1.25")) for n in range(6, 9)]
        await wait_until(lambda: "ledger unreachable" in site.bridge.tail(200), 20,
                         "the bridge saying the ledger is unreachable", [site.bridge])
        await asyncio.sleep(TIMEOUT_S / 2)
        # While the ledger is away no intent can be written, so no call leaves.
        assert len([e for e in site.sim.log if e["method"] != "GET"]) == sent
    ids = first + later
    states = await site.settled(ids)
    assert {states[i] for i in ids} == {"accepted"}, site.bridge.tail(60)
    (harvest,) = [h for h in site.sim.state()["licenses"][LICENSE]["harvests"] if h["Name"] == "Away-M"]
    assert Decimal(str(harvest["TotalWetWeight"])) == 7 * Decimal("2.5") + 3 * Decimal("1.25")
    assert sum(int(e["rows"]) for e in site.writes(path)) == len(ids)  # each once
    told = await site.told(first)
    # The answer the bridge could not write was taken from the state by reading back.
    assert any("confirmed by reading it back" in told[i] for i in first), told
    await site.check_ledger(ids)


async def test_a_bridge_cut_off_from_the_ledger_never_sends_under_the_lease_it_lost(
        tmp_path: Path, provisioned: ProvisionedSite, pg_dsn: str) -> None:
    """Two bridges, each with its own PostgreSQL login; the one submitting the licence is
    cut off from the database (a partition: its connections ended, its login refused)
    for longer than its lease. The other takes the licence over and submits; when the
    first comes back it finds its lease gone (fencing token), sends nothing under it,
    and every move reaches the state once."""
    outage = PgOutage(pg_dsn)
    await (await open_ledger(pg_dsn)).close()  # the schema, owned by the tests' own login
    async with outage.login(pg_dsn, "bridge_a") as url_a, outage.login(pg_dsn, "bridge_b") as url_b, \
            MetrcSimulator() as sim:
        quick = "timeout_s = 1.0\nrequests_per_s = 50"  # a lease of max(3, 1.5 x 1 + 1) = 3 s
        bridges = {name: Proc(name, ["bridge", "-c", str(provisioned.metrc_bridge_toml(
            tmp_path, name, LICENSE, sim.url, url, ledger_extra="lease_s = 3", facility_extra=quick))],
            tmp_path / f"{name}.log") for name, url in (("bridge-a", url_a), ("bridge-b", url_b))}
        outbox = await Outbox.open(tmp_path / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
        uplink = None
        procs = list(bridges.values())
        try:
            bridges["bridge-a"].start()  # first, so that it holds the licence
            await wait_until(lambda: f"submitting for {LICENSE}" in bridges["bridge-a"].tail(), 30,
                             "bridge-a holding the licence", procs)
            bridges["bridge-b"].start()
            await wait_until(lambda: "connected to" in bridges["bridge-b"].tail(), 30, "bridge-b connected",
                             procs)
            uplink = asyncio.create_task(Uplink(provisioned.settings("kiosk-01", backoff_min_s=0.2),
                                                UplinkSettings(ack_timeout_s=3), outbox).run())
            ids: list[str] = []

            async def moves(start: int, n: int) -> list[str]:
                out = [(await outbox.append("plant.moved", {"tag": PLANT.format(i % 10 + 1),
                                                            "location": ROOMS[i // 10 % 2]},
                                            user="worker-1")).id for i in range(start, start + n)]
                ids.extend(out)
                return out

            async def settled(these: list[str]) -> None:
                async def answered() -> bool:
                    states = await outbox.states()
                    return all(states.get(i) == "accepted" for i in these)

                await until(answered, "every move accepted", 90, interval=0.2,
                            detail=lambda: "\n".join(p.tail(30) for p in procs))

            await settled(await moves(0, 20))
            assert "submitting for" not in bridges["bridge-b"].tail(200)  # a holds it

            cut_at = time.time_ns() // 1_000_000
            assert await outage.lock_out(outage.user(url_a)) >= 1
            await wait_until(lambda: f"submitting for {LICENSE}" in bridges["bridge-b"].tail(200), 30,
                             "bridge-b taking the licence over", procs)
            during = await moves(20, 20)
            await settled(during)  # stored and sent by bridge-b alone
            assert "ledger unreachable" in bridges["bridge-a"].tail(400)
            await outage.let_in(outage.user(url_a))
            await wait_until(lambda: "ledger reachable again" in bridges["bridge-a"].tail(400), 30,
                             "bridge-a back on the ledger", procs)
            await settled(await moves(40, 20))
        finally:
            if uplink is not None:
                uplink.cancel()
            for proc in procs:
                proc.kill9()
            await outbox.close()
        a_log = bridges["bridge-a"].tail(400)
        assert "lost the lease" in a_log or "no longer holds the lease" in a_log, a_log
        # Each move reached the state once, though two bridges held the licence in turn.
        applied = [e for e in sim.log if e["method"] != "GET" and e["path"] == "/plants/v2/location"
                   and e["status"] == 200]
        assert sum(int(e["rows"]) for e in applied) == len(ids) == 60
        ledger = await open_ledger(pg_dsn)
        try:
            assert sorted(await ledger.event_ids()) == sorted(ids)
            # No call left bridge-a after it was cut off: it could write no intent, and when
            # it came back its lease (token) was bridge-b's.
            late = [a for a in await ledger.attempts() if a.bridge == "bridge-a" and a.at >= cut_at]
            assert late == [], late
            assert {a.bridge for a in await ledger.attempts() if a.at >= cut_at} == {"bridge-b"}
        finally:
            await ledger.close()
