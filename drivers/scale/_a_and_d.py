"""A&D standard format (FX-i/FZ-i, GX/GF, EK-i, HC-i, GC and indicators).

``HH,±DDDDDDDD UUU CR LF``: header ``ST`` stable, ``US`` unstable, ``OL``
overload / out of range, ``QT`` stable count, ``WT`` (a model switch) stable.
Some models add a second header: ``GS`` gross, ``NT`` net, ``TR`` tare, or a
comparator result ``LO``/``OK``/``HI``. Data is signed, zero-padded, 8-9
characters with the point, then a 3-character unit (``  g``, `` kg``, `` PC``).
Overload looks like ``OL,+9999999E+19`` or ``OL,GS,+    .  kg``: the digits
mean nothing there (A&D GC manual p.51; OP-05 spec p.58; FX-700CT p.31).

Two other output formats a balance may be switched to are read as well
(FX-i manual p.38, FZ-CT manual p.32, function ``5if``): the CSV format
(``ST,+0001.278,  ct``: a comma before the unit; ``OL,+9999999E+19,  ct``) and
the MT format for other makers' equipment (header ``S `` stable / ``SD``
unstable, sign only when negative, spaces for leading zeros:
``S       1.278 ct``; overload ``S I +``, underload ``S I -``).

Commands: ``Q`` immediate, ``S`` stable, ``SIR`` continuous, ``C`` cancel,
``R`` re-zero, ``T`` tare. With the "AK,ER" function on, commands are
acknowledged with a bare ACK (0x06) or refused with ``EC,Exx``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

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
from drivers.scale._framing import LineFramer
from drivers.scale._reading import Reading, ReadingState, WeightBasis, normalize_unit

ACK = b"\x06"

_FRAME = re.compile(
    r"^(?P<hdr>ST|US|OL|QT|WT)(?:,(?P<hdr2>GS|NT|TR|LO|OK|HI|--))?,"
    r"(?P<data>[-+][\dE+. ]+?)\s*,?\s*(?P<unit>[a-zA-Z%]{0,3})\s*$"
)
_MT_WEIGHT = re.compile(
    r"^S(?P<st>[ D])\s*(?P<w>-?\s*(?:\d+(?:\.\d*)?|\.\d+))\s+(?P<unit>[a-zA-Z%]{1,3})\s*$"
)
_MT_RANGE = re.compile(r"^S\s*I\s*(?P<sign>[+-])\s*$")
_ERROR = re.compile(r"^EC,(?P<code>E\d\d)$")
_BASIS = {"GS": WeightBasis.GROSS, "NT": WeightBasis.NET, "TR": WeightBasis.TARE}


def parse_frame(frame: bytes, ctx: FrameContext | None = None, /) -> Parsed:
    ctx = ctx or FrameContext()
    if frame in (ACK, ACK + b"\r\n"):
        return Reply(ok=True, raw=frame, detail="ACK")
    text = frame_text(frame)
    if not text.endswith("\r\n"):
        raise UnreadableFrame("A&D line without CR LF", frame)
    line = text[:-2]
    if not line.strip():
        return None
    m = _ERROR.match(line.strip())
    if m:
        return Reply(
            ok=False,
            raw=frame,
            message="scale refused the command",
            detail=f"EC,{m['code']}: A&D error code {m['code']}",
        )
    m = _FRAME.match(line)
    if m is None:
        return _mt_format(line, frame, ctx)
    basis = _BASIS.get(m["hdr2"] or "")
    unit = normalize_unit(m["unit"])
    if m["hdr"] == "OL":
        # Out of range: never read the digits. The sign tells which side.
        under = m["data"].startswith("-")
        return ctx.reading(
            frame,
            value=None,
            unit=unit,
            state=ReadingState.UNDERLOAD if under else ReadingState.OVERLOAD,
            basis=basis,
            detail=f"OL: out of range ({line.strip()})",
        )
    value = parse_number(m["data"].replace(" ", ""), frame)
    return ctx.reading(
        frame,
        value=value,
        unit=unit,
        state=ReadingState.UNSTABLE if m["hdr"] == "US" else ReadingState.STABLE,
        basis=basis,
    )


def _mt_format(line: str, frame: bytes, ctx: FrameContext) -> Reading:
    """A line of the MT format (``5if`` = 3), or unreadable."""
    m = _MT_RANGE.match(line)
    if m is not None:
        under = m["sign"] == "-"
        return ctx.reading(
            frame,
            value=None,
            unit="",
            state=ReadingState.UNDERLOAD if under else ReadingState.OVERLOAD,
            detail=f"{line.strip()}: {'underload' if under else 'overload'} (MT format)",
        )
    m = _MT_WEIGHT.match(line)
    if m is None:
        raise UnreadableFrame("not an A&D standard-, CSV- or MT-format line", frame)
    return ctx.reading(
        frame,
        value=parse_number(m["w"].replace(" ", ""), frame),
        unit=normalize_unit(m["unit"]),
        state=ReadingState.UNSTABLE if m["st"] == "D" else ReadingState.STABLE,
    )


DIALECT = Dialect(
    name="and",
    # A&D lab balances ship at 2400 baud, 7 data bits, even parity.
    serial=SerialSettings(2400, 7, "even", 1, "none"),
    framer=lambda: LineFramer(b"\r\n", max_len=64, solo=ACK),
    parse=parse_frame,
    weigh_immediate=Command(b"Q\r\n", "reading"),
    weigh_stable=Command(b"S\r\n", "reading"),
    tare=Command(b"T\r\n", "none"),
    zero=Command(b"R\r\n", "none"),
    stream_start=b"SIR\r\n",
    stream_stop=b"C\r\n",
)


# -- lines as the balance writes them (public through drivers.scale.testing) --------
AND_ACK = ACK
_AND_UNITS = {"pcs": "PC"}
AndHeader = Literal["ST", "US", "QT", "WT"]


def and_weight(
    value: Decimal, unit: str, *, header: AndHeader = "ST", second: str = "", csv: bool = False
) -> bytes:
    """``ST,+00123.45  g``: sign, 8 zero-padded characters, unit right-aligned in 3.
    ``second``: ``GS`` / ``NT`` / ``TR`` or a comparator result; ``csv``: a comma before the unit."""
    sign = "-" if value < 0 else "+"
    data = f"{sign}{format_decimal(abs(value)):0>8}"
    head = f"{header},{second}," if second else f"{header},"
    return f"{head}{data}{',' if csv else ''}{_AND_UNITS.get(unit, unit):>3}\r\n".encode()


def and_out_of_range(*, under: bool = False, second: str = "", unit: str = "") -> bytes:
    """``OL,+9999999E+19`` (standard), ``OL,GS,+    .  kg`` (with a second header)."""
    sign = "-" if under else "+"
    if second:
        return f"OL,{second},{sign}    .{unit:>4}\r\n".encode()
    return f"OL,{sign}9999999E+19{unit and ',' + f'{unit:>3}'}\r\n".encode()


def and_error(code: str = "E01") -> bytes:
    return f"EC,{code}\r\n".encode()


def and_mt_weight(value: Decimal, unit: str, *, stable: bool = True) -> bytes:
    """MT format: ``S `` / ``SD`` header, sign only when negative, the number
    right-aligned with spaces for leading zeros, then the unit."""
    number = ("-" if value < 0 else "") + format_decimal(abs(value))
    header = "S " if stable else "SD"
    return f"{header}{number:>9} {_AND_UNITS.get(unit, unit)}\r\n".encode()


def and_mt_out_of_range(*, under: bool = False) -> bytes:
    """MT format: ``S I +`` overload, ``S I -`` underload."""
    return b"S I -\r\n" if under else b"S I +\r\n"
