"""Faults over real pty pairs: cable pulled and re-plugged, garbage on the line, a
scale that does not answer, a missing or busy port, a closed driver."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import pytest

from drivers.faults import DeviceFault
from drivers.scale import (
    LinkState,
    Reading,
    ReadingState,
    ScaleConfig,
    ScaleStatus,
    SerialScale,
    SimScale,
    open_scale,
)
from drivers.scale.testing import (
    DISCONNECTED,
    NOT_ANSWERING,
    PORT_BUSY,
    UNREADABLE,
    FakeScale,
    ProtocolName,
    StatusLog,
)

pytestmark = pytest.mark.timeout(30)

PROTOCOLS: list[ProtocolName] = ["mt-sics", "toledo-8217", "ohaus", "and", "sma", "nci"]
UNIT = {"toledo-8217": "lb"}


def config(protocol: ProtocolName = "mt-sics", **overrides: Any) -> ScaleConfig:
    values: dict[str, Any] = {
        "protocol": protocol,
        "unit": "lb" if protocol == "toledo-8217" else None,
        "reconnect_interval": 0.05,
        "poll_interval": 0.02,
        "reply_timeout": 0.5,
        "stable_timeout": 3.0,
        "ack_window": 0.05,
    }
    return ScaleConfig(**{**values, **overrides})


async def next_value(stream: Any, value: Decimal) -> Reading:
    async with asyncio.timeout(10):
        async for reading in stream:
            if reading.value == value:
                return reading  # type: ignore[no-any-return]
    raise AssertionError("stream ended")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_cable_pulled_and_replugged(protocol: ProtocolName) -> None:
    log = StatusLog()
    unit = UNIT.get(protocol, "g")
    async with SimScale(config(protocol), on_state=log) as scale:
        await scale.wait_connected(5)
        stream = scale.readings()  # one long-lived iterator across the whole episode
        scale.set_weight(Decimal("7.00"), unit)
        await next_value(stream, Decimal("7.00"))

        mark = len(log.events)
        scale.unplug()  # master fd closed, port path gone
        down = await log.wait_for(lambda s: s.link is LinkState.DISCONNECTED, after=mark)
        assert down.fault is not None
        assert down.fault.message == DISCONNECTED
        assert not scale.connected
        with pytest.raises(DeviceFault, match=DISCONNECTED):
            await scale.weigh()
        with pytest.raises(DeviceFault, match=DISCONNECTED):
            await scale.next_stable(1)

        mark = len(log.events)
        scale.replug()
        up = await log.wait_for(lambda s: s.link is LinkState.CONNECTED, after=mark)
        assert up.fault is None
        scale.set_weight(Decimal("8.00"), unit)
        assert (await next_value(stream, Decimal("8.00"))).state is ReadingState.STABLE
        assert (await scale.weigh()).value == Decimal("8.00")
        await stream.aclose()


async def test_a_weigh_in_flight_when_the_cable_is_pulled_fails_cleanly() -> None:
    async with SimScale(config("mt-sics", stable_timeout=10)) as scale:
        await scale.wait_connected(5)
        scale.set_weight(Decimal("1.00"), stable=False)  # S waits for stability
        weigh = asyncio.create_task(scale.weigh())
        assert await scale.fake.commands.get() == b"S"
        scale.unplug()
        with pytest.raises(DeviceFault, match=DISCONNECTED):
            await weigh


async def test_scale_starts_unplugged_and_is_found_when_plugged_in() -> None:
    fake = FakeScale("mt-sics")  # not plugged: the port path does not exist yet
    log = StatusLog()
    scale = open_scale(config(kind="serial", port=fake.port), on_state=log)
    try:
        first = await log.wait_for(lambda s: s.fault is not None)
        assert first.link is LinkState.DISCONNECTED
        assert first.fault is not None
        assert "is not there" in first.fault.detail
        with pytest.raises(DeviceFault, match=DISCONNECTED):
            await scale.wait_connected(0.1)
        fake.plug()
        await scale.wait_connected(5)
        fake.set_weight(Decimal("2.50"))
        assert (await scale.weigh()).value == Decimal("2.50")
    finally:
        await scale.aclose()
        await fake.aclose()


def clean_garbage(seed: str, size: int) -> bytes:
    # XON/XOFF (0x11/0x13) are flow control on the tty, not data: an XOFF would
    # (correctly) stop our own transmissions, which is a different test.
    return bytes(b for b in random.Random(seed).randbytes(size) if b not in (0x11, 0x13))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_garbage_while_polling_never_becomes_a_weight(protocol: ProtocolName) -> None:
    log = StatusLog()
    async with SimScale(config(protocol), on_state=log) as scale:
        await scale.wait_connected(5)
        stream = scale.readings()
        scale.set_weight(Decimal("7.00"), UNIT.get(protocol, "g"))
        await next_value(stream, Decimal("7.00"))
        mark = len(log.events)
        for i in range(5):
            scale.fake.write(clean_garbage(f"{protocol}{i}", 300))
            await asyncio.sleep(0.03)  # let polls interleave with the noise
        bad = await log.wait_for(lambda s: s.fault is not None, after=mark)
        assert bad.fault is not None
        assert bad.fault.message == UNREADABLE
        await log.wait_for(lambda s: s.fault is None, after=mark)  # recovered by itself
        seen = []
        async with asyncio.timeout(10):
            async for reading in stream:
                seen.append(reading)
                if len(seen) == 20:
                    break
        # Every reading is the weight on the platter, read from a real frame.
        assert {(r.value, r.state) for r in seen} == {(Decimal("7.00"), ReadingState.STABLE)}
        await stream.aclose()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_silent_scale_is_reported_as_not_answering(protocol: ProtocolName) -> None:
    log = StatusLog()
    async with SimScale(config(protocol), on_state=log) as scale:
        await scale.wait_connected(5)
        scale.fake.respond = False
        with pytest.raises(DeviceFault) as caught:
            await scale.weigh(immediate=True)
        assert caught.value.message == NOT_ANSWERING
        assert "within 0.5 s" in caught.value.detail
        stream = scale.readings()  # the poller now runs and reports it on the status
        status = await log.wait_for(lambda s: s.fault is not None)
        assert status.fault is not None
        assert status.fault.message == NOT_ANSWERING
        assert status.connected  # the port is fine; the scale is not talking
        await stream.aclose()


async def test_a_second_program_on_the_same_port_is_told_it_is_busy() -> None:
    async with SimScale(config()) as first:
        await first.wait_connected(5)
        log = StatusLog()
        second = SerialScale(config(kind="serial", port=first.fake.port), on_state=log)
        try:
            status = await log.wait_for(lambda s: s.fault is not None)
            assert status.fault is not None
            assert status.fault.message == PORT_BUSY
        finally:
            await second.aclose()


async def test_closing_ends_streams_and_refuses_further_use() -> None:
    log = StatusLog()
    scale = SimScale(config(), on_state=log)
    await scale.wait_connected(5)
    stream = scale.readings()
    reader = asyncio.create_task(anext(stream, None))
    await scale.aclose()
    assert await reader is None  # the iterator finished instead of hanging
    assert log.events[-1].link is LinkState.CLOSED
    with pytest.raises(DeviceFault, match="scale closed"):
        await scale.weigh()
    with pytest.raises(DeviceFault, match="scale closed"):
        await scale.tare()
    await scale.aclose()  # idempotent


async def test_a_broken_state_callback_does_not_break_the_scale() -> None:
    def explode(status: ScaleStatus) -> None:
        raise RuntimeError("observer bug")

    async with SimScale(config(), on_state=explode) as scale:
        await scale.wait_connected(5)
        scale.set_weight(Decimal("1.50"))
        assert (await scale.weigh()).value == Decimal("1.50")
