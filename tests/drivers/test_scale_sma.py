"""SMA SCP-0499: standard replies from the indicator manuals, parsed and through a pty.

Sources (via reference/hardware.md §2.6): Sartorius PR 5220 manual p.130
(reply layout, examples ``<LF> 1G     5.025lb <CR>``, ``<LF>Z1G     0.000lb <CR>``,
``R`` repeating ``<LF> 1GM     7.650kg <CR>``; high resolution ``g``/``n``;
dashes for E/I/T), B-TEK T419S p.61 (``O``/``U``/``E``/``T`` status,
``<LF>?<CR>``, ``SMA:``/``MFG:`` about replies).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.faults import DeviceFault
from drivers.scale import Reading, ReadingState, ScaleConfig, SimScale, WeightBasis
from drivers.scale.testing import (
    SMA_UNKNOWN,
    UNREADABLE,
    FrameContext,
    Parsed,
    Reply,
    UnreadableFrame,
    parse,
    replay,
    sma_frame,
)


def parse_frame(frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    return parse('sma', frame, ctx)


pytestmark = pytest.mark.timeout(30)

FAST = {
    "protocol": "sma",
    "reconnect_interval": 0.05,
    "poll_interval": 0.02,
    "reply_timeout": 1.0,
    "stable_timeout": 2.0,
    "ack_window": 0.05,
}


@pytest.mark.parametrize(
    ("frame", "value", "unit", "state", "basis"),
    [
        (b"\n 1G       5.025lb \r", Decimal("5.025"), "lb", ReadingState.STABLE, WeightBasis.GROSS),
        (b"\n 1N      100000lb \r", Decimal("100000"), "lb", ReadingState.STABLE, WeightBasis.NET),
        (b"\nZ1G       0.000lb \r", Decimal("0.000"), "lb", ReadingState.STABLE, WeightBasis.GROSS),
        (b"\n 1G       7.025kg \r", Decimal("7.025"), "kg", ReadingState.STABLE, WeightBasis.GROSS),
        (b"\n 1GM      7.650kg \r", Decimal("7.650"), "kg", ReadingState.UNSTABLE, WeightBasis.GROSS),
        (b"\n 1G      -0.125kg \r", Decimal("-0.125"), "kg", ReadingState.STABLE, WeightBasis.GROSS),
        (b"\n 1G      12.345g  \r", Decimal("12.345"), "g", ReadingState.STABLE, WeightBasis.GROSS),
        (b"\n 2N      14.500oz \r", Decimal("14.500"), "oz", ReadingState.STABLE, WeightBasis.NET),
        (b"\n 1T       0.500kg \r", Decimal("0.500"), "kg", ReadingState.STABLE, WeightBasis.TARE),
    ],
)
def test_standard_replies(
    frame: bytes, value: Decimal, unit: str, state: ReadingState, basis: WeightBasis
) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.value, reading.unit, reading.state, reading.basis) == (value, unit, state, basis)


def test_high_resolution_is_never_loggable() -> None:
    reading = parse_frame(b"\n 1g      5.0025lb \r")
    assert isinstance(reading, Reading)
    assert (reading.value, reading.state, reading.high_resolution) == (
        Decimal("5.0025"),
        ReadingState.STABLE,
        True,
    )
    assert not reading.is_loggable
    normal = parse_frame(b"\n 1G       5.025lb \r")
    assert isinstance(normal, Reading)
    assert normal.is_loggable


@pytest.mark.parametrize(
    ("frame", "state"),
    [
        (b"\nO1G     999.999kg \r", ReadingState.OVERLOAD),
        (b"\nU1G      -1.000kg \r", ReadingState.UNDERLOAD),
        (b"\nE1G  ----------kg \r", ReadingState.ERROR),
        (b"\nI1G  ----------kg \r", ReadingState.ERROR),
        (b"\nT1N  ----------kg \r", ReadingState.ERROR),
    ],
)
def test_status_conditions_carry_no_value(frame: bytes, state: ReadingState) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.state, reading.value) == (state, None)
    assert reading.detail.startswith("SMA ")


def test_replies() -> None:
    unknown = parse_frame(b"\n?\r")
    assert isinstance(unknown, Reply)
    assert not unknown.ok
    about = parse_frame(b"\nSMA:2/1.0\r")
    assert isinstance(about, Reply)
    assert (about.ok, about.answers) == (True, "info")


@pytest.mark.parametrize(
    "frame",
    [
        b"\nX1G       5.025lb \r",  # unknown status
        b"\n 1Q       5.025lb \r",  # unknown gross/net
        b"\n 1GX      5.025lb \r",  # motion must be M or space
        b"\n 1G       5.0.5lb \r",
        b"\n 1G   \r",
        b" 1G       5.025lb \r",  # no LF
        b"\n 1G      \xb5.025lb \r",
    ],
)
def test_garbage_is_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame)


def test_fake_writes_the_manual_frames() -> None:
    assert sma_frame(Decimal("5.025"), "lb") == b"\n 1G       5.025lb \r"
    assert sma_frame(Decimal("0.000"), "lb", status="Z") == b"\nZ1G       0.000lb \r"
    assert sma_frame(Decimal("7.650"), "kg", motion=True) == b"\n 1GM      7.650kg \r"
    assert SMA_UNKNOWN == b"\n?\r"


async def test_manual_frames_through_a_pty_with_garbage_and_split_frames() -> None:
    run = await replay(
        ScaleConfig(**FAST),  # type: ignore[arg-type]
        [
            b"\n 1G       7.025kg \r",
            b"\n 1GM    ",
            b"  7.650kg \r",
            b"\n 1G    7.6",  # cut off by the next frame's LF: junk
            b"#\xfe\xff noise",
            b"\n 1G       7.650kg \r\nO1G     999.999kg \r",
            b"\nE1G  ----------kg \r",
        ],
    )
    assert [(r.value, r.unit, r.state) for r in run.readings] == [
        (Decimal("7.025"), "kg", ReadingState.STABLE),
        (Decimal("7.650"), "kg", ReadingState.UNSTABLE),
        (Decimal("7.650"), "kg", ReadingState.STABLE),
        (None, "kg", ReadingState.OVERLOAD),
        (None, "kg", ReadingState.ERROR),
    ]
    assert any(s.fault is not None and s.fault.message == UNREADABLE for s in run.statuses)
    assert run.commands[0] == b"R"  # repeat-weight mode


async def test_commands_round_trip() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("2.500"), "kg")
        reading = await scale.weigh()  # no "stable" command: polls W until steady
        assert (reading.value, reading.unit) == (Decimal("2.500"), "kg")
        assert set(scale.fake.received) == {b"W"}  # the fake got "\nW\r"
        await scale.tare()
        assert scale.fake.received[-1] == b"T"
        tared = await scale.weigh(immediate=True)
        assert (tared.value, tared.basis) == (Decimal("0.000"), WeightBasis.NET)
        await scale.zero()
        assert scale.fake.received[-1] == b"Z"


async def test_tare_error_reply_is_a_fault() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("2.500"), "kg", stable=False)
        with pytest.raises(DeviceFault, match="could not tare") as caught:
            await scale.tare()
        assert "tare error" in caught.value.detail
        with pytest.raises(DeviceFault, match="could not zero"):
            await scale.zero()
