"""Every frame family the manuals document, parsed to what the worker must be told.

The frames and their sources (manual and page) live in
``drivers.scale.testing.MANUAL_FRAMES``; this file checks them through the
parsers, the framers and the generators the fake scale uses.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.testing import (
    MANUAL_FRAMES,
    PARITY_HINT,
    PROTOCOLS,
    FrameContext,
    Junk,
    ManualFrame,
    ProtocolName,
    and_mt_out_of_range,
    and_mt_weight,
    and_out_of_range,
    and_weight,
    as_8n1,
    framer,
    nci_status,
    nci_status_frame,
    nci_weight,
    ohaus_print_key,
    ohaus_weight,
    outcome,
    sics_status,
    sics_weight,
    sma_about,
    sma_frame,
    toledo_status,
    toledo_weight,
)


def _id(m: ManualFrame) -> str:
    return f"{m.protocol}:{m.frame!r}"


@pytest.mark.parametrize("manual", MANUAL_FRAMES, ids=_id)
def test_each_manual_frame_gives_the_documented_outcome(manual: ManualFrame) -> None:
    assert manual.source  # every frame names where it comes from
    got = outcome(manual.protocol, manual.frame, FrameContext(unit=manual.unit))
    assert got.matches(manual.expect), (manual.source, got)


@pytest.mark.parametrize(
    "manual", [m for m in MANUAL_FRAMES if m.expect.kind != "unreadable"], ids=_id
)
def test_each_manual_frame_comes_out_of_the_framer_whole(manual: ManualFrame) -> None:
    cutter = framer(manual.protocol)
    assert cutter.feed(manual.frame) == [manual.frame]
    assert cutter.discard_partial() is None


# Ohaus manuals document no overload, underload or error output line (the fake
# sends the display text, which must stay unreadable): hardware.md §2.4.
# A&D's formats have no error header (EC,Exx refuses a command; hardware.md §2.5).
UNDOCUMENTED = {
    ("ohaus", "overloaded"),
    ("ohaus", "below zero"),
    ("ohaus", "scale error"),
    ("and", "scale error"),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_covers_every_worker_outcome(protocol: ProtocolName) -> None:
    kinds = {m.expect.kind for m in MANUAL_FRAMES if m.protocol == protocol}
    wanted = {"weight", "not stable", "overloaded", "below zero", "scale error"}
    assert wanted - {k for p, k in UNDOCUMENTED if p == protocol} <= kinds


def test_generators_write_the_manual_frames() -> None:
    d = Decimal
    # MT-SICS (MT AT p.87; A&D FX-i p.38 MT format)
    assert sics_weight(d("100.00"), "g") == b"S S     100.00 g\r\n"
    assert sics_weight(d("100.01"), "g", stable=False) == b"S D     100.01 g\r\n"
    assert sics_status("I +") == b"S I +\r\n"
    # Toledo 8217 (Odoo Toledo8217Protocol: N after a tare)
    assert toledo_weight(d("12.34")) == b"\x02  12.34\r"
    assert toledo_weight(d("12.34"), net=True) == b"\x02  12.34N\r"
    assert toledo_status(0x21) == b"\x02?\x21\r"
    # Ohaus (RS232 interface manual p.5; Ranger RC p.36)
    assert ohaus_weight(d("192.21"), "g") == b"     192.21 g\r\n"
    assert ohaus_weight(d("176.30"), "g", stable=False, time="00:00:15") == b"     176.30 g ? 00:00:15\r\n"
    assert ohaus_weight(d("-1.50"), "lb", polarity_first=True, legend="B/G") == b"-      1.50 lb B/G\r\n"
    assert ohaus_print_key(d("12.34"), d("2.00"), "kg")[0] == b"SCALE: 1\r\n"
    # A&D (GC p.51; FX-i p.38 CSV and MT formats)
    assert and_weight(d("123.45"), "g") == b"ST,+00123.45  g\r\n"
    assert and_weight(d("1.278"), "ct", csv=True) == b"ST,+0001.278, ct\r\n"
    assert and_out_of_range() == b"OL,+9999999E+19\r\n"
    assert and_out_of_range(second="GS", unit="kg") == b"OL,GS,+    .  kg\r\n"
    assert and_mt_weight(d("1.278"), "ct") == b"S     1.278 ct\r\n"
    assert and_mt_out_of_range(under=True) == b"S I -\r\n"
    # SMA (SCP-0499)
    assert sma_frame(d("5.025"), "lb") == b"\n 1G       5.025lb \r"
    assert sma_frame(None, "lb", status="E") == b"\nE1G  ----------lb \r"
    assert sma_about() == b"\nSMA:1/1.0\r"
    # NCI (AWT 7821 p.25; Aviator 7000 p.49: bit 6 = another byte follows)
    assert nci_weight(d("12.34"), "lb", nci_status()) == b"\n  12.34lb\r\n00\r\x03"
    assert nci_status_frame(nci_status(motion=True)) == b"\n10\r\x03"
    assert nci_status(net=True) == b"0p4"
    assert nci_status(initial_zero_error=True) == b"0p8"
    assert nci_status(net=True, fourth=True) == b"0pt0"
    assert nci_status(over=True, scp02=True) == b"S02"


@pytest.mark.parametrize(
    ("protocol", "frame", "unit"),
    [
        ("mt-sics", sics_weight(Decimal("100.00"), "g"), None),
        ("toledo-8217", toledo_weight(Decimal("12.34"), net=True), "lb"),
        ("ohaus", ohaus_weight(Decimal("192.21"), "g"), None),
        ("and", and_weight(Decimal("123.45"), "g"), None),
        ("sma", sma_frame(Decimal("5.025"), "lb"), None),
        ("nci", nci_weight(Decimal("12.34"), "lb", nci_status()), None),
    ],
)
def test_a_7e1_frame_read_on_an_8n1_port_gives_the_parity_hint(
    protocol: ProtocolName, frame: bytes, unit: str | None
) -> None:
    cutter = framer(protocol)
    out = cutter.feed(as_8n1(frame) * 3)
    leftover = cutter.discard_partial()
    reasons: list[str] = []
    for item in [*out, *([leftover] if leftover else [])]:
        if isinstance(item, Junk):
            reasons.append(item.reason)
        else:
            got = outcome(protocol, item, FrameContext(unit=unit))
            assert got.kind == "unreadable"
            reasons.append(got.reason)
    assert reasons
    assert set(reasons) == {PARITY_HINT}
