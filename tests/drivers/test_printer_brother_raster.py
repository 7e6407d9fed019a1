"""Raster bytes from brother_ql's convert(), parsed back by its own reader, still scan."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from brother_ql.reader import BrotherQLReader, chunker
from PIL import Image, ImageChops

from drivers.labels import PlantTag, Symbol, get_media, render
from drivers.printer import brother_raster

UID = "1A4FF0100000022000000123"
LETTERS = "1A4ABCDEFABCDEFABCDEFABC"


def read_back(data: bytes, tmp_path: Path) -> list[Image.Image]:
    reader = BrotherQLReader(io.BytesIO(data))
    reader.filename_fmt = str(tmp_path / "page{counter:04d}.png")
    reader.analyse()
    pages = []
    for path in sorted(tmp_path.glob("page*.png")):
        with Image.open(path) as page:
            pages.append(page.copy())
    return pages


def contains(page: Image.Image, label: Image.Image) -> bool:
    """True if ``label`` sits in ``page`` dot for dot at some offset across the head."""
    if page.height != label.height:
        return False
    page_l, label_l = page.convert("L"), label.convert("L")
    for x in range(page.width - label.width + 1):
        crop = page_l.crop((x, 0, x + label.width, label.height))
        if ImageChops.difference(crop, label_l).getbbox() is None:
            return True
    return False


@pytest.mark.parametrize(
    ("model", "media_name", "uid", "symbol", "compress"),
    [
        ("QL-820NWB", "62", UID, "datamatrix", False),  # 400 invalidate bytes
        ("QL-820NWB", "62", LETTERS, "datamatrix", True),  # packbits-compressed rows
        ("QL-700", "62", LETTERS, "code128", True),  # no compression on this model: ignored
        ("QL-820NWB", "29", UID, "qr", False),  # endless, label along the tape
        ("QL-570", "29x90", UID, "datamatrix", False),  # die-cut; the letter-heavy tag is too long for it
        ("QL-1100", "62", UID, "code128", True),  # wide head: 162 bytes per row, extra offset
    ],
)
def test_raster_round_trip_scans_and_is_dot_for_dot(
    tmp_path: Path, model: str, media_name: str, uid: str, symbol: Symbol, compress: bool
) -> None:
    media = get_media(media_name)
    # 2D twins are refused on labels (a worn head); drawn here for the raster path alone.
    label = render(PlantTag(uid=uid, strain="Blue Dream", room="F2", symbol=symbol), media, fragile_twin=True)
    data = brother_raster(label, model=model, label=media_name, compress=compress)
    modes = [ins for ins in chunker(data, raise_exception=True) if ins.startswith(b"M")]
    assert modes == ([b"M\x02"] if compress and model != "QL-700" else [])
    assert data.endswith(b"\x1a")

    [page] = read_back(data, tmp_path)
    assert page.width == (1296 if model == "QL-1100" else 720)  # the whole print head
    assert contains(page, label)  # nothing was scaled or dithered on the way
    found = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(page)}
    expected = {("Code128", uid)}
    if symbol == "datamatrix":
        expected.add(("DataMatrix", uid))
    if symbol == "qr":
        expected.add(("QRCode", uid))
    assert found == expected
