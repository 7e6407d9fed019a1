"""The PostgreSQL ledger after its connection drops (issue 11): PostgreSQL restarts,
fails over, or a DBA or an idle-connection killer ends the bridge's session.

Before, the ledger kept its dead connection and every call failed from then on
("the connection is closed"): the bridge stored and sent nothing until restarted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bridge.ledger import (
    Fence,
    IncomingEvent,
    LeaseLost,
    LedgerUnreachable,
    PostgresLedger,
    describe,
    open_ledger,
)
from canopy.ids import uuid7
from tests.pg_outage import PgOutage
from tests.waiting import until

LICENSE = "CA-LIC-0001"


def event(seq: int) -> IncomingEvent:
    event_id = uuid7()
    return IncomingEvent(event_id, LICENSE, "kiosk-01", seq, "plant.moved", "2026-12-01T10:00:00.000Z",
                         f'{{"id":"{event_id}","room":"Flower 1"}}'.encode(), " 1A4FF0100000022000000123 ")


async def pg_ledger(dsn: str) -> PostgresLedger:
    ledger = await open_ledger(dsn)
    assert isinstance(ledger, PostgresLedger)
    return ledger


async def test_a_terminated_backend_is_replaced_and_the_call_goes_through(pg_dsn: str) -> None:
    ledger = await pg_ledger(pg_dsn)
    try:
        first = [event(i) for i in range(3)]
        assert (await ledger.store(first, [])).new == [e.id for e in first]
        assert await PgOutage(pg_dsn).kill() == 1  # the ledger's one connection
        # The next call finds the connection gone, connects again, makes the session's
        # COPY staging table again, and stores: no error reaches the caller.
        second = [event(i) for i in range(3, 6)]
        assert (await ledger.store(second, [])).new == [e.id for e in second]
        assert ledger.session.reconnects == 1
        await PgOutage(pg_dsn).kill()
        assert len(await ledger.to_submit(LICENSE, 100)) == 6  # a read, the same way
        assert sorted(await ledger.event_ids()) == sorted(e.id for e in first + second)
        assert ledger.session.reconnects == 2
    finally:
        await ledger.close()


async def test_an_unreachable_ledger_says_so_and_comes_back(
        pg_dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bridge.ledger")
    ledger = await pg_ledger(pg_dsn)
    outage = PgOutage(pg_dsn)
    try:
        stored = event(1)
        async with outage.away():
            with pytest.raises(LedgerUnreachable) as first:
                await ledger.store([stored], [])
            assert "ledger unreachable" in str(first.value)
            assert first.value.retry_in_s > 0
            assert not ledger.session.reachable
            # Within the backoff a call fails at once, without knocking on the server.
            loop = asyncio.get_running_loop()
            began = loop.time()
            with pytest.raises(LedgerUnreachable):
                await ledger.counts()
            assert loop.time() - began < 0.5
            said = [r.getMessage() for r in caplog.records if "ledger unreachable" in r.getMessage()]
            assert len(said) == 1, said  # once per outage, naming the server but not the password
            assert "127.0.0.1" in said[0] and "postgres:postgres" not in said[0]

        async def back() -> bool:
            try:
                # "new": nothing of the refused call was stored
                return (await ledger.store([stored], [])).new == [stored.id]
            except LedgerUnreachable:
                return False

        await until(back, "the ledger storing again", 15, interval=0.2)
        assert ledger.session.reachable
        assert (await ledger.counts()).events == 1
        assert any("ledger reachable again" in r.getMessage() for r in caplog.records)
    finally:
        await outage.up()
        await ledger.close()


async def test_a_lease_that_ran_out_during_the_outage_is_refused_after_it(pg_dsn: str) -> None:
    """The lease is a row with a fencing token, not a session advisory lock: the
    reconnected bridge must not send under a lease another bridge took meanwhile."""
    one, two = await pg_ledger(pg_dsn), await pg_ledger(pg_dsn)
    outage = PgOutage(pg_dsn)
    try:
        stored = event(1)
        await one.store([stored], [])
        token = await one.acquire_lease(LICENSE, "bridge-1", 1.0)
        assert token is not None
        fence = Fence(LICENSE, "bridge-1", token, guard_ms=100)
        async with outage.away():
            with pytest.raises(LedgerUnreachable):
                await one.renew_leases([fence], 10)
            await asyncio.sleep(1.2)  # bridge-1's lease runs out while it cannot renew it

        async def taken() -> bool:
            try:
                return await two.acquire_lease(LICENSE, "bridge-2", 10) == token + 1
            except LedgerUnreachable:
                return False

        await until(taken, "bridge-2 taking the licence over", 15, interval=0.2)
        assert await one.renew_leases([fence], 10) == set()  # one's reconnect finds it gone
        with pytest.raises(LeaseLost):
            await one.begin_attempt(LICENSE, "/plants/v2/moves", [stored.id], "d", "bridge-1", fence)
        assert await one.attempts() == []  # no intent, so no call left bridge-1
        assert await one.lease_holders() == {LICENSE: "bridge-2"}
    finally:
        await outage.up()
        await one.close()
        await two.close()


async def test_a_lease_still_held_survives_the_dropped_connection(pg_dsn: str) -> None:
    ledger = await pg_ledger(pg_dsn)
    try:
        stored = event(1)
        await ledger.store([stored], [])
        token = await ledger.acquire_lease(LICENSE, "bridge-1", 30)
        assert token is not None
        fence = Fence(LICENSE, "bridge-1", token, guard_ms=1000)
        await PgOutage(pg_dsn).kill()
        assert await ledger.renew_leases([fence], 30) == {LICENSE}
        n = await ledger.begin_attempt(LICENSE, "/plants/v2/moves", [stored.id], "d", "bridge-1", fence)
        await PgOutage(pg_dsn).kill()
        await ledger.end_attempt(n, "ok", 200, "", fence)
        assert [a.outcome for a in await ledger.attempts()] == ["ok"]
    finally:
        await ledger.close()


async def test_the_bridge_names_its_connection_unless_the_url_does(pg_dsn: str) -> None:
    """IT finds the bridge in ``pg_stat_activity`` (and can terminate it, as these tests do);
    a setting in the URL wins over the bridge's own."""
    ours, theirs = await pg_ledger(pg_dsn), await pg_ledger(f"{pg_dsn}?application_name=north-bridge")
    try:
        assert await PgOutage(pg_dsn).clients() == ["canopy-bridge", "north-bridge"]
        said = describe(f"{pg_dsn}?application_name=x")  # what the log and errors name
        assert said.startswith("PostgreSQL at ") and said.endswith("/" + PgOutage(pg_dsn).database)
        assert "@" not in said and "password" not in said
    finally:
        await ours.close()
        await theirs.close()


async def test_every_connection_reads_without_jit_or_parallel_workers(pg_dsn: str) -> None:
    """The session settings a short lookup needs hold on the first connection and on one made
    again: with JIT and parallel workers a tag's 5-row activity took 100 ms at 10M events."""
    ledger = await pg_ledger(pg_dsn)
    try:
        settings = "SELECT current_setting('jit'), current_setting('max_parallel_workers_per_gather')"
        assert await ledger._fetch(settings, ()) == [("off", "0")]
        assert await PgOutage(pg_dsn).kill() == 1
        assert await ledger._fetch(settings, ()) == [("off", "0")]
        assert ledger.session.reconnects == 1
    finally:
        await ledger.close()
