"""Toledo 8217: ``STX weight CR`` / ``STX ? status CR`` frames, parsed and through a pty.

Sources (via reference/hardware.md §2.3): Odoo hw_scale Toledo8217Protocol and
``_toledo8217StatusParse`` (bit 0 motion, 1 over capacity, 2 negative, 3
outside zero capture range, 4 centre of zero, 5 net), Mettler Toledo Viva
service manual; the reference's verified sample ``\\x02?\\x21\\r`` = motion + net.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.faults import DeviceFault
from drivers.scale import Reading, ReadingState, ScaleConfig, SimScale, WeightBasis
from drivers.scale.testing import (
    UNREADABLE,
    FrameContext,
    Parsed,
    UnreadableFrame,
    parse,
    replay,
    toledo_status,
    toledo_weight,
)


def parse_frame(frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    return parse('toledo-8217', frame, ctx)


pytestmark = pytest.mark.timeout(30)

FAST = {
    "protocol": "toledo-8217",
    "unit": "lb",
    "reconnect_interval": 0.05,
    "poll_interval": 0.02,
    "reply_timeout": 1.0,
    "stable_timeout": 2.0,
    "ack_window": 0.05,
}
LB = FrameContext(scale_id="bench-1", unit="lb")


@pytest.mark.parametrize(
    ("frame", "value"),
    [
        (b"\x02  12.34\r", Decimal("12.34")),
        (b"\x0201.234\r", Decimal("1.234")),
        (b"\x02   0.00\r", Decimal("0.00")),
    ],
)
def test_weight_frames_are_stable_in_the_configured_unit(frame: bytes, value: Decimal) -> None:
    reading = parse_frame(frame, LB)
    assert isinstance(reading, Reading)
    assert (reading.value, reading.unit, reading.state, reading.scale_id) == (
        value,
        "lb",
        ReadingState.STABLE,
        "bench-1",
    )
    assert reading.is_loggable


@pytest.mark.parametrize("unit", ["g", "kg", "lb", "oz"])
def test_each_unit_comes_from_the_config(unit: str) -> None:
    reading = parse_frame(b"\x02  12.34\r", FrameContext(unit=unit))
    assert isinstance(reading, Reading)
    assert reading.unit == unit


@pytest.mark.parametrize(
    ("status", "state", "basis"),
    [
        (0x21, ReadingState.UNSTABLE, WeightBasis.NET),  # the reference's sample: motion + net
        (0x01, ReadingState.UNSTABLE, WeightBasis.GROSS),
        (0x02, ReadingState.OVERLOAD, WeightBasis.GROSS),  # the status byte equals STX
        (0x03, ReadingState.OVERLOAD, WeightBasis.GROSS),  # over wins over motion
        (0x04, ReadingState.UNDERLOAD, WeightBasis.GROSS),  # negative
        (0x0D, ReadingState.UNDERLOAD, WeightBasis.GROSS),  # equals CR
        (0x08, ReadingState.ERROR, WeightBasis.GROSS),  # outside zero capture range, no weight
        (0x30, ReadingState.ERROR, WeightBasis.NET),
    ],
)
def test_status_frames_never_carry_a_weight(status: int, state: ReadingState, basis: WeightBasis) -> None:
    reading = parse_frame(bytes([0x02, ord("?"), status, 0x0D]), LB)
    assert isinstance(reading, Reading)
    assert (reading.state, reading.basis, reading.value) == (state, basis, None)
    assert reading.detail.startswith(f"status 0x{status:02X}")
    assert not reading.is_loggable


@pytest.mark.parametrize(
    "frame", [b"\x02 -12.34\r", b"\x02 12.3.4\r", b"\x02 12.34", b"  12.34\r", b"\x02 1e3\r", b"\x02\r"]
)
def test_garbage_is_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame, LB)


def test_a_frame_without_a_configured_unit_is_refused() -> None:
    with pytest.raises(UnreadableFrame, match="no unit"):
        parse_frame(b"\x02  12.34\r", FrameContext())


def test_fake_writes_the_manual_frames() -> None:
    assert toledo_weight(Decimal("12.34")) == b"\x02  12.34\r"
    assert toledo_status(0x21) == b"\x02?\x21\r"


async def test_manual_frames_through_a_pty_with_garbage_and_split_frames() -> None:
    run = await replay(
        ScaleConfig(**FAST),  # type: ignore[arg-type]
        [
            b"\x02  12.34\r",
            b"\x02?",  # a status frame split after the '?'
            b"\x21\r",
            b"junk\xff\xfe",
            b"\x02  1",  # cut off by the next STX: junk
            b"\x02   5.25\r",
            b"\x02?\x02\r\x02?\x04\r",
        ],
    )
    assert [(r.value, r.state, r.basis) for r in run.readings] == [
        (Decimal("12.34"), ReadingState.STABLE, WeightBasis.GROSS),
        (None, ReadingState.UNSTABLE, WeightBasis.NET),
        (Decimal("5.25"), ReadingState.STABLE, WeightBasis.GROSS),
        (None, ReadingState.OVERLOAD, WeightBasis.GROSS),
        (None, ReadingState.UNDERLOAD, WeightBasis.GROSS),
    ]
    assert all(r.unit == "lb" for r in run.readings)
    assert any(s.fault is not None and s.fault.message == UNREADABLE for s in run.statuses)
    assert run.commands == []  # 8217 has no "start streaming" command


async def test_weigh_polls_w_until_stable_and_commands_are_bare_letters() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("3.50"), "lb")
        reading = await scale.weigh()
        assert (reading.value, reading.unit, reading.raw) == (Decimal("3.50"), "lb", b"\x02   3.50\r")
        assert set(scale.fake.received) == {b"W"}
        await scale.tare()
        assert scale.fake.received[-1] == b"T"
        assert (await scale.weigh()).value == Decimal("0.00")
        await scale.zero()
        assert scale.fake.received[-1] == b"Z"
        scale.set_weight(Decimal("4.50"), "lb", stable=False)  # 1.00 lb above the new zero
        now = await scale.weigh(immediate=True)
        assert (now.state, now.value) == (ReadingState.UNSTABLE, None)


async def test_negative_weight_is_below_zero_not_a_weight() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("-0.50"), "lb")
        with pytest.raises(DeviceFault, match="below zero"):
            await scale.next_stable(0.3)


def test_line_defaults_are_9600_7e1() -> None:
    settings = ScaleConfig(**FAST).serial_settings  # type: ignore[arg-type]
    assert (settings.baudrate, settings.bytesize, settings.parity, settings.stopbits) == (9600, 7, "even", 1)


async def test_sim_refuses_a_unit_the_frames_cannot_carry() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="carry no unit"):
            scale.set_weight(Decimal("1.00"), "g")
