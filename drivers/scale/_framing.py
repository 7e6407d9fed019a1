"""Cutting a serial byte stream into frames, one framer per framing style.

Scales do not agree on framing: MT-SICS, Ohaus and A&D end lines with CR LF,
Toledo 8217 wraps frames in STX … CR, SMA in LF … CR and NCI ends them with
ETX after two CR-separated parts. A generic ``readline()`` cuts SMA and NCI
frames in the wrong place, so each style has its own framer.

Every framer resynchronises the same way: bytes that cannot belong to a frame
(line noise, a frame cut short by a replug, a frame longer than any real one)
come out as ``Junk`` and framing restarts at the next delimiter. Junk is
reported, never parsed. Whitespace-only junk (stray CR/LF/NUL, e.g. an SMA
scale that adds LF after CR) is dropped silently: it cannot hide a weight.

Junk with bytes >= 0x80 gets the parity hint as its reason, whatever the
framer found wrong: a 7E1 scale read on an 8N1 port sends CR as 0x8D and STX
as 0x82, so the framer never sees a frame end and would otherwise only say
"no line end", which sends IT looking in the wrong place.
"""

from __future__ import annotations

from dataclasses import dataclass

STX = 0x02
ETX = 0x03
LF = 0x0A
CR = 0x0D
_BLANK = frozenset(b" \t\r\n\x00")

PARITY_HINT = (
    "bytes >= 0x80 in the frame: probably a baud/parity/data-bits mismatch "
    "(e.g. 8N1 port on a 7E1 scale)"
)


# Clears bit 7: a delimiter a 7E1 scale sent reads as delimiter | 0x80 on an 8N1 port.
_SEVEN_BITS = bytes(b & 0x7F for b in range(256))


def _reason(data: bytes, reason: str) -> str:
    return PARITY_HINT if any(b >= 0x80 for b in data) else reason


def _seven_bit_find(buf: bytearray, needle: bytes, start: int = 0) -> int:
    """Where ``needle`` ends a frame once bit 7 is cleared and does not in the raw
    bytes (a 7E1 frame end on an 8N1 port), or -1."""
    if not any(b >= 0x80 for b in buf):
        return -1
    at = buf.translate(_SEVEN_BITS).find(needle, start)
    return at if at >= 0 and buf[at : at + len(needle)] != needle else -1


@dataclass(frozen=True, slots=True)
class Junk:
    data: bytes
    reason: str


