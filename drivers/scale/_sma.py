"""SMA standard (Scale Manufacturers Association SCP-0499), level 1.

Requests are ``LF <letter> CR``: ``W`` displayed weight, ``Z`` zero, ``T``
tare, ``R`` repeat the weight continuously (until the next command), ``H``
high resolution. Unknown commands answer ``LF ? CR``. Every weighing command
(including ``Z`` and ``T``) answers with the standard reply:

``LF s r n m f <weight:10> <unit:3> CR``

``s`` status: ``Z`` centre of zero, ``O`` over capacity, ``U`` under capacity,
``E`` zero error, ``I`` initial-zero error, ``T`` tare error (weight field
dashes for E/I/T), space = none. ``r`` range digit. ``n`` ``G`` gross / ``N``
net / ``T`` tare / ``g`` ``n`` high-resolution. ``m`` ``M`` motion, space
stable. ``f`` reserved. (Sartorius PR 5220 p.130; B-TEK T419S p.61;
Fairbanks FB2550 p.180; Cardinal 190 p.124.)
"""

from __future__ import annotations

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
from drivers.scale._framing import CR, LF, StartEndFramer
from drivers.scale._reading import Reading, ReadingState, WeightBasis, normalize_unit

_BASIS = {
    "G": (WeightBasis.GROSS, False),
    "N": (WeightBasis.NET, False),
    "T": (WeightBasis.TARE, False),
    "g": (WeightBasis.GROSS, True),
    "n": (WeightBasis.NET, True),
}
_ERRORS = {"E": "zero error", "I": "initial zero error", "T": "tare error"}


def parse_frame(frame: bytes, ctx: FrameContext | None = None, /) -> Parsed:
    ctx = ctx or FrameContext()
    text = frame_text(frame)
    if not (text.startswith("\n") and text.endswith("\r")):
        raise UnreadableFrame("SMA frame not wrapped in LF … CR", frame)
    body = text[1:-1]
    if body == "?":
        return Reply(
            ok=False,
            raw=frame,
            message="scale did not understand the command",
            detail="SMA ?: unrecognised command",
        )
    if body[:4] in ("SMA:", "MFG:", "MOD:", "REV:"):
        return Reply(ok=True, raw=frame, answers="info", detail=body)
    if not 15 < len(body) <= 18:
        raise UnreadableFrame("SMA reply is not 5 status + 10 weight + 3 unit characters", frame)
    s, r, n, m = body[0], body[1], body[2], body[3]
    weight, unit = body[5:15], normalize_unit(body[15:])
    if s not in " ZOUEIT" or not r.isdigit() or n not in _BASIS or m not in " M":
        raise UnreadableFrame("SMA status characters out of range", frame)
    basis, high_res = _BASIS[n]

    def reading(state: ReadingState, value: Decimal | None = None, detail: str = "") -> Reading:
        return ctx.reading(
            frame,
            value=value,
            unit=unit,
            state=state,
            basis=basis,
            high_resolution=high_res,
            detail=detail,
        )

    if s in _ERRORS:
        return reading(ReadingState.ERROR, detail=f"SMA {s}: {_ERRORS[s]}")
    if s == "O":
        return reading(ReadingState.OVERLOAD, detail="SMA O: over capacity")
    if s == "U":
        return reading(ReadingState.UNDERLOAD, detail="SMA U: under capacity")
    state = ReadingState.UNSTABLE if m == "M" else ReadingState.STABLE
    return reading(state, parse_number(weight, frame))


DIALECT = Dialect(
    name="sma",
    # Not fixed by SCP-0499; 9600 8N1 is the common indicator default.
    serial=SerialSettings(9600, 8, "none", 1, "none"),
    framer=lambda: StartEndFramer(LF, CR, max_len=32),
    parse=parse_frame,
    weigh_immediate=Command(b"\nW\r", "reading"),
    weigh_stable=None,  # SMA has no "wait until stable": poll W until stable
    tare=Command(b"\nT\r", "reading"),
    zero=Command(b"\nZ\r", "reading"),
    stream_start=b"\nR\r",
    stream_stop=None,  # any command stops R; nothing to send on close
)


# -- frames as the indicator writes them (public through drivers.scale.testing) --------
SMA_UNKNOWN = b"\n?\r"


def sma_frame(
    weight: Decimal | None,
    unit: str,
    *,
    status: str = " ",
    basis: str = "G",
    motion: bool = False,
    range_: str = "1",
) -> bytes:
    """``LF s r n m f <weight:10> <unit:3> CR``; weight ``None`` gives the dashes of E/I/T."""
    field_ = "-" * 10 if weight is None else f"{format_decimal(weight):>10}"
    head = f"{status}{range_}{basis}{'M' if motion else ' '} "
    return f"\n{head}{field_}{unit:<3}\r".encode()


def sma_about(line: str = "SMA:1/1.0") -> bytes:
    """One line of the answer to ``A`` (about): ``SMA:``, ``MFG:``, ``MOD:``, ``REV:``."""
    return f"\n{line}\r".encode()
