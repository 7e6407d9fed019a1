"""The serial driver's behaviour, the same for every protocol, over real pty pairs:
stable-only weights, next_stable, continuous streams, tare/zero, refusals."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from drivers.faults import DeviceFault
from drivers.scale import Reading, ReadingState, ScaleConfig, SimScale
from drivers.scale.testing import FrameContext, ProtocolName, parse, stream_start

pytestmark = pytest.mark.timeout(30)

PROTOCOLS: list[ProtocolName] = ["mt-sics", "toledo-8217", "ohaus", "and", "sma", "nci"]
STREAMING = [p for p in PROTOCOLS if stream_start(p)]
UNIT = {"toledo-8217": "lb"}


def config(protocol: ProtocolName, **overrides: Any) -> ScaleConfig:
    return ScaleConfig(
        protocol=protocol,
        unit="lb" if protocol == "toledo-8217" else None,
        reconnect_interval=0.05,
        poll_interval=0.02,
        reply_timeout=1.0,
        stable_timeout=3.0,
        ack_window=0.05,
        **overrides,
    )


async def open_sim(protocol: ProtocolName, **overrides: Any) -> SimScale:
    scale = SimScale(config(protocol, **overrides), stream_interval=0.02)
    await scale.wait_connected(5)
    return scale


async def collect_until(stream: Any, predicate: Any, *, limit: int = 500) -> list[Reading]:
    seen: list[Reading] = []
    async with asyncio.timeout(10):
        async for reading in stream:
            seen.append(reading)
            if predicate(seen) or len(seen) >= limit:
                return seen
    return seen


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_weigh_returns_a_stable_loggable_weight_with_its_raw_frame(protocol: ProtocolName) -> None:
    async with await open_sim(protocol) as scale:
        unit = UNIT.get(protocol, "g")
        scale.set_weight(Decimal("12.34"), unit)
        reading = await scale.weigh()
        assert (reading.value, reading.unit, reading.state) == (Decimal("12.34"), unit, ReadingState.STABLE)
        assert reading.is_loggable
        assert reading.scale_id == "scale"
        assert reading.at.tzinfo is not None
        # The raw frame is what the scale sent: parsing it again gives the same weight.
        again = parse(protocol, reading.raw, FrameContext(unit=UNIT.get(protocol)))
        assert isinstance(again, Reading)
        assert (again.value, again.unit, again.state) == (reading.value, reading.unit, reading.state)


@pytest.mark.parametrize(
    ("protocol", "mode"),
    [(p, "poll") for p in PROTOCOLS] + [(p, "continuous") for p in STREAMING],
)
async def test_next_stable_skips_unstable_readings(protocol: ProtocolName, mode: str) -> None:
    async with await open_sim(protocol, mode=mode) as scale:
        unit = UNIT.get(protocol, "g")
        scale.set_weight(Decimal("3.21"), unit, stable=False)
        stream = scale.readings()
        waiting = asyncio.create_task(scale.next_stable(10))
        seen = await collect_until(stream, lambda s: sum(r.state is ReadingState.UNSTABLE for r in s) >= 3)
        assert not waiting.done()  # three unstable readings went by: none was taken as a weight
        assert all(r.state is ReadingState.UNSTABLE for r in seen)
        scale.set_weight(Decimal("3.25"), unit)
        reading = await waiting
        assert (reading.value, reading.state) == (Decimal("3.25"), ReadingState.STABLE)
        await stream.aclose()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_next_stable_times_out_with_a_clear_fault(protocol: ProtocolName) -> None:
    async with await open_sim(protocol) as scale:
        scale.set_weight(Decimal("3.21"), UNIT.get(protocol, "g"), stable=False)
        with pytest.raises(DeviceFault) as caught:
            await scale.next_stable(0.3)
        assert caught.value.message == "scale not stable"
        assert "within 0.3 s" in caught.value.detail


@pytest.mark.parametrize("protocol", ["mt-sics", "and", "sma", "nci"])
async def test_next_stable_reports_overload_as_the_reason(protocol: ProtocolName) -> None:
    async with await open_sim(protocol) as scale:
        scale.set_overload()
        with pytest.raises(DeviceFault, match="overloaded"):
            await scale.next_stable(0.3)


async def test_next_stable_wants_the_same_value_twice() -> None:
    async with await open_sim("mt-sics", mode="continuous") as scale:
        scale.fake.respond = False  # we write the stream ourselves
        stream = scale.readings()
        waiting = asyncio.create_task(scale.next_stable(10))
        frames = [
            b"S S       1.00 g\r\n",
            b"S S       1.01 g\r\n",
            b"S D       1.01 g\r\n",
            b"S S       1.01 g\r\n",
            b"S S       1.01 g\r\n",
        ]
        for frame in frames:
            scale.fake.write(frame)
        seen = await collect_until(stream, lambda s: len(s) == len(frames))
        assert await waiting is seen[4]  # not the first stable one, nor one across motion


@pytest.mark.parametrize("protocol", STREAMING)
async def test_continuous_mode_weigh_uses_the_stream(protocol: ProtocolName) -> None:
    async with await open_sim(protocol, mode="continuous") as scale:
        assert await scale.fake.commands.get() == stream_start(protocol).strip(b"\r\n")  # type: ignore[union-attr]
        scale.set_weight(Decimal("4.50"), "g", stable=False)
        now = await scale.weigh(immediate=True)
        assert now.state is ReadingState.UNSTABLE
        scale.set_weight(Decimal("4.55"), "g")
        reading = await scale.weigh()
        assert (reading.value, reading.state) == (Decimal("4.55"), ReadingState.STABLE)
        # Only the start command was sent: weights came from the stream.
        assert len(scale.fake.received) == 1


async def test_a_reader_that_falls_behind_gets_recent_weights_not_a_backlog() -> None:
    async with await open_sim("mt-sics", mode="continuous") as scale:
        lazy = scale.readings()
        busy = scale.readings()
        scale.set_weight(Decimal("1.00"), "g")
        await collect_until(busy, lambda s: len(s) >= 60)
        queued = lazy._sub.queue.qsize()  # type: ignore[union-attr]
        assert queued <= 32
        scale.set_weight(Decimal("2.00"), "g")
        await collect_until(busy, lambda s: s[-1].value == Decimal("2.00"))
        drained = await collect_until(lazy, lambda s: s[-1].value == Decimal("2.00"))
        assert len(drained) <= 33


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_tare_then_weigh_reports_the_net_weight(protocol: ProtocolName) -> None:
    async with await open_sim(protocol) as scale:
        unit = UNIT.get(protocol, "g")
        scale.set_weight(Decimal("10.00"), unit)
        await scale.tare()
        scale.set_weight(Decimal("13.50"), unit)
        reading = await scale.weigh()
        assert reading.value == Decimal("3.50")
        await scale.zero()
        scale.set_weight(Decimal("14.00"), unit)
        assert (await scale.weigh()).value == Decimal("0.50")


@pytest.mark.parametrize("protocol", STREAMING)
async def test_listen_only_scales_refuse_commands_and_send_nothing(protocol: ProtocolName) -> None:
    async with await open_sim(protocol, mode="continuous", listen_only=True) as scale:
        with pytest.raises(DeviceFault, match="this scale has no tare command"):
            await scale.tare()
        with pytest.raises(DeviceFault, match="this scale has no zero command"):
            await scale.zero()
        assert scale.fake.received == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_immediate_weigh_returns_any_state(protocol: ProtocolName) -> None:
    async with await open_sim(protocol) as scale:
        scale.set_weight(Decimal("2.00"), UNIT.get(protocol, "g"), stable=False)
        reading = await scale.weigh(immediate=True)
        assert reading.state is ReadingState.UNSTABLE
        assert not reading.is_loggable
