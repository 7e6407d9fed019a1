"""The public test seam for scales: frames from the manuals, their generators, a fake scale.

Tests (this repo's and the agent's) import from here, never from the private
``drivers.scale._*`` modules:

- each protocol's **frame generators**, defined next to its parser in the
  protocol module (``sics_weight``, ``toledo_weight(…, net=True)``,
  ``nci_status(motion=True, fourth=True)`` …) and re-exported here;
- ``MANUAL_FRAMES``: every frame family each protocol's manual documents, each
  with the manual and page it comes from and the outcome a worker must get;
- ``outcome()``: what a frame means on the floor (weight, not stable,
  overloaded, below zero, scale error, acknowledged, refused, unreadable);
- ``FakeScale`` (a scale on a real pty), ``StatusLog`` and ``replay()`` to push
  frames through the real serial driver; ``as_8n1()`` shows a 7E1 scale's bytes
  as an 8N1 port reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from drivers.scale._a_and_d import (
    AND_ACK,
    and_error,
    and_mt_out_of_range,
    and_mt_weight,
    and_out_of_range,
    and_weight,
)
from drivers.scale._dialects import DIALECTS
from drivers.scale._fake import (
    OHAUS_OVERLOAD_ASSUMED,
    OHAUS_UNDERLOAD_ASSUMED,
    FakeScale,
    Panel,
    StatusLog,
    as_8n1,
)
from drivers.scale._frames import FrameContext, Parsed, ProtocolName, Reply, UnreadableFrame
from drivers.scale._framing import PARITY_HINT, Junk, LineFramer, NciFramer, StartEndFramer, ToledoFramer
from drivers.scale._mt_sics import (
    sics_error,
    sics_reply,
    sics_serial_number,
    sics_status,
    sics_tare,
    sics_weight,
)
from drivers.scale._nci import NCI_UNKNOWN, nci_status, nci_status_frame, nci_weight
from drivers.scale._ohaus import ohaus_print_key, ohaus_weight
from drivers.scale._reading import ReadingState, WeightBasis, normalize_unit
from drivers.scale._serial import (
    BAD_SETTINGS,
    BELOW_ZERO,
    CLOSED,
    COULD_NOT_WEIGH,
    DISCONNECTED,
    NO_PERMISSION,
    NOT_ANSWERING,
    NOT_STABLE,
    OVERLOADED,
    PORT_BUSY,
    UNREADABLE,
)
from drivers.scale._sim import Replay, replay
from drivers.scale._sma import SMA_UNKNOWN, sma_about, sma_frame
from drivers.scale._toledo_8217 import (
    CENTRE_OF_ZERO,
    MOTION,
    NEGATIVE,
    NET,
    OUTSIDE_ZERO_RANGE,
    OVER_CAPACITY,
    toledo_status,
    toledo_weight,
)

__all__ = [
    "AND_ACK",
    "BAD_SETTINGS",
    "BELOW_ZERO",
    "CLOSED",
    "COULD_NOT_WEIGH",
    "DISCONNECTED",
    "MANUAL_FRAMES",
    "NCI_UNKNOWN",
    "NOT_ANSWERING",
    "NOT_STABLE",
    "NO_PERMISSION",
    "OHAUS_OVERLOAD_ASSUMED",
    "OHAUS_UNDERLOAD_ASSUMED",
    "OVERLOADED",
    "PARITY_HINT",
    "PORT_BUSY",
    "PROTOCOLS",
    "SMA_UNKNOWN",
    "TOLEDO_CENTRE_OF_ZERO",
    "TOLEDO_MOTION",
    "TOLEDO_NEGATIVE",
    "TOLEDO_NET",
    "TOLEDO_OUTSIDE_ZERO_RANGE",
    "TOLEDO_OVER",
    "UNREADABLE",
    "FakeScale",
    "FrameContext",
    "Junk",
    "Kind",
    "LineFramer",
    "ManualFrame",
    "NciFramer",
    "Outcome",
    "Panel",
    "Parsed",
    "ProtocolName",
    "Replay",
    "Reply",
    "StartEndFramer",
    "StatusLog",
    "ToledoFramer",
    "UnreadableFrame",
    "and_error",
    "and_mt_out_of_range",
    "and_mt_weight",
    "and_out_of_range",
    "and_weight",
    "as_8n1",
    "framer",
    "nci_status",
    "nci_status_frame",
    "nci_weight",
    "normalize_unit",
    "ohaus_print_key",
    "ohaus_weight",
    "outcome",
    "parse",
    "replay",
    "sics_error",
    "sics_reply",
    "sics_serial_number",
    "sics_status",
    "sics_tare",
    "sics_weight",
    "sma_about",
    "sma_frame",
    "stream_start",
    "toledo_status",
    "toledo_weight",
]

TOLEDO_MOTION, TOLEDO_OVER, TOLEDO_NEGATIVE = MOTION, OVER_CAPACITY, NEGATIVE
TOLEDO_OUTSIDE_ZERO_RANGE, TOLEDO_CENTRE_OF_ZERO, TOLEDO_NET = OUTSIDE_ZERO_RANGE, CENTRE_OF_ZERO, NET

PROTOCOLS: tuple[ProtocolName, ...] = tuple(DIALECTS)


def parse(protocol: ProtocolName, frame: bytes, ctx: FrameContext | None = None) -> Parsed:
    """The protocol's own parser: a ``Reading``, a ``Reply``, ``None`` (blank line),
    or ``UnreadableFrame``. Toledo 8217 frames carry no unit: give one in ``ctx``."""
    return DIALECTS[protocol].parse(frame, ctx)


def framer(protocol: ProtocolName) -> LineFramer | StartEndFramer | ToledoFramer | NciFramer:
    """A fresh framer for the protocol, as the serial driver makes one per connection."""
    made = DIALECTS[protocol].framer()
    assert isinstance(made, LineFramer | StartEndFramer | ToledoFramer | NciFramer)
    return made


# -- what a frame means on the floor ---------------------------------------------
Kind = Literal[
    "weight",  # a stable weight
    "not stable",  # motion; may carry the moving value
    "overloaded",
    "below zero",
    "scale error",
    "acknowledged",  # a command was done, or an info line (version, serial, LFT)
    "refused",  # the scale refused or did not understand a command
    "nothing",  # a blank line
    "unreadable",  # UnreadableFrame: never a weight
]
_KIND_OF_STATE: dict[ReadingState, Kind] = {
    ReadingState.STABLE: "weight",
    ReadingState.UNSTABLE: "not stable",
    ReadingState.OVERLOAD: "overloaded",
    ReadingState.UNDERLOAD: "below zero",
    ReadingState.ERROR: "scale error",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    value: Decimal | None = None
    unit: str | None = None
    basis: WeightBasis | None = None
    reason: str = ""  # UnreadableFrame.reason; compared only where the expectation sets it

    def matches(self, expected: Outcome) -> bool:
        """Equal in every field the expectation sets (``unit``/``basis`` None: any)."""
        return (
            self.kind == expected.kind
            and self.value == expected.value
            and (expected.unit is None or self.unit == expected.unit)
            and (expected.basis is None or self.basis == expected.basis)
            and (not expected.reason or self.reason == expected.reason)
        )


def outcome(protocol: ProtocolName, frame: bytes, ctx: FrameContext | None = None) -> Outcome:
    """Parse ``frame`` and say what it means; only ``UnreadableFrame`` is caught."""
    try:
        parsed = parse(protocol, frame, ctx)
    except UnreadableFrame as exc:
        return Outcome("unreadable", reason=exc.reason)
    if parsed is None:
        return Outcome("nothing")
    if isinstance(parsed, Reply):
        return Outcome("acknowledged" if parsed.ok else "refused")
    return Outcome(_KIND_OF_STATE[parsed.state], parsed.value, parsed.unit, parsed.basis)


# -- every frame family in the manuals -------------------------------------------
@dataclass(frozen=True, slots=True)
class ManualFrame:
    protocol: ProtocolName
    source: str  # the manual and page (or public driver) the frame is taken from
    frame: bytes
    expect: Outcome
    unit: str | None = None  # the configured unit, for protocols whose frames carry none


def _w(value: str, unit: str, basis: WeightBasis | None = None) -> Outcome:
    return Outcome("weight", Decimal(value), unit, basis)


def _moving(value: str | None = None, unit: str | None = None, basis: WeightBasis | None = None) -> Outcome:
    return Outcome("not stable", None if value is None else Decimal(value), unit, basis)


OVER, UNDER, ERROR = Outcome("overloaded"), Outcome("below zero"), Outcome("scale error")
ACK, REFUSED, UNREADABLE_FRAME = Outcome("acknowledged"), Outcome("refused"), Outcome("unreadable")
G, N, T, TOTAL = WeightBasis.GROSS, WeightBasis.NET, WeightBasis.TARE, WeightBasis.TOTAL

_AT = "MT AT balances operating instructions p.87 (manualshelf), command S"
_ALIC = "MT AL-IC operating instructions p.72 (manymanuals), S answers"
_SICS_REF = "MT-SICS reference manual for XPR/XSR, §2 response formats and general errors"
_SICS_HW = "reference/hardware.md §2.2 (MT-SICS parser sample)"
_FXI_MT = "A&D FX-i instruction manual p.38, MT format (5if type 3); issue 14"
_FXI_CSV = "A&D FX-i instruction manual p.38 / FZ-CT manual p.32, CSV format (5if type 5)"
_AND_STD = "A&D GC manual p.51 / OP-05 spec p.58, A&D standard format (hardware.md §2.5)"
_AND_HCI = "A&D HC-i manual p.36 (WT header switch)"
_AND_AK = "A&D FX-i manual, AK,ER function (ACK 0x06 / EC,Exx)"
_ODOO_8217 = "Odoo hw_drivers SerialScaleDriver Toledo8217Protocol (hardware.md §2.3)"
_ODOO_8217_STATUS = "Odoo hw_scale _toledo8217StatusParse, status bits 0-5 (hardware.md §2.3)"
_OHAUS_RS232 = "Ohaus RS232 interface manual p.5 (EN-3), output examples"
_RANGER_P = "Ohaus Ranger RC manual p.36 §5.1.4, response to P"
_RANGER_KEY = "Ohaus Ranger RC manual p.36 §5.1.4, response to the print key"
_DEFENDER_3000 = "Ohaus Defender 3000 indicator manual p.35 (EN-35) §5.2 output format"
_DEFENDER_5000 = "Ohaus Defender 5000 indicator manual p.51 (EN-51) printout definitions"
_OHAUS_CMD = "Ohaus RS232 interface manual p.5 / Discovery service manual (ES, PV, LFT)"
_SMA = "SMA SCP-0499 via Sartorius PR 5220 p.130, B-TEK T419S p.61, Cardinal 190 p.124"
_AWT = "Avery Weigh-Tronix 7821 user instructions p.25, §6.3 NCI protocol"
_AVIATOR = "Ohaus Aviator 7000 service manual p.49 / Fairbanks PC2250 p.61, NCI status bytes"
_ADAM = "Adam MDW manual p.14 (NCI weight field when over / under / zero error)"
_SCP02 = "Weigh-Tronix SCP-01/02 document (SCP-02 status prefix S)"
_BRECKNELL = "Salter Brecknell 3700LP user manual p.11 (NCI and 8213 protocols)"

MANUAL_FRAMES: tuple[ManualFrame, ...] = (
    # -- MT-SICS: weight, motion, over/under/busy, errors, tare, zero, info; CR LF only
    ManualFrame("mt-sics", _AT, b"S S     100.00 g\r\n", _w("100.00", "g")),
    ManualFrame("mt-sics", _SICS_HW, b"S S      -0.02 g\r\n", _w("-0.02", "g")),
    ManualFrame("mt-sics", _SICS_REF, b"S D     100.01 g\r\n", _moving("100.01", "g")),
    ManualFrame("mt-sics", _SICS_REF, b"S S    12.3456 kg\r\n", _w("12.3456", "kg")),
    ManualFrame("mt-sics", _SICS_REF, b"S S       1001 mg\r\n", _w("1001", "mg")),
    ManualFrame("mt-sics", _SICS_REF, b"S S     0.2205 lb\r\n", _w("0.2205", "lb")),
    ManualFrame("mt-sics", _SICS_REF, b"S S       15 PCS\r\n", _w("15", "pcs")),
    ManualFrame("mt-sics", _ALIC, b"S I\r\n", ERROR),
    ManualFrame("mt-sics", _ALIC, b"S +\r\n", OVER),
    ManualFrame("mt-sics", _ALIC, b"S -\r\n", UNDER),
    ManualFrame("mt-sics", _FXI_MT, b"S I +\r\n", OVER),
    ManualFrame("mt-sics", _FXI_MT, b"S I -\r\n", UNDER),
    ManualFrame("mt-sics", _SICS_REF, b"ES\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"ET\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"EL\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"T S     100.00 g\r\n", ACK),
    ManualFrame("mt-sics", _SICS_REF, b"T I\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"T +\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"T -\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"Z A\r\n", ACK),
    ManualFrame("mt-sics", _SICS_REF, b"Z I\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"Z +\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b"Z -\r\n", REFUSED),
    ManualFrame("mt-sics", _SICS_REF, b'I4 A "0123456789"\r\n', ACK),
    ManualFrame("mt-sics", _AT, b"S S     100.00 g\r", UNREADABLE_FRAME),  # "closed by CR LF"
    # -- Toledo 8217: gross, net (N after a tare), status bits; STX … CR; unit from config
    ManualFrame("toledo-8217", _ODOO_8217, b"\x02  12.34\r", _w("12.34", "lb", G), "lb"),
    ManualFrame("toledo-8217", _ODOO_8217, b"\x02  12.34N\r", _w("12.34", "lb", N), "lb"),
    ManualFrame("toledo-8217", _ODOO_8217, b"\x0201.234N\r", _w("1.234", "kg", N), "kg"),
    ManualFrame("toledo-8217", _ODOO_8217, b"\x02   0.00\r", _w("0.00", "lb", G), "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x21\r", _moving(basis=N), "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x01\r", _moving(basis=G), "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x02\r", OVER, "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x04\r", UNDER, "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x24\r", UNDER, "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x08\r", ERROR, "lb"),
    ManualFrame("toledo-8217", _ODOO_8217_STATUS, b"\x02?\x0D\r", UNDER, "lb"),
    ManualFrame("toledo-8217", _BRECKNELL, b"\x02012345\r", _w("12345", "g", G), "g"),  # grams
    ManualFrame("toledo-8217", _BRECKNELL, b"\x021234.56\r", _w("1234.56", "lb", G), "lb"),  # H
    # -- Ohaus: sign, unit, ?, legends, interval time, TOTAL; P layout; print key; ES/OK!/PV
    ManualFrame("ohaus", _OHAUS_RS232, b"     192.21 g\r\n", _w("192.21", "g")),
    ManualFrame("ohaus", _OHAUS_RS232, b"       0.01 g ?\r\n", _moving("0.01", "g")),
    ManualFrame("ohaus", _OHAUS_RS232, b"       0.01 g    00:00:00\r\n", _w("0.01", "g")),
    ManualFrame("ohaus", _OHAUS_RS232, b"     176.30 g ? 00:00:15\r\n", _moving("176.30", "g")),
    ManualFrame("ohaus", _OHAUS_RS232, b"     207.80 g TOTAL\r\n", _w("207.80", "g", TOTAL)),
    ManualFrame("ohaus", _RANGER_P, b"     12.34 kg   NET\r\n", _w("12.34", "kg", N)),
    ManualFrame("ohaus", _RANGER_P, b"     12.34 kg ? NET\r\n", _moving("12.34", "kg", N)),
    ManualFrame("ohaus", _RANGER_P, b"-     1.50 lb   B/G\r\n", _w("-1.50", "lb", G)),
    ManualFrame("ohaus", _RANGER_KEY, b"SCALE: 1\r\n", ACK),
    ManualFrame("ohaus", _RANGER_KEY, b"G               12.34 kg  \r\n", _w("12.34", "kg", G)),
    ManualFrame("ohaus", _RANGER_KEY, b"T                2.00 kg \r\n", _w("2.00", "kg", T)),
    ManualFrame("ohaus", _RANGER_KEY, b"N               10.34 kg ?\r\n", _moving("10.34", "kg", N)),
    ManualFrame("ohaus", _DEFENDER_3000, b"-   12.34 kg   ?NET\r\n", _moving("-12.34", "kg", N)),
    ManualFrame("ohaus", _DEFENDER_3000, b"    12.34 kg    G  \r\n", _w("12.34", "kg", G)),
    ManualFrame("ohaus", _DEFENDER_5000, b"      12.34    kg   N Accept\r\n", _w("12.34", "kg", N)),
    ManualFrame("ohaus", _DEFENDER_5000, b"      12.34    kg ? G Over\r\n", _moving("12.34", "kg", G)),
    ManualFrame("ohaus", _DEFENDER_5000, b"       2.00    kg   PT\r\n", _w("2.00", "kg", T)),
    ManualFrame("ohaus", _OHAUS_CMD, b"ES\r\n", REFUSED),
    ManualFrame("ohaus", _OHAUS_CMD, b"LFT ON\r\n", ACK),
    ManualFrame("ohaus", _OHAUS_CMD, b"NAVIGATOR 1.03\r\n", ACK),
    ManualFrame("ohaus", "iblrig Ohaus driver (OK! acknowledgement; hardware.md §2.4)", b"OK!\r\n", ACK),
    # -- A&D standard format: headers, second headers, signs, units, OL both ways
    ManualFrame("and", _AND_STD, b"ST,+00123.45  g\r\n", _w("123.45", "g")),
    ManualFrame("and", _AND_STD, b"US,+00123.45  g\r\n", _moving("123.45", "g")),
    ManualFrame("and", _AND_STD, b"ST,-00001.23  g\r\n", _w("-1.23", "g")),
    ManualFrame("and", _AND_STD, b"QT,+00000010 PC\r\n", _w("10", "pcs")),
    ManualFrame("and", _AND_STD, b"ST,GS,+0012.345 kg\r\n", _w("12.345", "kg", G)),
    ManualFrame("and", _AND_STD, b"ST,NT,+0010.345 kg\r\n", _w("10.345", "kg", N)),
    ManualFrame("and", _AND_STD, b"ST,TR,+0002.000 kg\r\n", _w("2.000", "kg", T)),
    ManualFrame("and", _AND_STD, b"OL,+9999999E+19\r\n", OVER),
    ManualFrame("and", _AND_STD, b"OL,-9999999E+19\r\n", UNDER),
    ManualFrame("and", _AND_STD, b"OL,GS,+    .  kg\r\n", OVER),
    ManualFrame("and", _AND_HCI, b"WT,+00123.45  g\r\n", _w("123.45", "g")),
    ManualFrame("and", _FXI_CSV, b"ST,+0001.278, ct\r\n", _w("1.278", "ct")),
    ManualFrame("and", _FXI_CSV, b"OL,+9999999E+19, ct\r\n", OVER),
    ManualFrame("and", _FXI_MT, b"S       1.278 ct\r\n", _w("1.278", "ct")),
    ManualFrame("and", _FXI_MT, b"SD     -1.278 ct\r\n", _moving("-1.278", "ct")),
    ManualFrame("and", _FXI_MT, b"S     123.45 g\r\n", _w("123.45", "g")),
    ManualFrame("and", _FXI_MT, b"S I +\r\n", OVER),
    ManualFrame("and", _FXI_MT, b"S I -\r\n", UNDER),
    ManualFrame("and", _AND_AK, b"\x06", ACK),
    ManualFrame("and", _AND_AK, b"EC,E01\r\n", REFUSED),
    # -- SMA: status letters, range, basis incl. high resolution, motion, units, signs
    ManualFrame("sma", _SMA, b"\n 1G       5.025lb \r", _w("5.025", "lb", G)),
    ManualFrame("sma", _SMA, b"\n 1N      -1.250kg \r", _w("-1.250", "kg", N)),
    ManualFrame("sma", _SMA, b"\n 1T       1.000lb \r", _w("1.000", "lb", T)),
    ManualFrame("sma", _SMA, b"\n 1GM      5.025lb \r", _moving("5.025", "lb", G)),
    ManualFrame("sma", _SMA, b"\nZ1G       0.000lb \r", _w("0.000", "lb", G)),
    ManualFrame("sma", _SMA, b"\n 2G       250.5g  \r", _w("250.5", "g", G)),
    ManualFrame("sma", _SMA, b"\n 1g      5.0250lb \r", _w("5.0250", "lb", G)),
    ManualFrame("sma", _SMA, b"\nO1G      99.999lb \r", OVER),
    ManualFrame("sma", _SMA, b"\nU1G      -0.100lb \r", UNDER),
    ManualFrame("sma", _SMA, b"\nE1G  ----------lb \r", ERROR),
    ManualFrame("sma", _SMA, b"\nI1G  ----------lb \r", ERROR),
    ManualFrame("sma", _SMA, b"\nT1N  ----------lb \r", ERROR),
    ManualFrame("sma", _SMA, b"\n?\r", REFUSED),
    ManualFrame("sma", "SMA SCP-0499 A (about) command (hardware.md §2.6)", b"\nSMA:1/1.0\r", ACK),
    # -- NCI: weight + status, status-only answers, multi-byte status, field patterns
    ManualFrame("nci", _AWT, b"\n  12.34lb\r\n00\r\x03", _w("12.34", "lb")),
    ManualFrame("nci", _AWT, b"\n  -0.12kg\r\n00\r\x03", _w("-0.12", "kg")),
    ManualFrame("nci", _AWT, b"\n  14.5oz\r\n00\r\x03", _w("14.5", "oz")),
    ManualFrame("nci", _AWT, b"\n  12.34lb\r\n10\r\x03", _moving("12.34", "lb")),
    ManualFrame("nci", _AWT, b"\n00\r\x03", ACK),
    ManualFrame("nci", _AWT, b"\n20\r\x03", ACK),  # at zero
    ManualFrame("nci", _AWT, b"\n?\r\x03", REFUSED),
    ManualFrame("nci", _AVIATOR, b"\n10\r\x03", _moving()),  # W while moving: status only
    ManualFrame("nci", _AVIATOR, b"\n01\r\x03", UNDER),
    ManualFrame("nci", _AVIATOR, b"\n02\r\x03", OVER),
    ManualFrame("nci", _AVIATOR, b"\n0p8\r\x03", ERROR),  # byte 3 bit 3: initial zero error
    ManualFrame("nci", _AVIATOR, b"\n40\r\x03", ERROR),  # RAM error
    ManualFrame("nci", _AVIATOR, b"\n  12.34lb\r\n0p4\r\x03", _w("12.34", "lb", N)),
    ManualFrame("nci", _AVIATOR, b"\n  12.34lb\r\n0p0\r\x03", _w("12.34", "lb", G)),
    ManualFrame("nci", _AVIATOR, b"\n  12.34lb\r\n0pt0\r\x03", _w("12.34", "lb", N)),  # 4 bytes
    ManualFrame("nci", _AVIATOR, b"\n1pt0\r\x03", _moving(basis=N)),  # 4 bytes, status only
    ManualFrame("nci", _ADAM, b"\n^^^^^^lb\r\n02\r\x03", OVER),
    ManualFrame("nci", _ADAM, b"\n______lb\r\n01\r\x03", UNDER),
    ManualFrame("nci", _ADAM, b"\n------lb\r\n00\r\x03", ERROR),
    ManualFrame("nci", _SCP02, b"\n   5.60kg\r\nS00\r\x03", _w("5.60", "kg")),
    ManualFrame("nci", _BRECKNELL, b"\n 1234g \r\n00\r\x03", _w("1234", "g")),  # <LF>_XXXXg_<CR>
    ManualFrame("nci", _BRECKNELL, b"\n123.45kg\r\n00\r\x03", _w("123.45", "kg")),
    ManualFrame("nci", _SCP02, b"\nS12\r\x03", OVER),
)


def stream_start(protocol: ProtocolName) -> bytes | None:
    """The command that makes the scale stream (continuous mode), or None."""
    return DIALECTS[protocol].stream_start
