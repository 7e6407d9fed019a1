"""NCI (Weigh-Tronix SCP-01/02; Brecknell, Avery Weigh-Tronix), parsed and through a pty.

Sources (via reference/hardware.md §2.6): AWT 7821 manual p.25 and Brecknell
7800 p.32 (``W<CR>`` → ``<LF>xxxx.xxuu<CR><LF>hh<CR><ETX>``, ``S``/``Z`` →
``<LF>hh<CR><ETX>``, unknown ``<LF>?<CR><ETX>``), Ohaus Aviator 7000 service
manual p.49 and Fairbanks PC2250 p.61 (status bits), Adam MDW p.14 (``^^^^^^``
over, ``______`` under, ``------`` zero error); SCP-02 puts ``S`` before the
status bytes (Weigh-Tronix SCP-01/02 document).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from drivers.faults import DeviceFault
from drivers.scale import Reading, ReadingState, ScaleConfig, SimScale, WeightBasis
from drivers.scale.testing import (
    NCI_UNKNOWN,
    UNREADABLE,
    FrameContext,
    Parsed,
    Reply,
    UnreadableFrame,
    nci_status,
    nci_status_frame,
    nci_weight,
    parse,
    replay,
)


def parse_frame(frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    return parse('nci', frame, ctx)


pytestmark = pytest.mark.timeout(30)

FAST = {
    "protocol": "nci",
    "reconnect_interval": 0.05,
    "poll_interval": 0.02,
    "reply_timeout": 1.0,
    "stable_timeout": 2.0,
    "ack_window": 0.05,
}


@pytest.mark.parametrize(
    ("frame", "value", "unit", "state", "basis"),
    [
        (b"\n  12.34lb\r\n00\r\x03", Decimal("12.34"), "lb", ReadingState.STABLE, None),
        (b"\n0012.34LB\r\n00\r\x03", Decimal("12.34"), "lb", ReadingState.STABLE, None),
        (b"\n  12.34lb\r\n10\r\x03", Decimal("12.34"), "lb", ReadingState.UNSTABLE, None),
        (b"\n   5.60kg\r\nS00\r\x03", Decimal("5.60"), "kg", ReadingState.STABLE, None),  # SCP-02
        (b"\n  -0.12kg\r\n00\r\x03", Decimal("-0.12"), "kg", ReadingState.STABLE, None),
        (b"\n  14.5oz\r\n00\r\x03", Decimal("14.5"), "oz", ReadingState.STABLE, None),
        (b"\n 250.0g\r\n20\r\x03", Decimal("250.0"), "g", ReadingState.STABLE, None),
        (b"\n   3.00lb\r\n0p4\r\x03", Decimal("3.00"), "lb", ReadingState.STABLE, WeightBasis.NET),
        (b"\n   3.00lb\r\n0p0\r\x03", Decimal("3.00"), "lb", ReadingState.STABLE, WeightBasis.GROSS),
    ],
)
def test_weight_frames(
    frame: bytes, value: Decimal, unit: str, state: ReadingState, basis: WeightBasis | None
) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.value, reading.unit, reading.state, reading.basis) == (value, unit, state, basis)


@pytest.mark.parametrize(
    ("frame", "state"),
    [
        (b"\n^^^^^^lb\r\n02\r\x03", ReadingState.OVERLOAD),
        (b"\n  99.99lb\r\n02\r\x03", ReadingState.OVERLOAD),  # the status bit wins over digits
        (b"\n______lb\r\n01\r\x03", ReadingState.UNDERLOAD),
        (b"\n------lb\r\n00\r\x03", ReadingState.ERROR),
        (b"\n  12.34lb\r\n40\r\x03", ReadingState.ERROR),  # RAM error
        (b"\n  12.34lb\r\n08\r\x03", ReadingState.ERROR),  # faulty calibration
    ],
)
def test_conditions_carry_no_value(frame: bytes, state: ReadingState) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.state, reading.value) == (state, None)


def test_status_and_unknown_replies() -> None:
    ok = parse_frame(b"\n00\r\x03")
    assert isinstance(ok, Reply)
    assert ok.ok
    fault = parse_frame(b"\n40\r\x03")  # RAM error bit: the scale cannot weigh
    assert isinstance(fault, Reading)
    assert (fault.state, fault.value, fault.detail) == (ReadingState.ERROR, None, "status 34 30 (RAM error)")
    unknown = parse_frame(b"\n?\r\x03")
    assert isinstance(unknown, Reply)
    assert (unknown.ok, unknown.message) == (False, "scale did not understand the command")


@pytest.mark.parametrize(
    "frame",
    [
        b"\n 1lb  3.5oz\r\n00\r\x03",  # pound-ounce display
        b"\n  12.34lb\r\n0\r\x03",  # one status byte
        b"\n  12.34lb\r\nAB\r\x03",  # status bytes without bits 4-5
        b"\n  12.34\r\n00\r\x03",  # no unit
        b"\n  12.3.4lb\r\n00\r\x03",
        b"\nHELLO\r\n00\r\x03",
        b"\n  12.34lb\r\n00\r",  # no ETX
        b"\na\r\nb\r\nc\r\x03",
    ],
)
def test_garbage_is_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame)


def test_fake_writes_the_manual_frames() -> None:
    assert nci_weight(Decimal("12.34"), "lb", nci_status()) == b"\n  12.34lb\r\n00\r\x03"
    assert nci_status_frame(nci_status(motion=True)) == b"\n10\r\x03"
    assert nci_weight("^^^^^^", "lb", nci_status(over=True)) == b"\n ^^^^^^lb\r\n02\r\x03"
    assert NCI_UNKNOWN == b"\n?\r\x03"


async def test_manual_frames_through_a_pty_with_garbage_and_split_frames() -> None:
    run = await replay(
        ScaleConfig(**FAST),  # type: ignore[arg-type]
        [
            b"\n  12.34lb\r\n00\r\x03",
            b"\n  12.34lb\r",  # split inside the frame
            b"\n10\r\x03",
            b"\n  12.",  # cut off: junk
            b"\xff\xfe garbage",
            b"\n  12.35lb\r\n00\r\x03",
            b"\n^^^^^^lb\r\n02\r\x03\n00\r\x03",  # overload, then a status-only frame
        ],
    )
    assert [(r.value, r.unit, r.state) for r in run.readings] == [
        (Decimal("12.34"), "lb", ReadingState.STABLE),
        (Decimal("12.34"), "lb", ReadingState.UNSTABLE),
        (Decimal("12.35"), "lb", ReadingState.STABLE),
        (None, "lb", ReadingState.OVERLOAD),
    ]
    assert any(s.fault is not None and s.fault.message == UNREADABLE for s in run.statuses)
    assert run.commands == []  # NCI has no streaming command


async def test_commands_round_trip() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("12.34"), "lb")
        reading = await scale.weigh()
        assert (reading.value, reading.unit) == (Decimal("12.34"), "lb")
        assert set(scale.fake.received) == {b"W"}
        await scale.tare()
        assert scale.fake.received[-1] == b"T"
        tared = await scale.weigh(immediate=True)
        assert (tared.value, tared.basis) == (Decimal("0.00"), WeightBasis.NET)
        await scale.zero()
        assert scale.fake.received[-1] == b"Z"


async def test_unknown_command_reply_is_a_fault() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.fake.respond = False
        weigh = asyncio.create_task(scale.weigh(immediate=True))
        assert await scale.fake.commands.get() == b"W"
        scale.fake.write(NCI_UNKNOWN)
        with pytest.raises(DeviceFault, match="did not understand"):
            await weigh
