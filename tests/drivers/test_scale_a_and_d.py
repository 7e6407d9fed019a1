"""A&D standard format: frames from the A&D manuals, parsed and through a pty.

Sources (via reference/hardware.md §2.5): A&D GC series manual p.51 (``ST``,
``US``, ``OL``, ``QT`` headers, 3-character units), OP-05 spec p.58 and
FX-700CT manual p.31 (``OL,+9999999E+19``, ``OL,GS,+    .  kg``, second
headers ``GS``/``NT``/``TR``), HC-i manual p.36 (``WT`` header switch);
commands ``Q``/``S``/``SIR``/``C``/``R``/``T``, ``AK`` (0x06) / ``EC,Exx``.
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
    Reply,
    UnreadableFrame,
    and_error,
    and_out_of_range,
    and_weight,
    parse,
    replay,
)


def parse_frame(frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    return parse('and', frame, ctx)


pytestmark = pytest.mark.timeout(30)

FAST = {
    "protocol": "and",
    "reconnect_interval": 0.05,
    "poll_interval": 0.02,
    "reply_timeout": 1.0,
    "stable_timeout": 2.0,
    "ack_window": 0.5,
}


@pytest.mark.parametrize(
    ("frame", "value", "unit", "state", "basis"),
    [
        (b"ST,+00123.45  g\r\n", Decimal("123.45"), "g", ReadingState.STABLE, None),
        (b"US,+00123.40  g\r\n", Decimal("123.40"), "g", ReadingState.UNSTABLE, None),
        (b"ST,-00001.20 kg\r\n", Decimal("-1.20"), "kg", ReadingState.STABLE, None),
        (b"WT,+00012.50 lb\r\n", Decimal("12.50"), "lb", ReadingState.STABLE, None),
        (b"ST,+0003.527 oz\r\n", Decimal("3.527"), "oz", ReadingState.STABLE, None),
        (b"QT,+00000010 PC\r\n", Decimal("10"), "pcs", ReadingState.STABLE, None),
        (b"ST,+00050.00 ct\r\n", Decimal("50.00"), "ct", ReadingState.STABLE, None),
        (b"ST,GS,+00254.80 kg\r\n", Decimal("254.80"), "kg", ReadingState.STABLE, WeightBasis.GROSS),
        (b"ST,NT,+00004.80 kg\r\n", Decimal("4.80"), "kg", ReadingState.STABLE, WeightBasis.NET),
        (b"ST,TR,+00250.00 kg\r\n", Decimal("250.00"), "kg", ReadingState.STABLE, WeightBasis.TARE),
        (b"ST,OK,+00100.00  g\r\n", Decimal("100.00"), "g", ReadingState.STABLE, None),
    ],
)
def test_weight_frames(
    frame: bytes, value: Decimal, unit: str, state: ReadingState, basis: WeightBasis | None
) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.value, reading.unit, reading.state, reading.basis) == (value, unit, state, basis)


def test_loggable_only_for_stable_mass_of_the_load() -> None:
    def loggable(frame: bytes) -> bool:
        reading = parse_frame(frame)
        assert isinstance(reading, Reading)
        return reading.is_loggable

    assert loggable(b"ST,+00123.45  g\r\n")
    assert loggable(b"ST,NT,+00004.80 kg\r\n")
    assert not loggable(b"US,+00123.40  g\r\n")
    assert not loggable(b"ST,TR,+00250.00 kg\r\n")  # the tare value
    assert not loggable(b"QT,+00000010 PC\r\n")  # a count


@pytest.mark.parametrize(
    ("frame", "state"),
    [
        (b"OL,+9999999E+19\r\n", ReadingState.OVERLOAD),
        (b"OL,GS,+    .  kg\r\n", ReadingState.OVERLOAD),
        (b"OL,-9999999E+19\r\n", ReadingState.UNDERLOAD),
    ],
)
def test_out_of_range_never_reads_the_digits(frame: bytes, state: ReadingState) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.state, reading.value) == (state, None)


def test_acknowledgements() -> None:
    ack = parse_frame(b"\x06")
    assert isinstance(ack, Reply)
    assert ack.ok
    refused = parse_frame(b"EC,E11\r\n")
    assert isinstance(refused, Reply)
    assert (refused.ok, refused.message) == (False, "scale refused the command")
    assert "E11" in refused.detail


@pytest.mark.parametrize(
    "frame",
    [
        b"ST,+1.2345E+03  g\r\n",  # an exponent on a stable frame is not a weight
        b"XX,+00123.45  g\r\n",
        b"ST,00123.45  g\r\n",  # no sign
        b"ST,+00123.45  g",
        b"ST,+00\xb123.45  g\r\n",
    ],
)
def test_garbage_is_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame)


def test_fake_writes_the_manual_frames() -> None:
    assert and_weight(Decimal("123.45"), "g") == b"ST,+00123.45  g\r\n"
    assert and_weight(Decimal("10"), "pcs", header="QT") == b"QT,+00000010 PC\r\n"
    assert and_out_of_range() == b"OL,+9999999E+19\r\n"
    assert and_error("E11") == b"EC,E11\r\n"


async def test_manual_frames_through_a_pty_with_garbage_and_split_frames() -> None:
    run = await replay(
        ScaleConfig(**FAST),  # type: ignore[arg-type]
        [
            b"\x06",  # the ACK to SIR
            b"ST,+00123.45  g\r\n",
            b"US,+001",
            b"23.40  g\r\n",
            b"@@@ \xf0\xf1 noise\r\n",
            b"OL,+9999999E+19\r\n",
            b"ST,NT,+00004.80 kg\r\nQT,+00000010 PC\r\n",
        ],
    )
    assert [(r.value, r.unit, r.state) for r in run.readings] == [
        (Decimal("123.45"), "g", ReadingState.STABLE),
        (Decimal("123.40"), "g", ReadingState.UNSTABLE),
        (None, "", ReadingState.OVERLOAD),
        (Decimal("4.80"), "kg", ReadingState.STABLE),
        (Decimal("10"), "pcs", ReadingState.STABLE),
    ]
    assert any(s.fault is not None and s.fault.message == UNREADABLE for s in run.statuses)
    assert run.commands[0] == b"SIR"


async def test_commands_round_trip_with_acknowledgements() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("8.25"))
        reading = await scale.weigh()  # ACK first, then the weight: the ACK is not the answer
        assert (reading.value, reading.raw) == (Decimal("8.25"), b"ST,+00008.25  g\r\n")
        assert scale.fake.received[-1] == b"S"
        assert (await scale.weigh(immediate=True)).value == Decimal("8.25")
        assert scale.fake.received[-1] == b"Q"
        await scale.tare()
        assert scale.fake.received[-1] == b"T"
        tared = await scale.weigh()
        assert (tared.value, tared.basis) == (Decimal("0.00"), WeightBasis.NET)
        await scale.zero()
        assert scale.fake.received[-1] == b"R"


async def test_without_acknowledgements_commands_still_work() -> None:
    async with SimScale(ScaleConfig(**{**FAST, "ack_window": 0.05})) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.fake.acknowledge = False
        scale.set_weight(Decimal("8.25"))
        await scale.tare()
        assert (await scale.weigh()).value == Decimal("0.00")


async def test_refused_tare_is_a_fault() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("8.25"), stable=False)
        with pytest.raises(DeviceFault, match="refused") as caught:
            await scale.tare()
        assert "E11" in caught.value.detail


async def test_overload_and_underload() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_overload()
        with pytest.raises(DeviceFault, match="overloaded"):
            await scale.weigh()
        scale.set_underload()
        assert (await scale.weigh(immediate=True)).state is ReadingState.UNDERLOAD
