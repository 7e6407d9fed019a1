"""Mettler Toledo MT-SICS (Standard Interface Command Set), level 0/1.

Commands end with CR LF. Weight answers are ``<ID> <status> <value> <unit>``
with a 10-character right-aligned value: ``S S     100.00 g``. Status ``S`` is
stable, ``D`` dynamic (only from ``SI``/``SIR``). ``S I`` = not executable now
(busy, or no stability within the balance's timeout), ``S +`` overload, ``S -``
underload; ``ES`` / ``ET`` / ``EL`` are syntax / transmission / logical errors.
Tare answers ``T S <tare> <unit>`` / ``T I`` / ``T +`` / ``T -``; zero answers
``Z A`` / ``Z I`` / ``Z +`` / ``Z -``. (MT AT manual p.87, MT-SICS reference.)

A&D balances in their MT-compatible output (FX-i manual p.38, "MT format")
report overload / underload as ``S I +`` / ``S I -``: parsed as overload and
below zero, never as "busy".
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
from drivers.scale._reading import ReadingState, normalize_unit

_WEIGHT = re.compile(
    r"^(?:S|SI|SIR|SU|SIU)\s+(?P<st>[SD])\s+(?P<w>[-+]?\s*(?:\d+(?:\.\d*)?|\.\d+))\s+(?P<u>\S{1,3})$"
)
_WEIGHT_STATUS = re.compile(r"^(?:S|SI|SIR|SU|SIU)\s+(?P<st>[I+-]|I\s*[+-])$")
_TARE = re.compile(r"^T\s+(?:S\s+(?P<w>[-+]?\s*[\d.]+)\s+(?P<u>\S{1,3})|(?P<err>[I+-]))$")
_ZERO = re.compile(r"^Z\s+(?P<st>[AI+-])$")
_INFO = re.compile(r"^(?:I\d+|@)\s+A(?:\s.*)?$")

_WEIGHT_STATES = {
    "I": (ReadingState.ERROR, "S I: busy or no stability within the balance's timeout"),
    "+": (ReadingState.OVERLOAD, "S +: overload"),
    "-": (ReadingState.UNDERLOAD, "S -: underload"),
    "I+": (ReadingState.OVERLOAD, "S I +: overload (A&D MT format)"),
    "I-": (ReadingState.UNDERLOAD, "S I -: underload (A&D MT format)"),
}
_GENERAL_ERRORS = {
    "ES": ("scale did not understand the command", "ES: syntax error (command unknown)"),
    "ET": ("scale reported a transmission error", "ET: transmission error (parity/break)"),
    "EL": ("scale cannot do that now", "EL: logical error (cannot execute)"),
}
_TARE_ERRORS = {
    "I": ("scale could not tare: busy or not stable", "T I: not executable"),
    "+": ("scale could not tare: over capacity", "T +: upper limit of taring range exceeded"),
    "-": ("scale could not tare: below zero", "T -: lower limit of taring range exceeded"),
}
_ZERO_ERRORS = {
    "I": ("scale could not zero: busy or not stable", "Z I: not executable"),
    "+": ("scale could not zero: too much weight on it", "Z +: upper limit of zero range"),
    "-": ("scale could not zero: below its zero range", "Z -: lower limit of zero range"),
}


def parse_frame(frame: bytes, ctx: FrameContext | None = None, /) -> Parsed:
    ctx = ctx or FrameContext()
    text = frame_text(frame)
    if not text.endswith("\r\n"):
        raise UnreadableFrame("MT-SICS line without CR LF", frame)
    line = text[:-2].strip()
    if not line:
        return None
    m = _WEIGHT.match(line)
    if m:
        state = ReadingState.STABLE if m["st"] == "S" else ReadingState.UNSTABLE
        return ctx.reading(
            frame,
            value=parse_number(m["w"], frame),
            unit=normalize_unit(m["u"]),
            state=state,
        )
    m = _WEIGHT_STATUS.match(line)
    if m:
        state, detail = _WEIGHT_STATES[m["st"].replace(" ", "")]
        return ctx.reading(
            frame,
            value=None,
            unit="",
            state=state,
            detail=detail,
        )
    if line in _GENERAL_ERRORS:
        message, detail = _GENERAL_ERRORS[line]
        return Reply(ok=False, raw=frame, message=message, detail=detail)
    m = _TARE.match(line)
    if m:
        if m["err"]:
            message, detail = _TARE_ERRORS[m["err"]]
            return Reply(ok=False, raw=frame, answers="tare", message=message, detail=detail)
        tare = parse_number(m["w"], frame)
        return Reply(ok=True, raw=frame, answers="tare", detail=f"tare {tare} {m['u']}")
    m = _ZERO.match(line)
    if m:
        if m["st"] == "A":
            return Reply(ok=True, raw=frame, answers="zero", detail="Z A: zero set")
        message, detail = _ZERO_ERRORS[m["st"]]
        return Reply(ok=False, raw=frame, answers="zero", message=message, detail=detail)
    if _INFO.match(line):
        return Reply(ok=True, raw=frame, answers="info", detail=line)
    raise UnreadableFrame("not an MT-SICS answer", frame)


DIALECT = Dialect(
    name="mt-sics",
    # Typical lab-balance defaults; many MT balances ship with Xon/Xoff on.
    serial=SerialSettings(9600, 8, "none", 1, "xonxoff"),
    framer=lambda: LineFramer(b"\r\n", max_len=128),
    parse=parse_frame,
    weigh_immediate=Command(b"SI\r\n", "reading"),
    weigh_stable=Command(b"S\r\n", "reading"),
    tare=Command(b"T\r\n", "reply"),
    zero=Command(b"Z\r\n", "reply"),
    stream_start=b"SIR\r\n",
    stream_stop=b"@\r\n",  # reset: stops SIR, answers with I4 (serial number)
)


# -- frames as the balance writes them (public through drivers.scale.testing) --------
_SICS_UNITS = {"pcs": "PCS", "gn": "GN"}
SicsWeightCommand = Literal["S", "SI", "SIR", "SU", "SIU"]


def sics_weight(
    value: Decimal, unit: str, *, stable: bool = True, command: SicsWeightCommand = "S"
) -> bytes:
    """``S S     100.00 g``: the answering command, status S/D, value right-aligned in 10, unit."""
    unit = _SICS_UNITS.get(unit, unit)
    return f"{command} {'S' if stable else 'D'} {format_decimal(value):>10} {unit}\r\n".encode()


def sics_status(code: Literal["I", "+", "-", "I +", "I -"], *, command: SicsWeightCommand = "S") -> bytes:
    """``S I`` busy, ``S +`` / ``S -`` over / under; ``S I +`` / ``S I -`` from A&D's MT format."""
    return f"{command} {code}\r\n".encode()


def sics_tare(value: Decimal, unit: str) -> bytes:
    return f"T S {format_decimal(value):>10} {_SICS_UNITS.get(unit, unit)}\r\n".encode()


def sics_reply(command: Literal["T", "Z"], code: str) -> bytes:
    return f"{command} {code}\r\n".encode()


def sics_error(code: Literal["ES", "ET", "EL"] = "ES") -> bytes:
    return f"{code}\r\n".encode()


def sics_serial_number(serial: str) -> bytes:
    """``I4 A "0123456789"``: the answer to ``I4`` and to ``@`` (reset)."""
    return f'I4 A "{serial}"\r\n'.encode()
