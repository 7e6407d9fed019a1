"""Nothing lost, nothing doubled: kiosk → real Mosquitto → bridge → ledger, under faults.

Every test ends with the same check (``assert_exactly_once``): the ledger holds
each kiosk event exactly once, every kiosk row reached "stored", and every scan
a worker was told was saved is among them. Each runs with the ledger on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.harness import (
    Kiosk,
    LedgerView,
    Proc,
    assert_exactly_once,
    make_bridge,
    make_kiosk,
    tag,
    wait_until,
)
from tests.provisioned import ProvisionedSite

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill9()


def settled(kiosks: list[Kiosk], ledger: LedgerView) -> bool:
    total = 0
    for kiosk in kiosks:
        states = kiosk.outbox_states()
        if any(s != "stored" for s in states.values()):
            return False
        total += len(states)
    return len(ledger.rows()) == total


async def test_agent_killed_mid_burst(tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str,
                                      procs: list[Proc]) -> None:
    """kill -9 the agent in the middle of a burst of 5,000 scans, restart it, finish."""
    bridge = make_bridge(tmp_path, provisioned, ledger_url)
    kiosk = make_kiosk(tmp_path / "kiosk", provisioned)
    procs += [bridge, kiosk.proc]
    bridge.start()
    kiosk.proc.start()
    await kiosk.wait_ready()
    codes = [tag(i) for i in range(5000)]

    async def kill_at_2500(i: int) -> None:
        if i == 2500:
            kiosk.proc.kill9()

    done = await kiosk.scan_burst(codes, during=kill_at_2500)
    assert done == 2500
    kiosk.proc.start()
    await kiosk.wait_ready()
    # The worker rescans what the kiosk never confirmed.
    assert await kiosk.scan_burst(codes[done:]) == 2500
    ledger = LedgerView(ledger_url)
    await wait_until(lambda: settled([kiosk], ledger), 90, "everything stored", [kiosk.proc, bridge])
    assert_exactly_once([kiosk], ledger)
    assert len(kiosk.saved) == 5000


async def test_bridge_killed_mid_stream(tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str,
                                        procs: list[Proc]) -> None:
    """kill -9 the bridge while events flow; the kiosk republishes, the ledger dedups."""
    bridge = make_bridge(tmp_path, provisioned, ledger_url)
    kiosk = make_kiosk(tmp_path / "kiosk", provisioned, ack_timeout_s=2.0)
    procs += [bridge, kiosk.proc]
    bridge.start()
    kiosk.proc.start()
    await kiosk.wait_ready()
    ledger = LedgerView(ledger_url)

    async def kill_bridge(i: int) -> None:
        if i == 800:
            bridge.kill9()
        if i == 1600:
            bridge.start()
        if i == 2000:
            bridge.kill9()
            bridge.start()

    assert await kiosk.scan_burst([tag(i) for i in range(3000)], during=kill_bridge) == 3000
    await wait_until(lambda: settled([kiosk], ledger), 90, "everything stored", [kiosk.proc, bridge])
    assert_exactly_once([kiosk], ledger)


async def test_broker_down_30s(tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str,
                               procs: list[Proc]) -> None:
    """The broker stops for 30 s: scans are still saved, and all arrive after it returns."""
    bridge = make_bridge(tmp_path, provisioned, ledger_url)
    kiosks = [make_kiosk(tmp_path / f"k{n}", provisioned, device=f"kiosk-0{n}") for n in (1, 2)]
    procs += [bridge, *(k.proc for k in kiosks)]
    bridge.start()
    for kiosk in kiosks:
        kiosk.proc.start()
    for kiosk in kiosks:
        await kiosk.wait_ready()
    ledger = LedgerView(ledger_url)
    await asyncio.gather(*(k.scan_burst([tag(n * 10000 + i) for i in range(500)])
                           for n, k in enumerate(kiosks)))
    provisioned.broker.kill()  # no goodbye: like a crashed broker or a pulled cable
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = 0
    while loop.time() - start < 30:  # workers keep scanning while it is down
        await asyncio.gather(*(k.scan_burst([tag(m * 10000 + 500 + n * 20 + i) for i in range(20)])
                               for m, k in enumerate(kiosks)))
        n += 1
        await asyncio.sleep(1)
    assert any(s == "pending" for k in kiosks for s in k.outbox_states().values())
    provisioned.broker.start()
    await wait_until(lambda: settled(kiosks, ledger), 120, "everything stored",
                     [k.proc for k in kiosks] + [bridge])
    assert_exactly_once(kiosks, ledger)
    assert sum(len(k.saved) for k in kiosks) == 1000 + 2 * 20 * n


async def test_a_days_backlog_drains_whole(tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str,
                                            procs: list[Proc]) -> None:
    """A kiosk that was offline for days comes back with 20,000 unsent events: they go
    out packed many to a message, and every one is stored once and confirmed."""
    from agent.testing import prefill_outbox

    kiosk = make_kiosk(tmp_path / "kiosk", provisioned)
    (kiosk.root / "state").mkdir(parents=True)
    prefill_outbox(kiosk.outbox, 20_000, facility=kiosk.facility, device=kiosk.device)
    bridge = make_bridge(tmp_path, provisioned, ledger_url)
    procs += [bridge, kiosk.proc]
    bridge.start()
    await asyncio.sleep(1.0)
    kiosk.proc.start()
    ledger = LedgerView(ledger_url)
    await wait_until(lambda: settled([kiosk], ledger), 120, "the backlog stored", [kiosk.proc, bridge])
    assert_exactly_once([kiosk], ledger)
    assert len(ledger.rows()) == 20_000
    assert "oversize" not in provisioned.broker.log_text()
