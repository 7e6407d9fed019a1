"""A worn printer on paper, and two independent decoders to read what it printed.

Used by the label tests and by ``bench/labels.py``. The wear is what a floor
printer after a year of use does to a label, applied in the order it happens:

1. ``dead_dots``: burnt-out heating elements leave white lines along the feed at
   fixed positions across the head (image columns, since rendered images are in
   head orientation).
2. ``blur``: dot gain, one printer dot all round (a 3x3 box at print resolution).
3. ``resample``: the label read at 203 dpi when it was printed at 300 dpi (a
   low-resolution imager). Canopy never lets a printer rescale a label (Brother
   raster and ZPL ``^GF`` are dot for dot), so this is the reader's sampling,
   grey levels and all.
4. ``rotate``: the label held at an angle to the scanner.

Decoders: zxing-cpp (what canopy itself uses) and a second, unrelated
implementation per symbology: zbar for Code 128 and QR, libdmtx for DataMatrix.
Both second decoders are test-only (``pip install .[dev]`` plus Debian
``libzbar0`` and ``libdmtx0b``/``libdmtx0t64``; ``scripts/bootstrap --test``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import zxingcpp
from PIL import Image, ImageFilter

# Re-exported for the tests: the worst-case sizes a roll must fit, and the Code 128 measure.
from drivers.labels._fit import WORST_LOCATION as WORST_LOCATION
from drivers.labels._fit import WORST_LOCATION_MODULES as WORST_LOCATION_MODULES
from drivers.labels._fit import WORST_METRC_MODULES as WORST_METRC_MODULES
from drivers.labels._kinds import SYMBOLS, Symbol
from drivers.labels._symbols import QUIET_2D as QUIET_2D
from drivers.labels._symbols import QUIET_CODE128 as QUIET_CODE128
from drivers.labels._symbols import code128_modules as code128_modules
from drivers.labels._symbols import draw_matrix, matrix_2d

DEAD_DOTS = 3
RESAMPLE_DPI = (300, 203)
BLUR_PX = 1
ROTATE_DEG = 2.0


@dataclass(frozen=True, slots=True)
class Wear:
    """One combination of wear effects; ``name`` is how tests and the bench report it."""

    name: str
    dead_dots: int = 0
    resample: bool = False
    blur: bool = False
    rotate: bool = False


WEARS: tuple[Wear, ...] = (
    Wear("clean"),
    Wear("dead_dots", dead_dots=DEAD_DOTS),
    Wear("resample_203", resample=True),
    Wear("blur", blur=True),
    Wear("rotate", rotate=True),
    Wear("dead_dots+blur", dead_dots=DEAD_DOTS, blur=True),
    Wear("dead_dots+rotate", dead_dots=DEAD_DOTS, rotate=True),
    Wear("combined", dead_dots=DEAD_DOTS, resample=True, blur=True, rotate=True),
)
WEAR = {w.name: w for w in WEARS}


def apply_wear(image: Image.Image, wear: Wear, rng: random.Random, *, dpi: int) -> Image.Image:
    """``image`` (a rendered label, head orientation, ``dpi``) as a worn printer prints it
    and a scanner sees it.

    Resampling applies to labels drawn at 300 dpi only (a 203 dpi label is
    already at 203 dpi). Returns a mode "L" image.
    """
    out = image.convert("L")
    if wear.dead_dots:
        out = with_dead_dots(out, rng.sample(range(out.width), min(wear.dead_dots, out.width)))
    if wear.blur:
        out = out.filter(ImageFilter.BoxBlur(BLUR_PX))
    if wear.resample and dpi == RESAMPLE_DPI[0]:
        # Area sampling (BOX) on a grid at a random sub-dot phase: where the
        # reader's pixels fall on the printed dots is chance.
        scale = RESAMPLE_DPI[1] / RESAMPLE_DPI[0]
        dx, dy = rng.uniform(0, 1 / scale), rng.uniform(0, 1 / scale)
        w, h = out.width - 2, out.height - 2
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        out = out.resize(size, Image.Resampling.BOX, box=(dx, dy, dx + w, dy + h))
    if wear.rotate:
        # Either way round; bilinear, as a camera sees it; white beyond the label.
        angle = ROTATE_DEG if rng.random() < 0.5 else -ROTATE_DEG
        out = out.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    # A white margin: the label lies on a table, not at the edge of the camera frame.
    framed = Image.new("L", (out.width + 40, out.height + 40), 255)
    framed.paste(out, (20, 20))
    return framed


def with_dead_dots(image: Image.Image, columns: Iterable[int]) -> Image.Image:
    """``image`` (mode "L", head orientation) printed by a head whose dots at ``columns``
    are dead: a white line along the whole feed at each."""
    out = image.convert("L")
    white = Image.new("L", (1, out.height), 255)
    for x in columns:
        out.paste(white, (x, 0))
    return out


def twin_columns(image: Image.Image, symbol: Symbol) -> range:
    """The head dots (image columns) the 2D twin on a clean label covers, as zxing finds it."""
    corners = _locate(image, symbol)
    if corners is None:
        raise AssertionError(f"no {symbol} on the label")
    xs = [x for x, _ in corners]
    return range(min(xs), max(xs) + 1)


def _locate(image: Image.Image, symbol: Symbol) -> list[tuple[int, int]] | None:
    """The corners of the first ``symbol`` zxing finds in ``image``."""
    fmt = getattr(zxingcpp.BarcodeFormat, "DataMatrix" if symbol == "datamatrix" else "QRCode")
    for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats([fmt])):
        p = found.position
        return [(c.x, c.y) for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
    return None


def bare_symbol(
    uid: str, symbol: Literal["datamatrix", "qr"], module: int, *, turned: bool = False
) -> Image.Image:
    """A 2D symbol alone with its quiet zone, ``module`` dots a cell, upright or turned 90°, mode "L"."""
    sym = draw_matrix(matrix_2d(uid, symbol), module)
    if turned:
        sym = sym.transpose(Image.Transpose.ROTATE_90)
    quiet = QUIET_2D[symbol] * module
    out = Image.new("L", (sym.width + 2 * quiet, sym.height + 2 * quiet), 255)
    out.paste(sym.convert("L"), (quiet, quiet))
    return out


_ZXING_NAMES: dict[str, Symbol] = {"Code128": "code128", "DataMatrix": "datamatrix", "QRCode": "qr"}
_ZXING_FORMATS = zxingcpp.BarcodeFormats([getattr(zxingcpp.BarcodeFormat, name) for name in _ZXING_NAMES])


def read_zxing(image: Image.Image) -> dict[Symbol, list[str]]:
    """Every symbol zxing-cpp finds, by symbology."""
    found: dict[Symbol, list[str]] = {}
    for result in zxingcpp.read_barcodes(image, formats=_ZXING_FORMATS):
        kind = _ZXING_NAMES.get(result.format.name)
        if kind is not None:
            found.setdefault(kind, []).append(result.text)
    return found


def _read_zbar(image: Image.Image, symbol: Symbol) -> list[str]:
    from pyzbar import pyzbar

    kind = {"code128": pyzbar.ZBarSymbol.CODE128, "qr": pyzbar.ZBarSymbol.QRCODE}[symbol]
    return [r.data.decode("latin-1") for r in pyzbar.decode(image, symbols=[kind])]


def _aim(image: Image.Image, symbol: Symbol) -> Image.Image:
    """The part of ``image`` a scanner aimed at the 2D symbol sees.

    libdmtx searches a whole label for seconds (every bar edge of the Code 128 is
    a candidate), so like a handheld imager it is pointed at the symbol: the
    square zxing located, with a margin of half its size. Only the location is
    shared; libdmtx decodes the pixels on its own. Where zxing found nothing,
    libdmtx gets the whole label.
    """
    corners = _locate(image, symbol)
    if corners is None:
        return image
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    pad = max(max(xs) - min(xs), max(ys) - min(ys)) // 2
    box = (max(0, min(xs) - pad), max(0, min(ys) - pad),
           min(image.width, max(xs) + pad), min(image.height, max(ys) + pad))  # fmt: skip
    return image.crop(box)


def _read_dmtx(image: Image.Image, symbol: Symbol) -> list[str]:
    from pylibdmtx import pylibdmtx

    # One symbol per label; the timeout only bounds a search that finds nothing.
    found = pylibdmtx.decode(_aim(image, symbol), max_count=1, timeout=5000)
    return [r.data.decode("latin-1") for r in found]


SECOND_DECODER: dict[Symbol, tuple[str, Callable[[Image.Image, Symbol], list[str]]]] = {
    "code128": ("zbar", _read_zbar),
    "qr": ("zbar", _read_zbar),
    "datamatrix": ("libdmtx", _read_dmtx),
}


def symbols_on(symbol: Symbol) -> tuple[Symbol, ...]:
    """The symbols a label with ``symbol`` carries: always Code 128, plus its 2D twin."""
    return ("code128",) if symbol == "code128" else ("code128", symbol)


def decode_results(
    image: Image.Image, uid: str, symbol: Symbol, *, second: tuple[Symbol, ...] = SYMBOLS
) -> Iterator[tuple[Symbol, str, bool]]:
    """For every symbol on the label and both its decoders: (symbol, decoder, read as ``uid``).

    The second decoder runs only for the symbologies in ``second`` (libdmtx takes
    ~0.1-1 s an image). A read counts only when the decoder returns exactly
    ``uid`` and nothing else for that symbology: a misread is worse than no read.
    """
    zx = read_zxing(image)
    for sym in symbols_on(symbol):
        yield sym, "zxing", zx.get(sym) == [uid]
        if sym not in second:
            continue
        name, read = SECOND_DECODER[sym]
        texts = read(image, sym)
        yield sym, name, bool(texts) and set(texts) == {uid}
