"""Talking to the state like a good citizen (issue 11 item 6), over real HTTP into the
Metrc simulator with fault injection.

Each licence has one connection from its plug-in (``bridge.state.registry``): the
reference source, the mapper's reads, read-backs and writes share its client and
so its throttle and its outage record. A ``Retry-After`` pauses that licence's
reads and writes and no other licence's; the licence's GET budget never holds a
write back; any call the state does not answer opens the outage, the next answer
closes it, and the 72-hour alert fires whichever part of the bridge saw it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.config import FacilityProfile, MetrcCredentials
from bridge.ledger import SqliteLedger
from bridge.outages import LedgerOutages
from bridge.state import StateUnavailable
from bridge.state.metrc import MetrcClient, MovePlant
from bridge.state.plugin import Connection, Shared
from bridge.state.registry import connect_all
from bridge.submit import Submitter, business_date
from statesim import simulator
from statesim.biotrack import DEMO_ACCOUNTS
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, FaultPlan, FaultRule, MetrcSimulator
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)
A, B = DEMO_LICENSES
ZONE = "America/Los_Angeles"
HOUR_MS = 3_600_000


def profile(sim: MetrcSimulator, licence: str, **kw: Any) -> FacilityProfile:
    return FacilityProfile.model_validate({
        "license": licence, "state": "CA", "system": "metrc", "base_url": sim.url, "timezone": ZONE,
        "metrc": MetrcCredentials.model_validate({"vendor_key": DEMO_VENDOR_KEY, "user_key": DEMO_USER_KEY}),
        "requests_per_s": 50, "timeout_s": 2, **kw,
    })


@pytest.fixture
async def sim() -> AsyncIterator[MetrcSimulator]:
    async with MetrcSimulator() as running:
        yield running


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    opened = await SqliteLedger.open(tmp_path / "ledger.db")
    yield opened
    await opened.close()


def shared(ledger: SqliteLedger) -> Shared:
    """What the bridge gives every plug-in: outage records in the ledger."""
    return Shared(ledger, outages=functools.partial(LedgerOutages, ledger))


async def connections(sim: MetrcSimulator, ledger: SqliteLedger,
                      **a_profile: Any) -> tuple[Connection, Connection]:
    state = connect_all([profile(sim, A, **a_profile), profile(sim, B)], shared(ledger))
    return state[A], state[B]


def metrc(connection: Connection) -> MetrcClient:
    """The licence's one client, the one its mapper, sender and reference source use."""
    assert isinstance(connection.client, MetrcClient)
    return connection.client


def a_move(sim: MetrcSimulator, licence: str) -> MovePlant:
    """Moving one of the licence's plants to the room it is in (accepted, changes nothing)."""
    plant = sim.snapshot(licence)["licenses"][licence]["plants"][0]
    return MovePlant(label=plant["Label"], location=plant["LocationName"],
                     actual_date=business_date(datetime.now().astimezone(), ZONE))


def requests_of(sim: MetrcSimulator, licence: str, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in list(sim.log)[since:] if e["license"] == licence]


async def test_a_429_on_a_reference_read_pauses_that_licence_only(
    sim: MetrcSimulator, ledger: SqliteLedger
) -> None:
    a, b = await connections(sim, ledger)
    await sim.set_faults(FaultPlan(rules=(
        FaultRule(action="error", status=429, retry_after=2, path="/locations/v2/active", license=A, times=1),
    )))
    sync = asyncio.create_task(a.refsource.fetch())  # waits the 429 out, then reads on
    await until(lambda: a.throttle.paused_for > 0, "the 429")
    mark = len(sim.log)
    write_a = asyncio.create_task(a.sender.send(metrc(a).move_plants, [a_move(sim, A)]))
    read_a = asyncio.create_task(metrc(a).strains())

    await b.sender.send(metrc(b).move_plants, [a_move(sim, B)])  # the other licence keeps going
    await b.refsource.fetch()
    assert not write_a.done() and not read_a.done()
    assert requests_of(sim, A, mark) == [], "licence A sent something during its Retry-After"

    await asyncio.gather(write_a, read_a, sync)
    (limited,) = [e for e in requests_of(sim, A) if e["status"] == 429]
    after = [e for e in requests_of(sim, A, mark)]
    assert {e["method"] for e in after} >= {"PUT", "GET"}
    paused = min(datetime.fromisoformat(e["at"]) for e in after) - datetime.fromisoformat(limited["at"])
    assert paused.total_seconds() >= 1.9  # Retry-After: 2, for writes as for reads
    assert await ledger.outages() == []  # a 429 is an answer, not an outage


async def test_the_get_budget_never_holds_a_write_back(sim: MetrcSimulator, ledger: SqliteLedger) -> None:
    a, _ = await connections(sim, ledger, reads_per_s=2, reads_at_once=1)
    reads = [asyncio.create_task(metrc(a).strains()) for _ in range(6)]
    await asyncio.sleep(0.1)
    await a.sender.send(metrc(a).move_plants, [a_move(sim, A)])
    assert sum(not r.done() for r in reads) >= 3, "the write waited behind the reads"
    await asyncio.gather(*reads)
    methods = [e["method"] for e in requests_of(sim, A)]
    assert methods.index("PUT") < len(methods) - 3  # the write went out before most reads


