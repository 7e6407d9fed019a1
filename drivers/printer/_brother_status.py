"""Brother QL 32-byte status frames -> ``PrinterFault``s. The one place for that mapping.

Frame layout (Brother "Raster Command Reference", as brother_ql's reader tables
name it): bytes 0-2 ``80 20 42``; 8 error information 1; 9 error information 2;
10 media width (mm); 11 media type; 17 media length (mm); 18 status type;
19 phase; 22 notification. We decode the bits ourselves instead of matching
brother_ql's English strings, and anything that is not a frame becomes
"unknown printer state" instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.printer._types import PrinterFault

FRAME_SIZE = 32
HEADER = b"\x80\x20\x42"

# Status types (byte 18)
STATUS_REPLY = 0x00
STATUS_PRINTED = 0x01
STATUS_ERROR = 0x02
STATUS_NOTIFICATION = 0x05
STATUS_PHASE = 0x06
# Phases (byte 19)
PHASE_WAITING = 0x00
PHASE_PRINTING = 0x01
# Notifications (byte 22)
NOTE_COOLING_STARTED = 0x03
NOTE_COOLING_FINISHED = 0x04
# Media types (byte 11)
MEDIA_NONE = 0x00
MEDIA_ENDLESS = 0x0A
MEDIA_DIE_CUT = 0x0B

# (byte, bit) -> fault. Bits not listed are "not used" in Brother's table.
_ERROR_BITS: dict[tuple[int, int], PrinterFault] = {
    (8, 0): PrinterFault.NO_MEDIA,
    (8, 1): PrinterFault.END_OF_MEDIA,
    (8, 2): PrinterFault.CUTTER_JAM,
    (8, 4): PrinterFault.BUSY,  # main unit in use (QL-560/650TD/1050)
    (8, 5): PrinterFault.SWITCHED_OFF,
    (8, 7): PrinterFault.HARDWARE,  # fan (QL-1050/1060N)
    (9, 0): PrinterFault.WRONG_MEDIA,  # "replace media": the roll does not suit the job
    (9, 1): PrinterFault.COMMUNICATION,  # expansion buffer full
    (9, 2): PrinterFault.COMMUNICATION,  # transmission error
    (9, 3): PrinterFault.COMMUNICATION,  # communication buffer full
    (9, 4): PrinterFault.COVER_OPEN,
    (9, 6): PrinterFault.FEED_ERROR,  # media cannot be fed (also at the end of a roll)
    (9, 7): PrinterFault.HARDWARE,  # system error
}


@dataclass(frozen=True, slots=True)
class StatusFrame:
    error1: int
    error2: int
    media_width: int
    media_type: int
    media_length: int
    status_type: int
    phase: int
    notification: int

    @classmethod
    def parse(cls, data: bytes) -> StatusFrame:
        if len(data) != FRAME_SIZE or not data.startswith(HEADER):
            raise ValueError(f"not a Brother status frame: {data.hex(' ')}")
        return cls(
            error1=data[8],
            error2=data[9],
            media_width=data[10],
            media_type=data[11],
            media_length=data[17],
            status_type=data[18],
            phase=data[19],
            notification=data[22],
        )

    def faults(self) -> tuple[PrinterFault, ...]:
        found: list[PrinterFault] = []
        for (byte, bit), fault in _ERROR_BITS.items():
            value = self.error1 if byte == 8 else self.error2
            if value & (1 << bit) and fault not in found:
                found.append(fault)
        if self.cooling and PrinterFault.OVERHEATED not in found:
            found.append(PrinterFault.OVERHEATED)
        if self.status_type == STATUS_ERROR and not found:
            found.append(PrinterFault.UNKNOWN)  # an error report without a known error bit
        return tuple(found)

    @property
    def cooling(self) -> bool:
        return self.status_type == STATUS_NOTIFICATION and self.notification == NOTE_COOLING_STARTED

    @property
    def printed(self) -> bool:
        return self.status_type == STATUS_PRINTED

    @property
    def waiting(self) -> bool:
        return self.status_type == STATUS_PHASE and self.phase == PHASE_WAITING

    def media_name(self) -> str | None:
        """The loaded roll in brother_ql's naming ("62", "29x90"), None if none/unknown."""
        if self.media_type == MEDIA_ENDLESS and self.media_width:
            return str(self.media_width)
        if self.media_type == MEDIA_DIE_CUT and self.media_width:
            return f"{self.media_width}x{self.media_length}"
        return None


def media_mismatch(frame: StatusFrame, tape_mm: tuple[int, int]) -> str | None:
    """Why the loaded roll cannot take a job for ``tape_mm`` (width, length; 0 = endless)."""
    width, length = tape_mm
    if frame.media_type == MEDIA_NONE or not frame.media_width:
        return None  # no media is reported as its own fault
    loaded_endless = frame.media_type == MEDIA_ENDLESS
    if frame.media_width != width or loaded_endless != (length == 0):
        wanted = f"{width} mm endless" if length == 0 else f"{width}x{length} mm die-cut"
        return f"loaded {frame.media_name() or 'unknown roll'}, job needs {wanted}"
    if not loaded_endless and frame.media_length != length:
        return f"loaded {frame.media_name()}, job needs {width}x{length} mm die-cut"
    return None


class FrameBuffer:
    """Collects bytes from the printer and cuts them into 32-byte frames.

    USB reads can split or join frames; bytes before a header are dropped and
    remembered, so a printer answering nonsense shows up as "unknown printer
    state" rather than as an exception.
    """

    def __init__(self) -> None:
        self._buf = b""
        self.garbage = b""

    def feed(self, data: bytes) -> list[StatusFrame]:
        self._buf += data
        frames: list[StatusFrame] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                # Keep a possible partial header at the end; the rest is noise.
                keep = next(
                    (n for n in (2, 1) if self._buf.endswith(HEADER[:n])),
                    0,
                )
                cut = len(self._buf) - keep
                self.garbage += self._buf[:cut]
                self._buf = self._buf[cut:]
                return frames
            self.garbage += self._buf[:start]
            self._buf = self._buf[start:]
            if len(self._buf) < FRAME_SIZE:
                return frames
            frames.append(StatusFrame.parse(self._buf[:FRAME_SIZE]))
            self._buf = self._buf[FRAME_SIZE:]
