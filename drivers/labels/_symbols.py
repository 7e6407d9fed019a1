"""Barcode symbols as module grids from zxing-cpp, drawn at whole dots per module.

zxing-cpp chooses the encoding (optimal Code 128 subset switching, square
DataMatrix, QR version); we only take its module grid at scale 1 and expand every
module to exactly ``module`` x ``module`` dots ourselves. No barcode image is ever
resized, so bar widths stay exact multiples of the dot pitch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import zxingcpp
from PIL import Image

from drivers.labels._errors import LabelError
from drivers.labels._geometry import QUIET_CODE128

__all__ = ["QUIET_2D", "QUIET_CODE128", "code128_modules", "draw_bars", "draw_matrix", "matrix_2d"]

Matrix = tuple[bytes, ...]  # rows of modules; 1 = dark, 0 = light

# Quiet zones in modules on each side (Code 128: see _geometry; DataMatrix:
# 1 module minimum, 2 for thermal dot gain; QR: 4 modules).
QUIET_2D: dict[str, int] = {"datamatrix": 2, "qr": 4}

_FORMATS = {
    "code128": zxingcpp.BarcodeFormat.Code128,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "qr": zxingcpp.BarcodeFormat.QRCode,
}


@lru_cache(maxsize=512)
def _grid(data: str, kind: str) -> Matrix:
    options: dict[str, object] = {}
    if kind == "datamatrix":
        options["force_square"] = True  # 18x18 for a Metrc UID: fits narrow tape better
    elif kind == "qr":
        options["ec_level"] = "M"
    try:
        barcode = zxingcpp.create_barcode(data, _FORMATS[kind], **options)
        image = barcode.to_image(scale=1, add_quiet_zones=False)
    except (ValueError, RuntimeError) as exc:
        raise LabelError(f"cannot encode {data!r} as {kind}: {exc}") from exc
    height, width = image.shape[0], image.shape[1]
    pixels = bytes(memoryview(image))  # type: ignore[arg-type]  # zxing Image has the buffer protocol
    if kind == "code128":
        height = 1  # zxing draws identical rows; one is the whole symbol
    return tuple(
        bytes(1 if v < 128 else 0 for v in pixels[r * width : (r + 1) * width]) for r in range(height)
    )


def code128_modules(data: str) -> bytes:
    """The Code 128 symbol (start to stop, no quiet zone) as one byte per module."""
    return _grid(data, "code128")[0]


def matrix_2d(data: str, kind: Literal["datamatrix", "qr"]) -> Matrix:
    """A DataMatrix or QR symbol (no quiet zone) as rows of modules."""
    return _grid(data, kind)


def _expand(row: bytes, module: int) -> bytes:
    # 0 = black, 255 = white in mode "L"; each module becomes `module` equal dots.
    return b"".join((b"\x00" if m else b"\xff") * module for m in row)


def draw_bars(modules: bytes, module: int, height: int) -> Image.Image:
    """A 1D symbol ``len(modules) * module`` dots wide, ``height`` dots tall, mode "1"."""
    line = _expand(modules, module)
    grey = Image.frombytes("L", (len(line), height), line * height)
    return grey.convert("1", dither=Image.Dither.NONE)


def draw_matrix(matrix: Matrix, module: int) -> Image.Image:
    """A 2D symbol with square ``module`` x ``module`` dot cells, mode "1"."""
    rows = b"".join(_expand(row, module) * module for row in matrix)
    size = (len(matrix[0]) * module, len(matrix) * module)
    return Image.frombytes("L", size, rows).convert("1", dither=Image.Dither.NONE)
