"""NCI general serial protocol (Weigh-Tronix SCP-01/02; Brecknell, Avery Weigh-Tronix).

Commands end with CR: ``W`` weight, ``S`` status, ``Z`` zero, ``T`` tare,
``U`` change unit, ``H`` x10 resolution. Answers end with ETX:

- ``W``: ``LF <weight><unit> CR LF <status…> CR ETX``, e.g. ``\\n  12.34lb\\r\\n00\\r\\x03``
- ``S`` / ``Z`` / ``T``: ``LF <status…> CR ETX``
- unknown: ``LF ? CR ETX``

Status bytes (two or more; bits 4-5 always set so they read as ``0``-``?``,
bit 6 of byte 2 and later set when another byte follows, bit 7 parity; SCP-02
puts an ``S`` in front): byte 1 bit0 motion, bit1 at zero, bit2 RAM error,
bit3 EEPROM error; byte 2 bit0 under capacity, bit1 over capacity, bit2 ROM
error, bit3 faulty calibration; optional byte 3 bits0-1 range, bit2 net, bit3
initial zero error; a fourth byte is reserved (AWT 7821 p.25; Brecknell 7800
p.32; Ohaus Aviator 7000 service manual p.49; Fairbanks PC2250 p.61). Over
capacity shows the weight field as ``^^^^^^``, under capacity ``______``, zero
error ``------`` (Adam MDW p.14).

While the scale is moving, below zero, over capacity or at an initial-zero
error, it answers ``W`` with the status alone (``LF hh CR ETX``): that frame is
a reading without a value (not stable / below zero / overloaded / scale error),
so the worker hears why at once instead of "not answering". A status that says
nothing is wrong stays an acknowledgement (the answer to ``S``, ``Z``, ``T``).
"""

from __future__ import annotations

import re
from decimal import Decimal

from drivers.scale._frames import (
    Command,
    Dialect,
    FrameContext,
    Parsed,
    Reply,
    SerialSettings,
    UnreadableFrame,
    format_decimal,
    frame_text,
    parse_number,
)
from drivers.scale._framing import NciFramer
from drivers.scale._reading import Reading, ReadingState, WeightBasis, normalize_unit

_WEIGHT = re.compile(r"^(?P<w>[^A-Za-z]*?)\s*(?P<u>[A-Za-z]{1,3})?\s*$")
_LB_OZ = re.compile(r"\d\s*lb\s+[\d.]+\s*oz", re.IGNORECASE)


_MAX_STATUS_BYTES = 6


class Status:
    """The NCI status bytes, decoded. Bit 7 (parity on 8-bit links) is ignored."""

    def __init__(self, raw: bytes, frame: bytes) -> None:
        if raw[:1] == b"S":  # SCP-02 prefix
            raw = raw[1:]
        if not 2 <= len(raw) <= _MAX_STATUS_BYTES or any((b & 0x30) != 0x30 for b in raw):
            raise UnreadableFrame("NCI status bytes malformed", frame)
        b1, b2 = raw[0], raw[1]
        b3 = raw[2] if len(raw) >= 3 else None
        self.motion = bool(b1 & 0x01)
        self.at_zero = bool(b1 & 0x02)
        self.under = bool(b2 & 0x01)
        self.over = bool(b2 & 0x02)
        self.errors = [
            name
            for flag, name in (
                (b1 & 0x04, "RAM error"),
                (b1 & 0x08, "EEPROM error"),
                (b2 & 0x04, "ROM error"),
                (b2 & 0x08, "faulty calibration"),
                (b3 is not None and b3 & 0x08, "initial zero error"),
            )
            if flag
        ]
        self.basis = None if b3 is None else (WeightBasis.NET if b3 & 0x04 else WeightBasis.GROSS)
        self.raw = raw

    @property
    def state(self) -> ReadingState | None:
        """What the status alone says about weighing now; None when nothing is wrong."""
        if self.over:
            return ReadingState.OVERLOAD
        if self.under:
            return ReadingState.UNDERLOAD
        if self.errors:
            return ReadingState.ERROR
        if self.motion:
            return ReadingState.UNSTABLE
        return None

    def describe(self) -> str:
        flags = [
            name
            for on, name in (
                (self.motion, "motion"),
                (self.at_zero, "at zero"),
                (self.under, "under capacity"),
                (self.over, "over capacity"),
            )
            if on
        ] + self.errors
        return f"status {self.raw.hex(' ')} ({', '.join(flags) or 'ok'})"


