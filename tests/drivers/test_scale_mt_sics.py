"""MT-SICS: frames from the Mettler Toledo manuals, parsed purely and through a pty.

Sources (via reference/hardware.md §2.2): MT AT balances operating instructions
p.87 (``S S     100.00 g``; ``S I``/``S +``/``S -``), MT-SICS reference manuals
(``ES``/``ET``/``EL``; ``T S``/``T I``/``T +``/``T -``; ``Z A``/``Z I``/``Z +``/``Z -``).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from drivers.faults import DeviceFault
from drivers.scale import Reading, ReadingState, ScaleConfig, SimScale
from drivers.scale.testing import (
    UNREADABLE,
    FrameContext,
    Parsed,
    Reply,
    StatusLog,
    UnreadableFrame,
    parse,
    replay,
    sics_error,
    sics_reply,
    sics_status,
    sics_tare,
    sics_weight,
)


def parse_frame(frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    return parse('mt-sics', frame, ctx)


pytestmark = pytest.mark.timeout(30)

FAST = {
    "protocol": "mt-sics",
    "reconnect_interval": 0.05,
    "poll_interval": 0.02,
    "reply_timeout": 1.0,
    "stable_timeout": 2.0,
    "ack_window": 0.05,
}

WEIGHTS = [
    (b"S S     100.00 g\r\n", Decimal("100.00"), "g", ReadingState.STABLE),
    (b"S S      -0.02 g\r\n", Decimal("-0.02"), "g", ReadingState.STABLE),
    (b"S D     100.00 g\r\n", Decimal("100.00"), "g", ReadingState.UNSTABLE),
    (b"S S     1.2345 kg\r\n", Decimal("1.2345"), "kg", ReadingState.STABLE),
    (b"S S     0.2205 lb\r\n", Decimal("0.2205"), "lb", ReadingState.STABLE),
    (b"S S      3.527 oz\r\n", Decimal("3.527"), "oz", ReadingState.STABLE),
    (b"S S     3.2150 ozt\r\n", Decimal("3.2150"), "ozt", ReadingState.STABLE),
    (b"S S     500.00 ct\r\n", Decimal("500.00"), "ct", ReadingState.STABLE),
    (b"S S         42 PCS\r\n", Decimal("42"), "pcs", ReadingState.STABLE),
    (b"S S     1500.0 mg\r\n", Decimal("1500.0"), "mg", ReadingState.STABLE),
]


@pytest.mark.parametrize(("frame", "value", "unit", "state"), WEIGHTS)
def test_weight_frames(frame: bytes, value: Decimal, unit: str, state: ReadingState) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.value, reading.unit, reading.state, reading.raw) == (value, unit, state, frame)
    assert reading.is_loggable == (state is ReadingState.STABLE and unit in {"g", "kg", "lb", "oz", "mg"})


@pytest.mark.parametrize(
    ("frame", "state"),
    [
        (b"S +\r\n", ReadingState.OVERLOAD),
        (b"S -\r\n", ReadingState.UNDERLOAD),
        (b"S I\r\n", ReadingState.ERROR),
    ],
)
def test_weight_status_frames_carry_no_value(frame: bytes, state: ReadingState) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert reading.state is state
    assert reading.value is None
    assert not reading.is_loggable


@pytest.mark.parametrize(
    ("frame", "ok", "answers"),
    [
        (b"ES\r\n", False, None),
        (b"ET\r\n", False, None),
        (b"EL\r\n", False, None),
        (b"T S     100.00 g\r\n", True, "tare"),
        (b"T I\r\n", False, "tare"),
        (b"T +\r\n", False, "tare"),
        (b"T -\r\n", False, "tare"),
        (b"Z A\r\n", True, "zero"),
        (b"Z I\r\n", False, "zero"),
        (b"Z +\r\n", False, "zero"),
        (b"Z -\r\n", False, "zero"),
        (b'I4 A "B021002593"\r\n', True, "info"),
    ],
)
def test_replies(frame: bytes, ok: bool, answers: str | None) -> None:
    reply = parse_frame(frame)
    assert isinstance(reply, Reply)
    assert (reply.ok, reply.answers) == (ok, answers)
    if not ok:
        assert reply.message  # a floor-readable reason


@pytest.mark.parametrize(
    "frame",
    [
        b"S X     100.00 g\r\n",
        b"S S     1.2.3 g\r\n",
        b"S S    ------- g\r\n",
        b"S S     100.00\r\n",
        b"S S     100.00 g",  # no CR LF
        b"S S     1\xb00.00 g\r\n",  # parity bit read as data
        b"hello\r\n",
    ],
)
def test_garbage_is_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame)


def test_high_bit_reason_points_at_parity() -> None:
    with pytest.raises(UnreadableFrame, match="parity"):
        parse_frame(b"S S     1\xb00.00 g\r\n")


def test_fake_writes_the_manual_frames() -> None:
    assert sics_weight(Decimal("100.00"), "g") == b"S S     100.00 g\r\n"
    assert sics_weight(Decimal("-0.02"), "g") == b"S S      -0.02 g\r\n"
    assert sics_weight(Decimal("100.00"), "g", stable=False) == b"S D     100.00 g\r\n"
    assert sics_weight(Decimal("42"), "pcs") == b"S S         42 PCS\r\n"
    assert sics_status("+") == b"S +\r\n"
    assert sics_tare(Decimal("100.00"), "g") == b"T S     100.00 g\r\n"
    assert sics_reply("Z", "A") == b"Z A\r\n"
    assert sics_error("ES") == b"ES\r\n"


async def test_manual_frames_through_a_pty_with_garbage_and_split_frames() -> None:
    run = await replay(
        ScaleConfig.model_validate(FAST),
        [
            b"S S     100.00 g\r\n",
            b"S D      99.9",  # one frame split over two writes
            b"8 g\r\n",
            b"\x00#noise\xfe\r\n",  # garbage line: reported, not a weight
            b"S +\r\n",
            b"S -\r\n",
            b"S S      -0.02 g\r\nS S     1.2345 kg\r\n",  # two frames in one write
        ],
    )
    assert [(r.value, r.unit, r.state) for r in run.readings] == [
        (Decimal("100.00"), "g", ReadingState.STABLE),
        (Decimal("99.98"), "g", ReadingState.UNSTABLE),
        (None, "", ReadingState.OVERLOAD),
        (None, "", ReadingState.UNDERLOAD),
        (Decimal("-0.02"), "g", ReadingState.STABLE),
        (Decimal("1.2345"), "kg", ReadingState.STABLE),
    ]
    assert run.readings[1].raw == b"S D      99.98 g\r\n"  # the exact frame, reassembled
    assert any(s.fault is not None and s.fault.message == UNREADABLE for s in run.statuses)
    assert run.commands[0] == b"SIR"  # continuous mode asks the balance to stream


async def sim(**overrides: object) -> SimScale:
    scale = SimScale(ScaleConfig.model_validate({**FAST, **overrides}))
    await scale.wait_connected(5)
    return scale


async def test_weigh_sends_s_and_immediate_sends_si() -> None:
    scale = await sim()
    async with scale:
        scale.set_weight(Decimal("12.34"))
        reading = await scale.weigh()
        assert (reading.value, reading.state, reading.raw) == (
            Decimal("12.34"),
            ReadingState.STABLE,
            b"S S      12.34 g\r\n",
        )
        assert b"S" in scale.fake.received
        scale.set_weight(Decimal("12.50"), stable=False)
        now = await scale.weigh(immediate=True)
        assert (now.value, now.state) == (Decimal("12.50"), ReadingState.UNSTABLE)
        assert scale.fake.received[-1] == b"SI"


async def test_weigh_waits_for_the_balance_to_settle() -> None:
    scale = await sim()
    async with scale:
        scale.set_weight(Decimal("5.00"), stable=False)
        pending = asyncio.create_task(scale.weigh())
        assert await scale.fake.commands.get() == b"S"
        assert not pending.done()
        scale.set_weight(Decimal("5.01"))
        reading = await pending
        assert (reading.value, reading.state) == (Decimal("5.01"), ReadingState.STABLE)


async def test_s_i_after_the_balance_gives_up_is_a_fault_not_a_weight() -> None:
    scale = await sim()
    async with scale:
        scale.fake.stability_timeout = 0.05
        scale.set_weight(Decimal("5.00"), stable=False)
        with pytest.raises(DeviceFault) as caught:
            await scale.weigh()
        assert caught.value.message == "scale could not weigh"
        assert "S I" in caught.value.detail


async def test_tare_and_zero_round_trip() -> None:
    scale = await sim()
    async with scale:
        scale.set_weight(Decimal("20.00"))
        await scale.tare()
        assert scale.fake.received[-1] == b"T"
        assert (await scale.weigh()).value == Decimal("0.00")
        scale.set_weight(Decimal("32.50"))
        assert (await scale.weigh()).value == Decimal("12.50")
        await scale.zero()
        assert scale.fake.received[-1] == b"Z"
        assert (await scale.weigh()).value == Decimal("0.00")


async def test_tare_and_zero_refusals() -> None:
    scale = await sim()
    async with scale:
        scale.set_weight(Decimal("20.00"), stable=False)
        with pytest.raises(DeviceFault, match="could not tare: busy or not stable"):
            await scale.tare()
        with pytest.raises(DeviceFault, match="could not zero: busy or not stable"):
            await scale.zero()
        scale.set_overload()
        with pytest.raises(DeviceFault, match="could not tare: over capacity"):
            await scale.tare()


async def test_unknown_command_answer_es_is_reported_by_the_poller() -> None:
    log = StatusLog()
    scale = SimScale(ScaleConfig.model_validate(FAST), on_state=log)
    async with scale:
        await scale.wait_connected(5)
        scale.fake.respond = False
        stream = scale.readings()  # a listener: the poller starts sending SI
        assert await scale.fake.commands.get() == b"SI"
        scale.fake.write(sics_error("ES"))
        status = await log.wait_for(lambda s: s.fault is not None)
        assert status.fault is not None
        assert status.fault.message == "scale did not understand the command"
        await stream.aclose()


async def test_overload_is_refused_as_a_weight() -> None:
    scale = await sim()
    async with scale:
        scale.set_overload()
        with pytest.raises(DeviceFault, match="overloaded"):
            await scale.weigh()
        reading = await scale.weigh(immediate=True)
        assert reading.state is ReadingState.OVERLOAD
        assert reading.value is None