class Framer:
    """Base: a byte buffer plus the junk bookkeeping. Subclasses implement ``_cut``."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len
        self._buf = bytearray()
        self._out: list[bytes | Junk] = []

    def feed(self, data: bytes) -> list[bytes | Junk]:
        """Add received bytes; return the complete frames and junk found so far, in order."""
        self._buf += data
        self._cut()
        out, self._out = self._out, []
        return out

    def discard_partial(self) -> Junk | None:
        """Drop a half-received frame (before a new request, after a reconnect)."""
        data = bytes(self._buf)
        self._buf.clear()
        if data and not set(data) <= _BLANK:
            return Junk(data, _reason(data, "incomplete frame"))
        return None

    # -- for subclasses -------------------------------------------------
    def _cut(self) -> None:
        raise NotImplementedError

    def _frame(self, end: int) -> None:
        self._out.append(bytes(self._buf[:end]))
        del self._buf[:end]

    def _starts_at(self, start: int) -> bool:
        """True when a frame starts at the buffer's head; else junk what comes
        before ``start`` (all of it when ``start`` is -1: no frame start seen)."""
        if start == 0:
            return True
        self._junk(len(self._buf) if start < 0 else start, "bytes outside a frame")
        return False

    def _take_through(self, e: int) -> bool:
        """Cut the frame ending at index ``e``; False (wait for more bytes) while
        no end has come (``e`` is -1), unless the buffer already outgrew a frame."""
        if e < 0:
            if len(self._buf) > self.max_len:
                self._junk(len(self._buf), f"no frame end within {self.max_len} bytes")
            return False
        if e + 1 > self.max_len:  # arrived whole, but no real frame is this long
            self._junk(e + 1, f"frame longer than {self.max_len} bytes")
        else:
            self._frame(e + 1)
        return True

    def _junk(self, end: int, reason: str) -> None:
        data = bytes(self._buf[:end])
        del self._buf[:end]
        if not data or set(data) <= _BLANK:
            return
        last = self._out[-1] if self._out else None
        if isinstance(last, Junk):  # one report per stretch of noise, not one per byte
            joined = last.data + data
            self._out[-1] = Junk(joined, _reason(joined, last.reason))
        else:
            self._out.append(Junk(data, _reason(data, reason)))


class LineFramer(Framer):
    """Frames end with ``terminator`` (CR LF). ``solo`` bytes at a frame start are
    frames of their own (A&D sends a bare ACK 0x06 for commands)."""

    def __init__(self, terminator: bytes = b"\r\n", max_len: int = 128, solo: bytes = b"") -> None:
        super().__init__(max_len)
        self._term = terminator
        self._solo = solo

    def _cut(self) -> None:
        buf = self._buf
        while buf:
            if buf[0] in self._solo:
                self._frame(1)
                continue
            idx = buf.find(self._term)
            shifted = _seven_bit_find(buf, self._term)
            if shifted >= 0 and (idx < 0 or shifted < idx):
                self._junk(shifted + len(self._term), PARITY_HINT)
                continue
            if idx < 0:
                if len(buf) > self.max_len:
                    # Keep a trailing CR: its LF may be in the next read.
                    keep = 1 if buf.endswith(self._term[:1]) else 0
                    self._junk(len(buf) - keep, f"no line end within {self.max_len} bytes")
                return
            end = idx + len(self._term)
            if end > self.max_len:
                self._junk(end, f"line longer than {self.max_len} bytes")
            else:
                self._frame(end)


class StartEndFramer(Framer):
    """Frames run from a start byte to an end byte (SMA: LF … CR).

    A start byte seen again before the end means the first frame was cut
    short; it becomes junk and framing restarts at the newer start.
    """

    def __init__(self, start: int, end: int, max_len: int) -> None:
        super().__init__(max_len)
        self._start = start
        self._end = end

    def _cut(self) -> None:
        buf = self._buf
        while buf:
            if not self._starts_at(buf.find(self._start)):
                continue
            e = buf.find(self._end, 1)
            restart = buf.rfind(self._start, 1, e if e >= 0 else len(buf))
            if restart > 0:
                self._junk(restart, "incomplete frame")
                continue
            shifted = _seven_bit_find(buf, bytes([self._end]), 1)
            if shifted >= 0 and (e < 0 or shifted < e):
                self._junk(shifted + 1, PARITY_HINT)
                continue
            if not self._take_through(e):
                return


class ToledoFramer(Framer):
    """Toledo 8217: ``STX weight CR`` or ``STX ? status CR``.

    The status byte is a raw bit field (bit 1 = over capacity makes it 0x02,
    the same as STX; motion + negative + outside-zero-range makes it 0x0D, the
    same as CR), so a status frame is cut by length, never by searching.
    """

    def __init__(self, max_len: int = 16) -> None:
        super().__init__(max_len)

    def _cut(self) -> None:
        buf = self._buf
        while buf:
            if not self._starts_at(buf.find(STX)):
                continue
            if len(buf) < 2:
                return
            if buf[1] == ord("?"):
                if len(buf) < 4:
                    return
                if buf[3] == CR:
                    self._frame(4)
                else:  # not a status frame after all: drop the STX and resync
                    self._junk(1, "malformed status frame")
                continue
            e = buf.find(CR, 1)
            restart = buf.find(STX, 1, e if e >= 0 else len(buf))
            if restart > 0:
                self._junk(restart, "incomplete frame")
                continue
            if not self._take_through(e):
                return


class NciFramer(Framer):
    """NCI: ``LF weight CR LF status CR ETX`` or ``LF status CR ETX``.

    A frame contains LF inside, so it cannot restart at "the last LF". It
    ends at ETX; it starts at the LF before the status part, or one part
    earlier when that part is preceded by CR (the weight line). Anything
    before that is junk. Status bytes always have bits 4 and 5 set (>= 0x30),
    so they never look like LF, CR or ETX.
    """

    def __init__(self, max_len: int = 64) -> None:
        super().__init__(max_len)

    def _cut(self) -> None:
        buf = self._buf
        while buf:
            e = buf.find(ETX)
            if e < 0:
                if len(buf) > self.max_len:
                    self._junk(len(buf), f"no frame end within {self.max_len} bytes")
                return
            status_lf = buf.rfind(LF, 0, e)
            if status_lf < 0:
                self._junk(e + 1, "frame without a start")
                continue
            start = status_lf
            if status_lf >= 1 and buf[status_lf - 1] == CR:
                weight_lf = buf.rfind(LF, 0, status_lf - 1)
                if weight_lf >= 0:
                    start = weight_lf
            if start > 0:
                self._junk(start, "bytes outside a frame")
                continue
            self._take_through(e)
