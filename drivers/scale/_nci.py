"""NCI general serial protocol (Weigh-Tronix SCP-01/02; Brecknell, Avery Weigh-Tronix).

Commands end with CR: ``W`` weight, ``S`` status, ``Z`` zero, ``T`` tare,
``U`` change unit, ``H`` x10 resolution. Answers end with ETX:

- ``W``: ``LF <weight><unit> CR LF <status…> CR ETX``, e.g. ``\\n  12.34lb\\r\\n00\\r\\x03``
- ``S`` / ``Z`` / ``T``: ``LF <status…> CR ETX``
- unknown: ``LF ? CR ETX``

Status bytes (two or three, bits 4-5 always set so they read as ``0``-``?``;
SCP-02 puts an ``S`` in front): byte 1 bit0 motion, bit1 at zero, bit2 RAM
error, bit3 EEPROM error; byte 2 bit0 under capacity, bit1 over capacity,
bit2 ROM error, bit3 faulty calibration; optional byte 3 bits0-1 range, bit2
net, bit3 initial zero error (AWT 7821 p.25; Brecknell 7800 p.32; Ohaus
Aviator 7000 service manual p.49). Over capacity shows the weight field as
``^^^^^^``, under capacity ``______``, zero error ``------`` (Adam MDW p.14).
"""

from __future__ import annotations

import re

from drivers.scale._frames import (
    Command,
    Dialect,
    FrameContext,
    Parsed,
    Reply,
    SerialSettings,
    UnreadableFrame,
    frame_text,
    parse_number,
)
from drivers.scale._framing import NciFramer
from drivers.scale._reading import Reading, ReadingState, WeightBasis, normalize_unit

_WEIGHT = re.compile(r"^(?P<w>[^A-Za-z]*?)\s*(?P<u>[A-Za-z]{1,3})?\s*$")
_LB_OZ = re.compile(r"\d\s*lb\s+[\d.]+\s*oz", re.IGNORECASE)


class Status:
    """The NCI status bytes, decoded. Bit 7 (parity on 8-bit links) is ignored."""

    def __init__(self, raw: bytes, frame: bytes) -> None:
        if raw[:1] == b"S":  # SCP-02 prefix
            raw = raw[1:]
        if not 2 <= len(raw) <= 3 or any((b & 0x30) != 0x30 for b in raw):
            raise UnreadableFrame("NCI status bytes malformed", frame)
        b1, b2 = raw[0], raw[1]
        b3 = raw[2] if len(raw) == 3 else None
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
        if status.errors:
            return Reply(ok=False, raw=frame, message="scale reports a fault", detail=status.describe())
        return Reply(ok=True, raw=frame, detail=status.describe())
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
        return Reading(
            value=None,
            unit=unit,
            state=state,
            raw=frame,
            at=ctx.at,
            scale_id=ctx.scale_id,
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
    return Reading(
        value=parse_number(field_, frame),
        unit=unit,
        state=ReadingState.UNSTABLE if status.motion else ReadingState.STABLE,
        raw=frame,
        at=ctx.at,
        scale_id=ctx.scale_id,
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
)
