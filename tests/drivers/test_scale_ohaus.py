"""Ohaus: weight lines from the Ohaus manuals, parsed and through a pty.

Sources (via reference/hardware.md §2.4 and the manual pages it cites): Ohaus
RS232 interface manual p.5 (``*****192.21_g``, ``*******0.01_g_?``, interval
printing ``*****176.30_g_?_00:00:15``, accumulate ``*****207.80_g_TOTAL``;
``*`` and ``_`` are spaces), Defender 3000 §5.2 (polarity, weight, unit up to 5,
``?``, legend G / NET / T), Navigator (``B/G``, ``Net``, ``Tare``), Ranger
print-key lines (``G``/``T``/``N`` first), Courier 5000 p.38 (``ES``).
"""

from __future__ import annotations

import asyncio
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
    ohaus_weight,
    parse,
    replay,
)


def parse_frame(frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    return parse('ohaus', frame, ctx)


pytestmark = pytest.mark.timeout(30)

FAST = {
    "protocol": "ohaus",
    "reconnect_interval": 0.05,
    "poll_interval": 0.02,
    "reply_timeout": 1.0,
    "stable_timeout": 2.0,
    "ack_window": 0.05,
}


def manual(line: str) -> bytes:
    """The manual prints spaces as ``*`` and ``_``."""
    return line.replace("*", " ").replace("_", " ").encode() + b"\r\n"


@pytest.mark.parametrize(
    ("frame", "value", "unit", "state", "basis"),
    [
        (manual("*****192.21_g"), Decimal("192.21"), "g", ReadingState.STABLE, None),
        (manual("*******0.01_g_?"), Decimal("0.01"), "g", ReadingState.UNSTABLE, None),
        (manual("*******0.01_g___00:00:00"), Decimal("0.01"), "g", ReadingState.STABLE, None),
        (manual("*****176.30_g_?_00:00:15"), Decimal("176.30"), "g", ReadingState.UNSTABLE, None),
        (manual("*****207.80_g_TOTAL"), Decimal("207.80"), "g", ReadingState.STABLE, WeightBasis.TOTAL),
        (b"-      1.250 kg    NET\r\n", Decimal("-1.250"), "kg", ReadingState.STABLE, WeightBasis.NET),
        (b"       2.500 lb   ?G\r\n", Decimal("2.500"), "lb", ReadingState.UNSTABLE, WeightBasis.GROSS),
        (b"      12.00 oz     T\r\n", Decimal("12.00"), "oz", ReadingState.STABLE, WeightBasis.TARE),
        (b"      12.345 g ? A C Net\r\n", Decimal("12.345"), "g", ReadingState.UNSTABLE, WeightBasis.NET),
        (b"       5.00 kg  B/G\r\n", Decimal("5.00"), "kg", ReadingState.STABLE, WeightBasis.GROSS),
        (b"N              3.21 kg\r\n", Decimal("3.21"), "kg", ReadingState.STABLE, WeightBasis.NET),
        (b"        120 PCS\r\n", Decimal("120"), "pcs", ReadingState.STABLE, None),
        (b"      50.00 ct\r\n", Decimal("50.00"), "ct", ReadingState.STABLE, None),
    ],
)
def test_weight_lines(
    frame: bytes, value: Decimal, unit: str, state: ReadingState, basis: WeightBasis | None
) -> None:
    reading = parse_frame(frame)
    assert isinstance(reading, Reading)
    assert (reading.value, reading.unit, reading.state, reading.basis) == (value, unit, state, basis)


def test_only_stable_mass_weights_of_the_load_are_loggable() -> None:
    def loggable(frame: bytes) -> bool:
        reading = parse_frame(frame)
        assert isinstance(reading, Reading)
        return reading.is_loggable

    assert loggable(manual("*****192.21_g"))
    assert not loggable(manual("*******0.01_g_?"))  # unstable
    assert not loggable(manual("*****207.80_g_TOTAL"))  # an accumulated total
    assert not loggable(b"      12.00 oz     T\r\n")  # the tare value
    assert not loggable(b"        120 PCS\r\n")  # pieces


def test_replies() -> None:
    es = parse_frame(b"ES\r\n")
    assert isinstance(es, Reply)
    assert (es.ok, es.message) == (False, "scale did not understand the command")
    ok = parse_frame(b"OK!\r\n")
    assert isinstance(ok, Reply)
    assert ok.ok
    assert parse_frame(b"\r\n") is None
    heading = parse_frame(b"SCALE: 1\r\n")  # the print key's first line (Ranger RC p.36)
    assert isinstance(heading, Reply)
    assert heading.ok


@pytest.mark.parametrize(
    "frame",
    [
        b"      -OL-\r\n",  # overload display text: not documented as output, never a weight
        b"    1 lb  3.5 oz\r\n",  # pound:ounce display
        b"     192.21 furlongs\r\n",
        b"     192.21\r\n",  # numeric-only output has no unit to trust
        b"     19x.21 g\r\n",
        b"     192.21 g XYZ\r\n",  # unknown legend
        b"     192.21 g",
        b"SCALE: one\r\n",  # the print key's heading names the scale by number (Ranger RC p.36)
    ],
)
def test_garbage_and_undocumented_lines_are_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame)