async def test_licences_on_one_vendor_key_share_its_get_budget(
    sim: MetrcSimulator, ledger: SqliteLedger
) -> None:
    a, b = await connections(sim, ledger)
    assert a.throttle is not b.throttle
    assert a.throttle.vendor is not None and a.throttle.vendor is b.throttle.vendor
    assert a.throttle.reads is not b.throttle.reads


async def test_a_failed_reference_read_opens_an_outage_that_the_next_write_closes(
    sim: MetrcSimulator, ledger: SqliteLedger
) -> None:
    a, _ = await connections(sim, ledger)
    await sim.set_faults(FaultPlan(rules=(
        FaultRule(action="error", status=503, path="/locations/v2/active", license=A, times=1),
    )))
    with pytest.raises(StateUnavailable):
        await a.refsource.fetch()
    (outage,) = await ledger.outages(A, open_only=True)
    assert "unavailable" in outage.cause and "/locations/v2/active" in outage.cause
    assert await ledger.outages(B) == []  # only the licence that failed

    await a.sender.send(metrc(a).move_plants, [a_move(sim, A)])
    assert await ledger.outages(A, open_only=True) == []
    (closed,) = await ledger.outages(A)
    assert closed.ended is not None and closed.ended >= closed.started


async def test_a_failed_read_back_opens_an_outage_that_a_reference_read_closes(
    sim: MetrcSimulator, ledger: SqliteLedger
) -> None:
    a, _ = await connections(sim, ledger)
    label: str = sim.state()["licenses"][A]["plants"][0]["Label"]
    await sim.set_faults(FaultPlan(rules=(
        FaultRule(action="reset", path=f"/plants/v2/{label}", license=A, times=1),
    )))
    with pytest.raises(StateUnavailable):
        await metrc(a).plant(label)
    (outage,) = await ledger.outages(A, open_only=True)
    assert "no answer from Metrc" in outage.cause

    await a.refsource.fetch()
    assert await ledger.outages(A, open_only=True) == []


async def test_the_72_hour_alert_fires_for_an_outage_reference_sync_opened(
    sim: MetrcSimulator, ledger: SqliteLedger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = {"now": 1_790_000_000_000}
    ledger.clock = lambda: clock["now"]
    a, _ = await connections(sim, ledger)
    await sim.set_faults(FaultPlan(outage_seconds=60))
    with pytest.raises(StateUnavailable):
        await a.refsource.fetch()
    # Nothing waits to be submitted: only the reference sync has seen the state fail.
    submitter = Submitter(A, ledger, a.mapper, a.sender, flush_interval_s=0.02)
    caplog.set_level(logging.CRITICAL, logger="bridge.submit._submitter")
    task = asyncio.create_task(submitter.run())
    try:
        clock["now"] += 73 * HOUR_MS
        await until(lambda: any("ALERT" in r.getMessage() for r in caplog.records), "the alert")
        (outage,) = await ledger.outages(A, open_only=True)
        assert outage.alerted
        (alert,) = [r.getMessage() for r in caplog.records if "ALERT" in r.getMessage()]
        assert A in alert and "73 hours" in alert
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_biotrack_503_with_retry_after_pauses_the_licence_and_opens_an_outage(
    ledger: SqliteLedger
) -> None:
    north = DEMO_ACCOUNTS[0]
    async with simulator("biotrack", seed=5) as sim:
        profile = FacilityProfile.model_validate({
            "license": north.location, "state": "NM", "system": "biotrack", "base_url": sim.url,
            "timezone": "America/Denver", "timeout_s": 2,
            "biotrack": {"ubi": north.ubi, "username": north.username, "password": north.password,
                         "location": north.location},
        })
        (state,) = connect_all([profile], shared(ledger)).values()
        try:
            await sim.set_faults({"rules": [{"kind": "status", "status": 503, "retry_after_s": 2,
                                             "actions": ["sync_plant_room"], "count": 1}]})
            with pytest.raises(StateUnavailable):
                await state.refsource.fetch()
            assert state.throttle.paused_for > 1  # BioTrack's Retry-After holds every call of the licence
            (outage,) = await ledger.outages(north.location, open_only=True)
            assert "HTTP 503" in outage.cause

            await state.refsource.fetch()  # waits the pause out, then the state answers
            assert await ledger.outages(north.location, open_only=True) == []
            calls = [c for c in sim.state()["calls"] if c["action"] == "sync_plant_room"]
            assert len(calls) == 2
        finally:
            await state.aclose()


async def test_an_outage_that_ends_past_the_threshold_is_still_alerted(
    ledger: SqliteLedger, caplog: pytest.LogCaptureFixture
) -> None:
    """Between two of the submitter's looks the state may come back: the outage is
    alerted on its way out, since the licensee must report it either way."""
    clock = {"now": 1_790_000_000_000}
    ledger.clock = lambda: clock["now"]
    record = LedgerOutages(ledger, A, alert_hours=72)
    await record.failed("unavailable: no answer from Metrc")
    clock["now"] += 80 * HOUR_MS
    await record.answered()
    (outage,) = await ledger.outages(A)
    assert outage.ended is not None and outage.alerted
    assert [r for r in caplog.records if "ALERT" in r.getMessage() and "80 hours" in r.getMessage()]