def parse_frame(frame: bytes, ctx: FrameContext | None = None, /) -> Parsed:
    ctx = ctx or FrameContext()
    if not (frame.startswith(b"\n") and frame.endswith(b"\r\x03")):
        raise UnreadableFrame("NCI frame not wrapped in LF … CR ETX", frame)
    body = frame[1:-2]
    if body == b"?":
        return Reply(
            ok=False,
            raw=frame,
            message="scale did not understand the command",
            detail="NCI ?: unrecognised command",
        )
    parts = body.split(b"\r\n")
    if len(parts) == 1:
        status = Status(parts[0], frame)
        state = status.state
        if state is None:
            return Reply(ok=True, raw=frame, detail=status.describe())
        return ctx.reading(
            frame,
            value=None,
            unit="",
            state=state,
            basis=status.basis,
            detail=status.describe(),
        )
    if len(parts) != 2:
        raise UnreadableFrame("NCI frame has more than two parts", frame)
    status = Status(parts[1], frame)
    text = frame_text(parts[0])
    if _LB_OZ.search(text):
        raise UnreadableFrame("pound-ounce display is not supported; set a decimal unit", frame)
    m = _WEIGHT.match(text)
    if m is None:
        raise UnreadableFrame("NCI weight field is not a weight", frame)
    field_, unit = m["w"].strip(), normalize_unit(m["u"] or "")
    marks = set(field_) - {".", " "}  # "^^^.^^" is still the over-capacity pattern

    def reading(state: ReadingState, detail: str) -> Reading:
        return ctx.reading(
            frame,
            value=None,
            unit=unit,
            state=state,
            basis=status.basis,
            detail=detail,
        )

    if status.over or marks == {"^"}:
        return reading(ReadingState.OVERLOAD, status.describe())
    if status.under or marks == {"_"}:
        return reading(ReadingState.UNDERLOAD, status.describe())
    if status.errors or marks == {"-"}:
        return reading(ReadingState.ERROR, status.describe())
    if not unit:
        raise UnreadableFrame("NCI weight without a unit", frame)
    return ctx.reading(
        frame,
        value=parse_number(field_, frame),
        unit=unit,
        state=ReadingState.UNSTABLE if status.motion else ReadingState.STABLE,
        basis=status.basis,
    )


DIALECT = Dialect(
    name="nci",
    # Not in the reference manuals we have; 9600 7E1 is the usual Brecknell/AWT
    # factory setting. Check the scale's menu and set it in the config.
    serial=SerialSettings(9600, 7, "even", 1, "none"),
    framer=NciFramer,
    parse=parse_frame,
    weigh_immediate=Command(b"W\r", "reading"),
    weigh_stable=None,  # poll W until stable
    tare=Command(b"T\r", "reply"),
    zero=Command(b"Z\r", "reply"),
    stream_start=None,
    stream_stop=None,
    status_answers=True,
)


# -- frames as the scale writes them (public through drivers.scale.testing) --------
NCI_UNKNOWN = b"\n?\r\x03"


def nci_status(
    *,
    motion: bool = False,
    at_zero: bool = False,
    ram_error: bool = False,
    eeprom_error: bool = False,
    under: bool = False,
    over: bool = False,
    rom_error: bool = False,
    bad_calibration: bool = False,
    net: bool | None = None,
    range_: int = 0,
    initial_zero_error: bool = False,
    fourth: bool = False,
    scp02: bool = False,
) -> bytes:
    """The status bytes: two, three with ``net`` (or a range / initial-zero error)
    given, four with ``fourth``; bit 6 marks "another byte follows" from byte 2 on.
    ``scp02`` puts the SCP-02 ``S`` in front."""
    b1 = 0x30 | motion * 0x01 | at_zero * 0x02 | ram_error * 0x04 | eeprom_error * 0x08
    b2 = 0x30 | under * 0x01 | over * 0x02 | rom_error * 0x04 | bad_calibration * 0x08
    out = [b1, b2]
    if net is not None or range_ or initial_zero_error or fourth:
        out[1] |= 0x40
        out.append(0x30 | (range_ & 0x03) | bool(net) * 0x04 | initial_zero_error * 0x08)
        if fourth:
            out[2] |= 0x40
            out.append(0x30)  # reserved
    return (b"S" if scp02 else b"") + bytes(out)


def nci_weight(field_: Decimal | str, unit: str, status: bytes) -> bytes:
    """``LF   12.34lb CR LF <status> CR ETX``; ``field_`` may be ``"^^^^^^"`` etc."""
    text = format_decimal(field_) if isinstance(field_, Decimal) else field_
    return b"\n" + f"{text:>7}{unit}".encode() + b"\r\n" + status + b"\r\x03"


def nci_status_frame(status: bytes) -> bytes:
    """``LF <status> CR ETX``: the answer to ``S``, ``Z``, ``T``, and to ``W`` while
    the scale cannot weigh (motion, under / over capacity, initial-zero error)."""
    return b"\n" + status + b"\r\x03"
