"""Every barcode the renderer draws must scan back as the UID, at whole dots per module."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import string

import pytest
import zxingcpp
from brother_ql.labels import LabelsManager
from PIL import Image

from drivers.labels import (
    BROTHER_MEDIA,
    SYMBOLS,
    HarvestBatchTag,
    ImmatureLot,
    Label,
    LabelError,
    LocationTag,
    Media,
    PackageTag,
    PlantTag,
    Symbol,
    WasteHold,
    get_media,
    render,
)
from drivers.labels.testing import QUIET_CODE128, code128_modules

DIGIT_HEAVY = "1A4FF0100000022000000123"  # Metrc: long digit runs -> Code 128 subset C
LETTER_HEAVY = "1A4ABCDEFABCDEFABCDEFABC"  # Metrc shape with no digit runs: 299 modules
BIOTRACK = "6647302918475521"  # BioTrack: 16 digits
UIDS = (DIGIT_HEAVY, LETTER_HEAVY, BIOTRACK)

FORMATS = {
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "qr": zxingcpp.BarcodeFormat.QRCode,
}


def make_label(kind: str, uid: str, symbol: Symbol = "code128") -> Label | WasteHold:
    day = dt.date(2025, 3, 14)
    if kind == "hold":
        return WasteHold(uid=uid, symbol=symbol, until="2025-03-17 14:05", weight="250.0 g",
                         reason="Contamination", since="2025-03-14 14:05")
    if kind == "plant":
        return PlantTag(uid=uid, symbol=symbol, strain="Blue Dream", room="Flower 2", planted=day)
    if kind == "lot":
        return ImmatureLot(uid=uid, symbol=symbol, strain="Gelato #33", count=24, created=day)
    if kind == "location":
        return LocationTag(uid=uid, symbol=symbol, name="Flower Room 2", area="Row C, shelf 3")
    if kind == "harvest":
        return HarvestBatchTag(
            uid=uid,
            symbol=symbol,
            name="2025-03-14 Blue Dream F2",
            strain="Blue Dream",
            harvested=day,
            weight="12.40 kg wet",
        )
    return PackageTag(
        uid=uid,
        symbol=symbol,
        item="Blue Dream Flower",
        quantity="28.00 g",
        packaged=day,
        source="1A4FF0100000022000000007",
    )


KINDS = ("plant", "lot", "location", "harvest", "package", "hold")


def decoded(image: Image.Image) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for result in zxingcpp.read_barcodes(image):
        found.setdefault(result.format.name, []).append(result.text)
    return found


def bar_placement(image: Image.Image, uid: str) -> tuple[str, int]:
    """Find the Code 128 drawn pixel-exact: ("across"|"along", dots per module).

    Looks for a row holding the exact module pattern at X dots per module with
    10X white on both sides; for labels turned along the tape, in the columns.
    """
    modules = code128_modules(uid)
    for orientation, frame in (("across", image), ("along", image.transpose(Image.Transpose.ROTATE_270))):
        rows = frame.convert("L").tobytes()
        width = frame.width
        lines = {
            rows[r * width : (r + 1) * width].translate(bytes([1] * 128 + [0] * 128))
            for r in range(frame.height)
        }
        for x in (4, 3, 2, 5, 6):
            quiet = b"\x00" * (QUIET_CODE128 * x)
            pattern = quiet + b"".join((b"\x01" if m else b"\x00") * x for m in modules) + quiet
            if any(pattern in line for line in lines):
                return orientation, x
    raise AssertionError("no pixel-exact Code 128 with quiet zones found")


@pytest.mark.parametrize("media_name", ["62", "29", "62x100"])
@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_label_scans_back_as_its_uid(kind: str, symbol: Symbol, media_name: str) -> None:
    media = get_media(media_name)
    # LETTER_HEAVY (no issued Metrc tag is this long in Code 128) needs 108 mm: endless only.
    for uid in UIDS if media.endless else (DIGIT_HEAVY, BIOTRACK):
        image = render(make_label(kind, uid, symbol), media, fragile_twin=True)  # twins: drawn right
        assert image.mode == "1"
        assert image.width == media.width
        if media.length is not None:
            assert image.height == media.length
        found = decoded(image)
        expected = {"Code128": [uid]}
        if symbol != "code128":
            expected[FORMATS[symbol].name] = [uid]
        assert found == expected, uid


@pytest.mark.parametrize(
    ("media_name", "uid", "expected"),
    [
        # Always along the tape (a dead head dot then crosses the bars instead of
        # splitting one), always 0.33 mm modules: 4 dots at 300 dpi.
        ("62", DIGIT_HEAVY, ("along", 4)),
        ("62", BIOTRACK, ("along", 4)),
        ("62", LETTER_HEAVY, ("along", 4)),  # 1276 dots: the endless label grows to hold it
        ("29", DIGIT_HEAVY, ("along", 4)),
        ("29", LETTER_HEAVY, ("along", 4)),
        ("62x100", DIGIT_HEAVY, ("along", 4)),  # 924 of 1109 dots
        ("29x90", "ROOM-F2", ("along", 4)),
    ],
)
def test_code128_is_pixel_exact_along_the_tape(
    media_name: str, uid: str, expected: tuple[str, int]
) -> None:
    image = render(make_label("plant", uid), get_media(media_name))
    assert bar_placement(image, uid) == expected


def test_zebra_203_dpi_label_uses_three_dot_modules_and_scans() -> None:
    media = get_media("2.25x4in", dpi=203)
    assert (media.width, media.length) == (456, 812)
    image = render(make_label("plant", DIGIT_HEAVY), media)
    assert image.size == (456, 812)
    assert decoded(image)["Code128"] == [DIGIT_HEAVY]
    assert bar_placement(image, DIGIT_HEAVY) == ("along", 3)  # 0.375 mm: 2 dots blur shut at 203 dpi


def test_random_metrc_uids_scan_back() -> None:
    rng = random.Random(1234)
    media = get_media("62")
    alphabet = string.digits + string.ascii_uppercase
    for _ in range(60):  # the bench runs 1,000; here a quick deterministic sample
        uid = "1A4" + "".join(rng.choice(alphabet) for _ in range(21))
        image = render(PlantTag(uid=uid, strain="x"), media)
        assert decoded(image)["Code128"] == [uid]


def test_brother_media_table_matches_brother_ql() -> None:
    labels = LabelsManager()
    for name, media in BROTHER_MEDIA.items():
        spec = labels[name]
        assert media.brother_label == name
        assert media.width == spec.dots_printable[0]
        assert (media.length or 0) == spec.dots_printable[1]
        assert media.dpi == 300


def test_media_sizes_and_errors() -> None:
    assert get_media("62") is BROTHER_MEDIA["62"]
    assert get_media("62").endless
    assert get_media("2x1in", dpi=203) == Media(name="2x1in", width=406, length=203, dpi=203)
    assert get_media("62", dpi=203).brother_label is None  # a 62 mm Zebra roll, not a Brother one
    with pytest.raises(LabelError, match="unknown label media"):
        get_media("A4")
    with pytest.raises(LabelError, match="too small"):
        get_media("5x5")


@pytest.mark.parametrize("uid", ["", "1A4 ", "Ünïcode", "x" * 49, "tab\tinside"])
def test_bad_uids_are_refused_with_a_clear_error(uid: str) -> None:
    with pytest.raises(LabelError):
        PlantTag(uid=uid, strain="Blue Dream")


@pytest.mark.parametrize(("symbol", "name"), [("datamatrix", "DataMatrix"), ("qr", "QR")])
def test_2d_twins_are_refused_on_every_roll(symbol: Symbol, name: str) -> None:
    """A dead head dot through a 2D twin stops its second decoder (test_labels_wear): never printed."""
    for media in (get_media("62"), get_media("29"), get_media("4x6in", dpi=203)):
        with pytest.raises(LabelError, match=f"a {name} twin does not scan on a worn printer"):
            render(make_label("plant", DIGIT_HEAVY, symbol), media)
    assert render(make_label("plant", DIGIT_HEAVY, "code128"), get_media("62")).width == 696


def test_label_that_cannot_fit_raises_label_error() -> None:
    with pytest.raises(LabelError, match="does not fit"):
        render(make_label("plant", LETTER_HEAVY), get_media("29x42"))
    with pytest.raises(LabelError, match="does not fit"):
        render(make_label("plant", DIGIT_HEAVY, "qr"), get_media("62x29"), fragile_twin=True)
    with pytest.raises(LabelError, match="does not fit"):  # 2 in: too short for the bars along it
        render(make_label("location", "ROOM-F2"), get_media("50.8x25.4", dpi=203))


def test_long_text_is_shortened_not_overflowing() -> None:
    label = PlantTag(uid=DIGIT_HEAVY, strain="An Extremely Long Strain Name " * 4, room="R" * 80)
    image = render(label, get_media("62"))
    assert image.width == 696
    assert decoded(image)["Code128"] == [DIGIT_HEAVY]


def test_labels_are_frozen_data() -> None:
    label = make_label("lot", DIGIT_HEAVY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        label.uid = "other"  # type: ignore[misc]
    assert label == make_label("lot", DIGIT_HEAVY)
    with pytest.raises(LabelError):
        ImmatureLot(uid=DIGIT_HEAVY, strain="x", count=-1, created=dt.date(2025, 1, 1))
    with pytest.raises(LabelError, match="unknown symbol"):
        PlantTag(uid=DIGIT_HEAVY, strain="x", symbol="pdf417")  # type: ignore[arg-type]
