"""Ohaus command set (Ranger, Valor, Defender, Scout, Navigator, Courier).

Commands end with CR LF: ``IP`` immediate print (stable or not), ``P`` print as
displayed, ``SP`` print when stable, ``CP`` continuous, ``0P`` auto-print off,
``Z`` zero, ``T`` tare, ``PV`` version. Invalid commands answer ``ES``; ``Z``
and ``T`` are otherwise not acknowledged on most models (some answer ``OK!``).

``PV`` prints the name and software revision, and ``LFT ON`` when the scale is
in legal-for-trade mode (Ohaus Discovery service manual, RS232 command table);
those lines parse as ``info`` replies. Only a line with a dotted version number
or ``LFT ON``/``LFT OFF`` is taken: any other text stays unreadable.

Output (Ohaus RS232 interface manual p.5; Defender 3000 §5.2; Navigator):
polarity, weight right-justified with leading blanks, unit (up to 5 chars),
``?`` when unstable (blank when stable), then an optional legend (``G``/``B/G``
gross, ``NET``, ``T``/``Tare``, ``TOTAL``) and, for interval printing, a time:
``     192.21 g``, ``       0.01 g ?``, ``     176.30 g ? 00:00:15``.
Defender indicators (3000 §5.2 p.35; 5000 p.51) print the legend right after the
stability mark (``?NET``), ``PT`` for a preset tare and a check-weighing status
(``Under`` / ``Accept`` / ``Over``: against the target, not overload).
The "print key" layout puts G / T / N in front of the number instead, after a
``SCALE: n`` heading line (Ranger RC manual p.36, §5.1.4).

Overload and underload are not documented as output lines for these models,
so anything that is not a number with a known unit is unreadable: reported,
never a weight. Pound:ounce display (``1 lb 3.5 oz``) is refused the same way.
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
from drivers.scale._framing import LineFramer
from drivers.scale._reading import ReadingState, WeightBasis, normalize_unit

_UNITS = "kg|mg|g|lb|ozt|oz|dwt|ct|GN|tl|mom|PCS|pcs|PC|%"
_LINE = re.compile(
    r"^(?:(?P<pre>[GTN])\s+)?"
    r"(?P<sign>-)?\s*(?P<num>\d+(?:\.\d*)?|\.\d+)"
    rf"\s+(?P<unit>{_UNITS})(?![A-Za-z:])"
    r"\s*(?P<unstable>\?)?"
    r"\s*(?:(?P<check>[AOU])(?=\s|$))?"  # check-weighing accept/over/under (not overload)
    r"\s*(?:(?P<coz>C)(?=\s|$))?"  # centre of zero
    r"\s*(?P<legend>NET|Net|N|B/G|G|GROSS|Tare|TARE|PT|T|TOTAL)?"
    r"(?:\s+(?P<app>Under|Accept|Over))?"  # Defender 5000 check-weighing status, not overload
    r"\s*(?P<time>\d{2}:\d{2}:\d{2})?\s*$"
)
_HEADING = re.compile(r"^SCALE:\s*\d{1,2}$")
_LFT = re.compile(r"\bLFT\s*[:=]?\s*(ON|OFF)\b", re.IGNORECASE)
_INFO = re.compile(r"^[A-Za-z][\w .:/-]*$")
_VERSION = re.compile(r"\d+\.\d+")
_BASIS = {
    "G": WeightBasis.GROSS,
    "B/G": WeightBasis.GROSS,
    "GROSS": WeightBasis.GROSS,
    "N": WeightBasis.NET,
    "NET": WeightBasis.NET,
    "Net": WeightBasis.NET,
    "T": WeightBasis.TARE,
    "Tare": WeightBasis.TARE,
    "TARE": WeightBasis.TARE,
    "PT": WeightBasis.TARE,  # preset tare (Defender 5000)
    "TOTAL": WeightBasis.TOTAL,
}


def parse_frame(frame: bytes, ctx: FrameContext | None = None, /) -> Parsed:
    ctx = ctx or FrameContext()
    text = frame_text(frame)
    if not text.endswith("\r\n"):
        raise UnreadableFrame("Ohaus line without CR LF", frame)
    line = text[:-2].rstrip()
    if not line.strip():
        return None
    if line.strip() == "ES":
        return Reply(
            ok=False,
            raw=frame,
            message="scale did not understand the command",
            detail="ES: invalid command",
        )
    if line.strip() == "OK!":
        return Reply(ok=True, raw=frame, detail="OK!")
    if _HEADING.match(line.strip()):
        # The print key's first line names the scale; the weights follow on their own lines.
        return Reply(ok=True, raw=frame, detail=line.strip())
    m = _LINE.match(line.strip())
    if m is None:
        return _info(line.strip(), frame)
    value = parse_number((m["sign"] or "") + m["num"], frame)
    legend = m["pre"] or m["legend"]
    return ctx.reading(
        frame,
        value=value,
        unit=normalize_unit(m["unit"]),
        state=ReadingState.UNSTABLE if m["unstable"] else ReadingState.STABLE,
        basis=_BASIS[legend] if legend else None,
    )


def _info(line: str, frame: bytes) -> Reply:
    """A line of the ``PV`` answer (name and version, ``LFT ON``), or unreadable."""
    if _INFO.match(line):
        lft = _LFT.search(line)
        if lft is not None:
            return Reply(ok=True, raw=frame, answers="info", detail=line,
                         legal_for_trade=lft[1].upper() == "ON")
        if _VERSION.search(line):
            return Reply(ok=True, raw=frame, answers="info", detail=line)
    raise UnreadableFrame("not an Ohaus weight line", frame)


DIALECT = Dialect(
    name="ohaus",
    serial=SerialSettings(9600, 8, "none", 1, "none"),
    framer=lambda: LineFramer(b"\r\n", max_len=64),
    parse=parse_frame,
    weigh_immediate=Command(b"IP\r\n", "reading"),
    weigh_stable=Command(b"SP\r\n", "reading"),
    tare=Command(b"T\r\n", "none"),
    zero=Command(b"Z\r\n", "none"),
    stream_start=b"CP\r\n",
    stream_stop=b"0P\r\n",
    version=Command(b"PV\r\n", "reply"),
)


# -- lines as the scale prints them (public through drivers.scale.testing) --------
_OHAUS_UNITS = {"pcs": "PCS"}


def ohaus_weight(
    value: Decimal,
    unit: str,
    *,
    stable: bool = True,
    legend: str | None = None,
    polarity_first: bool = False,
    time: str | None = None,
) -> bytes:
    """``     192.21 g`` / ``       0.01 g ?`` (+ legend such as ``NET``, + interval time).

    ``polarity_first``: the Ranger layout, sign in the first column and the digits
    right-aligned after it (``-   12.34 kg``) instead of the sign next to the digits.
    """
    if polarity_first:
        number = ("-" if value < 0 else " ") + f"{format_decimal(abs(value)):>10}"
    else:
        number = f"{format_decimal(value):>11}"
    line = f"{number} {_OHAUS_UNITS.get(unit, unit)}"
    if not stable:
        line += " ?"
    if legend:
        line += f" {legend}"
    if time:
        line += f" {time}" if not stable else f"   {time}"
    return (line + "\r\n").encode()


def ohaus_print_key(
    gross: Decimal, tare: Decimal, unit: str, *, stable: bool = True, scale: int = 1
) -> list[bytes]:
    """What the print key sends: ``SCALE: 1`` then G, T and N lines (Ranger RC p.36).
    The tare line carries no stability field."""

    def row(prefix: str, value: Decimal, with_status: bool) -> bytes:
        pol = "-" if value < 0 else " "
        status = "" if not with_status else (" " if stable else " ?")
        return f"{prefix}{' ' * 13}{pol}{format_decimal(abs(value)):>7} {unit}{status}\r\n".encode()

    return [
        f"SCALE: {scale}\r\n".encode(),
        row("G", gross, True),
        row("T", tare, False),
        row("N", gross - tare, True),
    ]
