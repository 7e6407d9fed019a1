"""Toledo 8217 "weight only" protocol (Ariva, Viva and many retail bench scales).

Send ``W`` with no terminator. The scale answers ``STX weight CR`` when it has
a good weight, or ``STX ? <status> CR`` when it has not. After a tare the
weight is net and ends in ``N``: ``STX WW.WWN CR`` (Odoo ``Toledo8217Protocol``
``measureRegexp`` ``\\x02\\s*([0-9.]+)N?\\r``; reference/hardware.md §2.3). Status bits: 0 motion,
1 over capacity, 2 negative / under zero, 3 outside zero capture range,
4 centre of zero, 5 net weight (Odoo hw_scale ``_toledo8217StatusParse``;
Mettler Toledo Viva service manual). ``Z`` zero, ``T`` tare, ``C`` clear tare
are not acknowledged. The frames carry no unit: the scale's configured unit
must be given in ``ScaleConfig.unit``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from drivers.scale._frames import (
    Command,
    Dialect,
    FrameContext,
    Parsed,
    SerialSettings,
    UnreadableFrame,
    format_decimal,
    frame_text,
    parse_number,
)
from drivers.scale._framing import ToledoFramer
from drivers.scale._reading import ReadingState, WeightBasis, normalize_unit

MOTION = 1 << 0
OVER_CAPACITY = 1 << 1
NEGATIVE = 1 << 2
OUTSIDE_ZERO_RANGE = 1 << 3
CENTRE_OF_ZERO = 1 << 4
NET = 1 << 5

_WEIGHT = re.compile(r"^\x02\s*(?P<w>\d+(?:\.\d*)?|\.\d+)(?P<net>N)?\r$")

_FLAG_NAMES = (
    (MOTION, "motion"),
    (OVER_CAPACITY, "over capacity"),
    (NEGATIVE, "negative"),
    (OUTSIDE_ZERO_RANGE, "outside zero capture range"),
    (CENTRE_OF_ZERO, "centre of zero"),
    (NET, "net"),
)


def describe_status(status: int) -> str:
    names = [name for bit, name in _FLAG_NAMES if status & bit]
    return f"status 0x{status:02X} ({', '.join(names) or 'no flags'})"


def parse_frame(frame: bytes, ctx: FrameContext | None = None, /) -> Parsed:
    ctx = ctx or FrameContext()
    if ctx.unit is None:
        raise UnreadableFrame("Toledo 8217 frames carry no unit and none is configured", frame)
    unit = normalize_unit(ctx.unit)
    if len(frame) == 4 and frame[:2] == b"\x02?" and frame[3:] == b"\r":
        # Bits 6-7 are unused (and bit 7 may be parity on an 8-bit port): ignore them.
        status = frame[2] & 0x3F
        basis = WeightBasis.NET if status & NET else WeightBasis.GROSS
        if status & OVER_CAPACITY:
            state = ReadingState.OVERLOAD
        elif status & NEGATIVE:
            state = ReadingState.UNDERLOAD
        elif status & MOTION:
            state = ReadingState.UNSTABLE
        else:
            # A status frame instead of a weight, with no motion/over/under:
            # the scale has no weight to give (e.g. outside zero capture range).
            state = ReadingState.ERROR
        return ctx.reading(
            frame,
            value=None,
            unit=unit,
            state=state,
            basis=basis,
            detail=describe_status(status),
        )
    m = _WEIGHT.match(frame_text(frame))
    if m is None:
        raise UnreadableFrame("not a Toledo 8217 weight or status frame", frame)
    # The scale sends a weight frame only when it is not in motion, over or under.
    return ctx.reading(
        frame,
        value=parse_number(m["w"], frame),
        unit=unit,
        state=ReadingState.STABLE,
        basis=WeightBasis.NET if m["net"] else WeightBasis.GROSS,
    )


DIALECT = Dialect(
    name="toledo-8217",
    serial=SerialSettings(9600, 7, "even", 1, "none"),
    framer=ToledoFramer,
    parse=parse_frame,
    weigh_immediate=Command(b"W", "reading"),
    weigh_stable=None,  # no "wait until stable" command: poll W until stable
    tare=Command(b"T", "none"),
    zero=Command(b"Z", "none"),
    stream_start=None,
    stream_stop=None,
    frames_carry_unit=False,
)


# -- frames as the scale writes them (public through drivers.scale.testing) --------
def toledo_weight(value: Decimal, *, net: bool = False) -> bytes:
    """``STX   12.34 CR`` (``STX   12.34N CR`` after a tare): no sign, no unit, the
    weight right-aligned in the display's width (negative weights come as status)."""
    return b"\x02" + f"{format_decimal(value):>7}".encode() + (b"N" if net else b"") + b"\r"


def toledo_status(bits: int) -> bytes:
    """``STX ? <status> CR``: the status byte is the raw bit field (``MOTION`` …)."""
    return b"\x02?" + bytes([bits]) + b"\r"