def test_fake_writes_the_manual_lines() -> None:
    assert ohaus_weight(Decimal("192.21"), "g") == manual("*****192.21_g")
    assert ohaus_weight(Decimal("0.01"), "g", stable=False) == manual("*******0.01_g_?")


async def test_manual_lines_through_a_pty_with_garbage_and_split_frames() -> None:
    run = await replay(
        ScaleConfig(**FAST),  # type: ignore[arg-type]
        [
            manual("*****192.21_g"),
            manual("*******0.01_g_?")[:6],
            manual("*******0.01_g_?")[6:],
            b"\xff\xfe garbage \x01\r\n",
            b"      -OL-\r\n",
            b"-      1.250 kg    NET\r\n       2.500 lb   ?G\r\n",
        ],
    )
    assert [(r.value, r.unit, r.state) for r in run.readings] == [
        (Decimal("192.21"), "g", ReadingState.STABLE),
        (Decimal("0.01"), "g", ReadingState.UNSTABLE),
        (Decimal("-1.250"), "kg", ReadingState.STABLE),
        (Decimal("2.500"), "lb", ReadingState.UNSTABLE),
    ]
    assert any(s.fault is not None and s.fault.message == UNREADABLE for s in run.statuses)
    assert run.commands[0] == b"CP"


async def test_commands_round_trip() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_weight(Decimal("40.00"))
        assert (await scale.weigh()).value == Decimal("40.00")
        assert scale.fake.received[-1] == b"SP"
        assert (await scale.weigh(immediate=True)).value == Decimal("40.00")
        assert scale.fake.received[-1] == b"IP"
        await scale.tare()  # not acknowledged by Ohaus: sent, no refusal within ack_window
        assert scale.fake.received[-1] == b"T"
        tared = await scale.weigh()
        assert (tared.value, tared.basis) == (Decimal("0.00"), WeightBasis.NET)
        await scale.zero()
        assert scale.fake.received[-1] == b"Z"


async def test_a_refused_tare_is_a_fault() -> None:
    # A wide ack window: the refusal must arrive inside it even on a slow machine.
    async with SimScale(ScaleConfig(**{**FAST, "ack_window": 5.0})) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.fake.respond = False
        tare = asyncio.create_task(scale.tare())
        assert await scale.fake.commands.get() == b"T"
        scale.fake.write(b"ES\r\n")
        with pytest.raises(DeviceFault, match="did not understand"):
            await tare


async def test_overload_never_becomes_a_weight() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_overload()
        with pytest.raises(DeviceFault) as caught:
            await scale.weigh(immediate=True)
        assert caught.value.message == UNREADABLE


# --- PV: name, version and "LFT ON" (Ohaus RS232 command table: "PV  Print Version: name,
# software revision and LFT ON (if LFT is set ON)") --------------------------------------


@pytest.mark.parametrize(
    ("frame", "lft"),
    [
        (b"LFT ON\r\n", True),
        (b"LFT OFF\r\n", False),
        (b"Ranger 3000 V1.10 LFT ON\r\n", True),  # everything on one line
        (b"lft: on\r\n", True),
        (b"Discovery 1.23\r\n", None),  # the version line alone
        (b"Software Version: 2.04.1\r\n", None),
    ],
)
def test_version_answer_lines_are_info_replies(frame: bytes, lft: bool | None) -> None:
    reply = parse_frame(frame)
    assert isinstance(reply, Reply)
    assert (reply.ok, reply.answers, reply.legal_for_trade) == (True, "info", lft)


@pytest.mark.parametrize("frame", [b"LFT MAYBE\r\n", b"Ranger\r\n", b"- LFT ON\r\n"])
def test_text_without_a_version_or_lft_stays_unreadable(frame: bytes) -> None:
    with pytest.raises(UnreadableFrame):
        parse_frame(frame)


@pytest.mark.parametrize(("said", "expected"), [(True, True), (False, False), (None, False)])
async def test_legal_for_trade_asks_pv(said: bool | None, expected: bool) -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.set_legal_for_trade(said)
        assert await scale.legal_for_trade() is expected
        assert b"PV" in scale.fake.received
        scale.set_weight(Decimal("12.50"))  # weighing goes on as before
        assert (await scale.weigh()).value == Decimal("12.50")


async def test_legal_for_trade_unknown_when_pv_is_refused_or_unanswered() -> None:
    async with SimScale(ScaleConfig(**FAST)) as scale:  # type: ignore[arg-type]
        await scale.wait_connected(5)
        scale.fake.respond = False
        asked = asyncio.create_task(scale.legal_for_trade())
        while await scale.fake.commands.get() != b"PV":
            pass
        scale.fake.write(b"ES\r\n")
        assert await asked is None
        with pytest.raises(DeviceFault, match="not answering"):
            await scale.legal_for_trade()


async def test_protocols_without_a_version_question_cannot_say() -> None:
    config = ScaleConfig(**{**FAST, "protocol": "mt-sics"})  # type: ignore[arg-type]
    async with SimScale(config) as scale:
        await scale.wait_connected(5)
        assert await scale.legal_for_trade() is None
        assert b"PV" not in scale.fake.received
