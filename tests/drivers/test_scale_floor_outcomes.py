"""The frames real scales send and the fakes used to miss, over real pty lines (issue 14):
Toledo 8217 net weights after a tare, NCI status-only answers, A&D's MT format,
and a 7E1 scale on an 8N1 port."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from drivers.faults import DeviceFault
from drivers.scale import ReadingState, ScaleConfig, SimScale, WeightBasis
from drivers.scale.testing import (
    BELOW_ZERO,
    NOT_STABLE,
    OVERLOADED,
    PARITY_HINT,
    UNREADABLE,
    ProtocolName,
    and_mt_out_of_range,
    and_mt_weight,
    nci_status,
    nci_status_frame,
    replay,
    sics_status,
)

pytestmark = pytest.mark.timeout(30)


def config(protocol: ProtocolName, **overrides: Any) -> ScaleConfig:
    return ScaleConfig(
        protocol=protocol,
        unit="lb" if protocol == "toledo-8217" else None,
        reconnect_interval=0.05,
        poll_interval=0.02,
        reply_timeout=2.0,
        stable_timeout=1.0,
        ack_window=0.05,
        **overrides,
    )


async def open_sim(protocol: ProtocolName, **overrides: Any) -> SimScale:
    scale = SimScale(config(protocol, **overrides), stream_interval=0.02)
    await scale.wait_connected(5)
    return scale


async def test_toledo_8217_weighs_net_after_a_tare() -> None:
    # Odoo Toledo8217Protocol: after a tare the weight frame ends in N (STX WW.WWN CR).
    async with await open_sim("toledo-8217") as scale:
        scale.set_weight(Decimal("1.25"), "lb")  # the empty container
        gross = await scale.weigh()
        assert (gross.value, gross.basis) == (Decimal("1.25"), WeightBasis.GROSS)
        await scale.tare()
        scale.set_weight(Decimal("4.75"), "lb")  # container plus product
        net = await scale.weigh()
        assert (net.value, net.unit, net.basis, net.raw) == (
            Decimal("3.50"), "lb", WeightBasis.NET, b"\x02   3.50N\r",
        )  # fmt: skip
        assert net.is_loggable


async def test_nci_status_only_answer_to_w_is_the_reason_at_once() -> None:
    # AWT 7821 p.25: W answers LF hh CR ETX while the scale cannot weigh.
    async with await open_sim("nci") as scale:
        scale.set_weight(Decimal("2.00"), "lb", stable=False)
        started = time.monotonic()
        moving = await scale.weigh(immediate=True)
        assert (moving.state, moving.value, moving.raw) == (ReadingState.UNSTABLE, None, b"\n1p0\r\x03")
        scale.set_overload()
        over = await scale.weigh(immediate=True)
        assert (over.state, over.value) == (ReadingState.OVERLOAD, None)
        scale.set_underload()
        under = await scale.weigh(immediate=True)
        assert (under.state, under.value) == (ReadingState.UNDERLOAD, None)
        # Each answer came with the reply, not after the 2 s reply timeout.
        assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("condition", "message"), [("over", OVERLOADED), ("under", BELOW_ZERO), ("motion", NOT_STABLE)]
)
async def test_nci_weigh_names_the_condition_not_silence(condition: str, message: str) -> None:
    async with await open_sim("nci") as scale:
        scale.set_weight(Decimal("2.00"), "lb", stable=False)
        {"over": scale.set_overload, "under": scale.set_underload, "motion": scale.set_unstable}[condition]()
        with pytest.raises(DeviceFault) as caught:
            await scale.weigh()
        assert caught.value.message == message


async def test_nci_tare_while_moving_is_refused_with_the_status() -> None:
    async with await open_sim("nci") as scale:
        scale.set_weight(Decimal("2.00"), "lb", stable=False)
        with pytest.raises(DeviceFault, match="could not tare") as caught:
            await scale.tare()
        assert "motion" in caught.value.detail
        assert scale.fake.panel.tare == 0


async def test_nci_four_status_bytes_and_status_only_frames_through_a_pty() -> None:
    run = await replay(
        config("nci"),
        [
            b"\n  12.34lb\r\n0pt0\r\x03",  # four status bytes (Aviator 7000 p.49)
            nci_status_frame(nci_status(motion=True, net=True, fourth=True)),
            nci_status_frame(nci_status(initial_zero_error=True)),
            b"\n   5.60kg\r\nS00\r\x03",  # SCP-02
        ],
    )
    assert [(r.value, r.state, r.basis) for r in run.readings] == [
        (Decimal("12.34"), ReadingState.STABLE, WeightBasis.NET),
        (None, ReadingState.UNSTABLE, WeightBasis.NET),
        (None, ReadingState.ERROR, WeightBasis.GROSS),
        (Decimal("5.60"), ReadingState.STABLE, None),
    ]
    assert not any(s.fault is not None for s in run.statuses)


@pytest.mark.parametrize("protocol", ["and", "mt-sics"])
async def test_a_and_d_mt_format_overload_and_underload(protocol: ProtocolName) -> None:
    # A&D FX-i p.38, MT format: S I + / S I -, whether configured as A&D or as MT-SICS.
    run = await replay(config(protocol), [and_mt_out_of_range(), sics_status("I -")])
    assert [(r.state, r.value) for r in run.readings] == [
        (ReadingState.OVERLOAD, None),
        (ReadingState.UNDERLOAD, None),
    ]
    assert not any(s.fault is not None for s in run.statuses)


async def test_a_and_d_mt_format_weights() -> None:
    frames = [and_mt_weight(Decimal("1.278"), "g"), and_mt_weight(Decimal("-0.5"), "g", stable=False)]
    run = await replay(config("and"), frames)
    assert [(r.value, r.unit, r.state) for r in run.readings] == [
        (Decimal("1.278"), "g", ReadingState.STABLE),
        (Decimal("-0.5"), "g", ReadingState.UNSTABLE),
    ]


@pytest.mark.parametrize("protocol", ["mt-sics", "toledo-8217", "ohaus", "and", "sma", "nci"])
async def test_a_7e1_scale_on_an_8n1_port_gets_the_parity_hint(protocol: ProtocolName) -> None:
    async with await open_sim(protocol) as scale:
        scale.fake.parity_as_data = True  # CR arrives as 0x8D, STX as 0x82
        scale.set_weight(Decimal("12.34"), "lb" if protocol in ("toledo-8217", "nci", "sma") else "g")
        with pytest.raises(DeviceFault) as caught:
            await scale.weigh()
        # Never "no line end" or "not answering": the message says the scale sent
        # something unreadable and the detail says why.
        assert caught.value.message == UNREADABLE
        assert PARITY_HINT in caught.value.detail
        assert scale.status.fault is not None and PARITY_HINT in scale.status.fault.detail


@pytest.mark.parametrize("protocol", ["mt-sics", "toledo-8217", "ohaus", "and", "sma", "nci"])
async def test_commands_echoed_back_are_neither_weights_nor_noise(protocol: ProtocolName) -> None:
    # A scale (or converter) in full duplex sends each command back before answering.
    statuses: list[Any] = []
    async with await open_sim(protocol) as scale:
        scale.on_state = statuses.append
        scale.fake.echo = True
        unit = "lb" if protocol == "toledo-8217" else "g"
        scale.set_weight(Decimal("12.34"), unit)
        reading = await scale.weigh()
        assert (reading.value, reading.state) == (Decimal("12.34"), ReadingState.STABLE)
        if protocol != "sma":  # SMA answers T with a weight frame; the others acknowledge or not
            await scale.tare()
        assert scale.fake.received  # the fake did echo what it got
        assert not any(s.fault is not None for s in statuses)
        assert scale.status.fault is None
