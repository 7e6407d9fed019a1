"""A&D standard format (FX-i/FZ-i, GX/GF, EK-i, HC-i, GC and indicators).

``HH,±DDDDDDDD UUU CR LF``: header ``ST`` stable, ``US`` unstable, ``OL``
overload / out of range, ``QT`` stable count, ``WT`` (a model switch) stable.
Some models add a second header: ``GS`` gross, ``NT`` net, ``TR`` tare, or a
comparator result ``LO``/``OK``/``HI``. Data is signed, zero-padded, 8-9
characters with the point, then a 3-character unit (``  g``, `` kg``, `` PC``).
Overload looks like ``OL,+9999999E+19`` or ``OL,GS,+    .  kg``: the digits
mean nothing there (A&D GC manual p.51; OP-05 spec p.58; FX-700CT p.31).

Commands: ``Q`` immediate, ``S`` stable, ``SIR`` continuous, ``C`` cancel,
``R`` re-zero, ``T`` tare. With the "AK,ER" function on, commands are
acknowledged with a bare ACK (0x06) or refused with ``EC,Exx``.
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
from drivers.scale._framing import LineFramer
from drivers.scale._reading import Reading, ReadingState, WeightBasis, normalize_unit

ACK = b"\x06"

_FRAME = re.compile(
    r"^(?P<hdr>ST|US|OL|QT|WT)(?:,(?P<hdr2>GS|NT|TR|LO|OK|HI|--))?,"
    r"(?P<data>[-+][\dE+. ]+?)\s*(?P<unit>[a-zA-Z%]{0,3})\s*$"
)
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
        raise UnreadableFrame("not an A&D standard-format line", frame)
    basis = _BASIS.get(m["hdr2"] or "")
    unit = normalize_unit(m["unit"])
    if m["hdr"] == "OL":
        # Out of range: never read the digits. The sign tells which side.
        under = m["data"].startswith("-")
        return Reading(
            value=None,
            unit=unit,
            state=ReadingState.UNDERLOAD if under else ReadingState.OVERLOAD,
            raw=frame,
            at=ctx.at,
            scale_id=ctx.scale_id,
            basis=basis,
            detail=f"OL: out of range ({line.strip()})",
        )
    value = parse_number(m["data"].replace(" ", ""), frame)
    return Reading(
        value=value,
        unit=unit,
        state=ReadingState.UNSTABLE if m["hdr"] == "US" else ReadingState.STABLE,
        raw=frame,
        at=ctx.at,
        scale_id=ctx.scale_id,
        basis=basis,
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
