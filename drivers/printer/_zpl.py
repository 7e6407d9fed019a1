"""ZPL for Zebra printers: a label image as a ``^GFA`` graphic, and status replies -> faults.

The label goes as a bitmap, not as native ``^BC``/``^BX`` fields, so a Zebra prints
exactly what the renderer drew for the Brother (and what the tests decode). The
graphic uses ZPL's ASCII compression: repeat counts ``G``-``Y`` (1-19) and
``g``-``z`` (20-400), ``,`` for "rest of row white", ``:`` for "same row again".
Barcodes repeat rows a lot, so a 62 mm label shrinks to a few kilobytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers.printer._types import PrinterFault

if TYPE_CHECKING:  # Pillow loads on the first print, not when the kiosk starts (idle RSS)
    from PIL import Image


_INVERT = bytes(255 - b for b in range(256))


def _count(n: int) -> str:
    """ZPL repeat prefix for ``n`` (1..419) repetitions."""
    out = ""
    if n >= 20:
        out += chr(ord("g") + min(n // 20, 20) - 1)
        n -= min(n // 20, 20) * 20
    if n:
        out += chr(ord("G") + n - 1)
    return out


def _compress_row(hex_row: str) -> str:
    body = hex_row.rstrip("0")
    if not body:
        return ","
    out: list[str] = []
    i = 0
    while i < len(body):
        j = i
        while j < len(body) and body[j] == body[i] and j - i < 419:
            j += 1
        run = j - i
        out.append((_count(run) if run > 1 else "") + body[i])
        i = j
    if len(body) < len(hex_row):
        out.append(",")
    return "".join(out)


def image_to_gfa(image: Image.Image) -> tuple[str, int]:
    """``^GFA`` command for ``image`` (any mode; dark = printed) and its height in dots."""
    from PIL import Image

    mono = image.convert("1", dither=Image.Dither.NONE)
    width = -(-mono.width // 8) * 8
    if width != mono.width:  # pad with white: the padding bits must not print
        padded = Image.new("1", (width, mono.height), 1)
        padded.paste(mono, (0, 0))
        mono = padded
    per_row = width // 8
    data = mono.tobytes().translate(_INVERT)  # PIL: 1 = white; ZPL: 1 = dot
    rows: list[str] = []
    previous: bytes | None = None
    for r in range(mono.height):
        row = data[r * per_row : (r + 1) * per_row]
        rows.append(":" if row == previous else _compress_row(row.hex().upper()))
        previous = row
    total = per_row * mono.height
    return f"^GFA,{total},{total},{per_row},{''.join(rows)}", mono.height


def label_zpl(image: Image.Image, *, width: int, copies: int = 1) -> bytes:
    """A complete ZPL format printing ``image`` at the top-left of a ``width``-dot label."""
    graphic, height = image_to_gfa(image)
    zpl = f"^XA^PW{width}^LL{height}^LH0,0^FO0,0{graphic}^FS^PQ{copies},0,1,Y^XZ\r\n"
    return zpl.encode("ascii")


# ---- status ---------------------------------------------------------------

STATUS_QUERY = b"~HQES\r\n~HS\r\n"

# ~HQES error flags, group 1 (Zebra ZPL guide, ~HQES / ~WQ "Error Flags").
_HQES_ERRORS: tuple[tuple[int, PrinterFault], ...] = (
    (0x00000001, PrinterFault.NO_MEDIA),
    (0x00000002, PrinterFault.RIBBON_OUT),
    (0x00000004, PrinterFault.COVER_OPEN),  # head open
    (0x00000008, PrinterFault.CUTTER_JAM),
    (0x00000010, PrinterFault.OVERHEATED),  # printhead over temperature
    (0x00000020, PrinterFault.OVERHEATED),  # motor over temperature
    (0x00000040, PrinterFault.HARDWARE),  # bad printhead element
    (0x00000080, PrinterFault.HARDWARE),  # printhead detection error
    (0x00000100, PrinterFault.HARDWARE),  # invalid firmware configuration
    (0x00000200, PrinterFault.HARDWARE),  # printhead thermistor open
    (0x00001000, PrinterFault.FEED_ERROR),  # paper jam during retract
    (0x00002000, PrinterFault.FEED_ERROR),  # presenter not running
    (0x00004000, PrinterFault.FEED_ERROR),  # paper feed error
    (0x00008000, PrinterFault.FEED_ERROR),  # clear paper path failed
)
_HQES_WARNINGS: tuple[tuple[int, str], ...] = (
    (0x00000001, "media needs calibrating"),
    (0x00000002, "printhead needs cleaning"),
    (0x00000004, "printhead needs replacing"),
    (0x00000008, "labels running low"),
)
_FLAGS = re.compile(r"(ERRORS|WARNINGS):\s*([01])\s+([0-9A-Fa-f]{8})\s+([0-9A-Fa-f]{8})")


@dataclass(frozen=True, slots=True)
class ZebraStatus:
    faults: tuple[PrinterFault, ...]
    warnings: tuple[str, ...]
    answered: bool  # False: no recognisable reply at all


def split_replies(data: bytes) -> list[str]:
    """The ``<STX>...<ETX>`` blocks in ``data`` (complete ones only)."""
    return [m.decode("ascii", "replace") for m in re.findall(rb"\x02([^\x02\x03]*)\x03", data)]


def parse_status(blocks: list[str]) -> ZebraStatus:
    """Faults from a ``~HQES`` block and/or the three ``~HS`` strings, in any order."""
    faults: list[PrinterFault] = []
    warnings: list[str] = []
    answered = False

    def add(fault: PrinterFault) -> None:
        if fault not in faults:
            faults.append(fault)

    hs = [b.strip() for b in blocks if "," in b and "STATUS" not in b]
    for block in blocks:
        for kind, flag, _group2, group1 in _FLAGS.findall(block):
            answered = True
            bits = int(group1, 16)
            if kind == "ERRORS" and flag == "1":
                known = [f for mask, f in _HQES_ERRORS if bits & mask]
                for fault in known or [PrinterFault.UNKNOWN]:
                    add(fault)
            elif kind == "WARNINGS" and flag == "1":
                warnings.extend(text for mask, text in _HQES_WARNINGS if bits & mask)
    if len(hs) >= 2:
        answered = True
        first, second = hs[0].split(","), hs[1].split(",")
        # String 1: aaa,b(paper out),c(pause),dddd,eee,f(buffer full),g,h,iii,j,k,l(too hot)
        if _flag(first, 1):
            add(PrinterFault.NO_MEDIA)
        if _flag(first, 2):
            add(PrinterFault.PAUSED)
        if _flag(first, 5):
            add(PrinterFault.BUSY)
        if _flag(first, 11):
            add(PrinterFault.OVERHEATED)
        # String 2: mmm,n,o(head up),p(ribbon out),...
        if _flag(second, 2):
            add(PrinterFault.COVER_OPEN)
        if _flag(second, 3):
            add(PrinterFault.RIBBON_OUT)
    return ZebraStatus(tuple(faults), tuple(warnings), answered)


def _flag(fields: list[str], index: int) -> bool:
    return len(fields) > index and fields[index].strip() == "1"
