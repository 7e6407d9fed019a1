"""The shape every protocol module fills in: parsed frames, commands, serial defaults.

Each protocol module (``_mt_sics``, ``_toledo_8217``, ``_ohaus``, ``_a_and_d``,
``_sma``, ``_nci``) exports one ``DIALECT``: a pure parser (bytes in, ``Reading``
or ``Reply`` out, no I/O), a framer factory and the command bytes. The serial
driver is written once against this shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, Protocol

from drivers.scale._framing import PARITY_HINT, Framer
from drivers.scale._reading import Reading, ReadingState, WeightBasis, utc_now

ProtocolName = Literal["mt-sics", "toledo-8217", "ohaus", "and", "sma", "nci"]
Action = Literal["weigh", "tare", "zero", "info"]
Parity = Literal["none", "even", "odd"]
FlowControl = Literal["none", "xonxoff", "rtscts"]


@dataclass(frozen=True, slots=True)
class FrameContext:
    """What a parser needs besides the bytes: who is speaking, when, and in which unit
    (only for protocols whose frames carry no unit, i.e. Toledo 8217)."""

    scale_id: str = ""
    at: datetime = field(default_factory=utc_now)
    unit: str | None = None

    def reading(
        self,
        frame: bytes,
        *,
        value: Decimal | None,
        unit: str,
        state: ReadingState,
        basis: WeightBasis | None = None,
        high_resolution: bool = False,
        detail: str = "",
    ) -> Reading:
        """``frame`` read as a weight, stamped with who sent it and when."""
        return Reading(
            value=value, unit=unit, state=state, raw=frame, at=self.at, scale_id=self.scale_id,
            basis=basis, high_resolution=high_resolution, detail=detail,
        )


class UnreadableFrame(ValueError):
    """A frame that is not a valid answer in this protocol. Never turned into a weight.

    A refused frame with bytes >= 0x80 always carries the parity/baud hint,
    whatever check refused it: on a 7-bit protocol those bytes mean the port's
    settings do not match the scale, and that is what IT must be told.
    """

    def __init__(self, reason: str, frame: bytes) -> None:
        if any(b >= 0x80 for b in frame):
            reason = PARITY_HINT
        super().__init__(f"{reason}: {frame!r}")
        self.reason = reason
        self.frame = frame


@dataclass(frozen=True, slots=True)
class Reply:
    """A non-weight answer: an acknowledgement or a refusal of a command.

    ``answers`` says which command it belongs to where the protocol tells
    (MT-SICS ``T S``/``Z A``); ``None`` means it could answer whatever was
    asked last (``ES``, ``EC,E01``, SMA ``?``, an NCI status frame, A&D ACK).
    """

    ok: bool
    raw: bytes
    answers: Action | None = None
    message: str = ""  # plain language for DeviceFault when not ok
    detail: str = ""  # technical: what exactly the scale sent and means
    # An ``info`` line that says whether the scale is in legal-for-trade mode (Ohaus ``LFT ON``).
    legal_for_trade: bool | None = None


Parsed = Reading | Reply | None  # None: a blank line, nothing to report


@dataclass(frozen=True, slots=True)
class Command:
    """Bytes to send, and what kind of frame answers them.

    ``reading``: a weight frame (or an error reply). ``reply``: an
    acknowledgement. ``none``: the protocol does not acknowledge (Toledo ``T``,
    Ohaus ``Z``); an error reply may still come and is waited for briefly.
    """

    request: bytes
    answer: Literal["reading", "reply", "none"]


@dataclass(frozen=True, slots=True)
class SerialSettings:
    baudrate: int
    bytesize: Literal[7, 8]
    parity: Parity
    stopbits: Literal[1, 2]
    flow_control: FlowControl


class Parser(Protocol):
    def __call__(self, frame: bytes, ctx: FrameContext | None = None, /) -> Parsed: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    name: ProtocolName
    serial: SerialSettings
    framer: Callable[[], Framer]
    parse: Parser
    weigh_immediate: Command
    weigh_stable: Command | None  # None: poll until stable (Toledo, SMA, NCI)
    tare: Command | None
    zero: Command | None
    stream_start: bytes | None  # continuous mode: ask the scale to stream
    stream_stop: bytes | None
    frames_carry_unit: bool = True
    # Asks the scale about itself (Ohaus ``PV``: name, version, ``LFT ON``); answered by
    # ``info`` replies. None: the protocol cannot say whether it is legal-for-trade.
    version: Command | None = None
    # NCI: a status-only frame answers any command, ``W`` included: when it says the
    # scale cannot weigh (a value-less reading) it is the answer to ``S``/``Z``/``T`` too.
    status_answers: bool = False

    def is_echo(self, data: bytes) -> bool:
        """True when ``data`` is one of this protocol's own commands sent back: a scale
        (or an RS-232 converter) in full duplex / echo mode returns what it receives
        before answering. An echo is neither a reading nor noise."""
        core = data.strip(b"\r\n ")
        return bool(core) and core in {
            c.strip(b"\r\n ")
            for c in (
                self.weigh_immediate.request,
                self.weigh_stable.request if self.weigh_stable else None,
                self.tare.request if self.tare else None,
                self.zero.request if self.zero else None,
                self.version.request if self.version else None,
                self.stream_start,
                self.stream_stop,
            )
            if c
        }


def frame_text(frame: bytes) -> str:
    """Decode a frame as ASCII, or say why it cannot be one.

    A byte >= 0x80 on a 7-bit protocol almost always means the port's parity
    or data bits do not match the scale (8N1 reading a 7E1 line shows the
    parity bit as data), so the reason says so.
    """
    try:
        return frame.decode("ascii")
    except UnicodeDecodeError:
        raise UnreadableFrame(PARITY_HINT, frame) from None


_NUMBER = re.compile(r"^([-+]?)\s*(\d+(?:\.\d*)?|\.\d+)$")


def parse_number(text: str, frame: bytes) -> Decimal:
    """Strict decimal from a weight field: optional sign, digits, one point.

    Anything else (dashes, stars, exponent, two points) is unreadable; the
    scale's own digits are kept exactly (``Decimal("0.010")`` keeps its zero).
    """
    m = _NUMBER.match(text.strip())
    if m is None:
        raise UnreadableFrame(f"weight field {text.strip()!r} is not a number", frame)
    try:
        return Decimal(m.group(1) + m.group(2))
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a number
        raise UnreadableFrame("weight field is not a number", frame) from None


def format_decimal(value: Decimal) -> str:
    """A weight as the scale prints it: the digits of the Decimal, never an exponent."""
    return format(value, "f")
