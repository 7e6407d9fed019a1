"""Labels still scan on a worn printer, with zxing-cpp and with a second decoder (zbar, libdmtx);
rolls too small for that are refused when the printer is configured.

The wear (3 dead head dots, one dot of gain, read at 203 dpi, 2 degrees) is
``drivers.labels.testing``; bench/labels.py runs the full sweep with many
samples per wear and reports the rates. Here: every kind on every supported
roll, a few seeded samples that go through every wear and every symbology.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from pydantic import ValidationError

from drivers.labels import (
    BROTHER_MEDIA,
    LABEL_KINDS,
    WORST_METRC_TAG,
    ZEBRA_ROLLS,
    LabelError,
    Media,
    Symbol,
    check_roll,
    get_media,
    render,
    sample_label,
)
from drivers.labels.testing import (
    WEAR,
    WEARS,
    WORST_LOCATION,
    WORST_LOCATION_MODULES,
    WORST_METRC_MODULES,
    apply_wear,
    code128_modules,
    decode_results,
    twin_columns,
    with_dead_dots,
)
from drivers.printer import PrinterConfig

ALL_ROLLS = [*BROTHER_MEDIA.values()] + [get_media(n, dpi=d) for d in (203, 300) for n in ZEBRA_ROLLS]


def fits(media: Media) -> bool:
    try:
        check_roll(media)
    except LabelError:
        return False
    return True


SUPPORTED = [m for m in ALL_ROLLS if fits(m)]
UIDS = (WORST_METRC_TAG, "1A4FF0100000022000000123", "6647302918475521")


def roll_id(media: Media) -> str:
    return f"{media.name}@{media.dpi}"


def test_sample_tags_have_the_module_counts_the_config_check_assumes() -> None:
    assert len(code128_modules(WORST_METRC_TAG)) == WORST_METRC_MODULES
    assert len(code128_modules(WORST_LOCATION)) == WORST_LOCATION_MODULES
    # No issued Metrc shape (1A4 + 6 hex + 15 digits) makes a longer Code 128.
    rng = random.Random(3)
    for _ in range(200):
        uid = "1A4" + "".join(rng.choice("0123456789ABCDEF") for _ in range(6)) + str(
            rng.randrange(10**15)).rjust(15, "0")  # fmt: skip
        assert len(code128_modules(uid)) <= WORST_METRC_MODULES


@pytest.mark.parametrize("media", ALL_ROLLS, ids=roll_id)
def test_config_check_agrees_with_the_renderer(media: Media) -> None:
    """The Pillow-free size check accepts a kind exactly when its worst label renders."""
    for kind in LABEL_KINDS:
        try:
            render(sample_label(kind), media)
            renders = True
        except LabelError:
            renders = False
        try:
            check_roll(media, (kind,))
            accepted = True
        except LabelError:
            accepted = False
        assert accepted is renders, kind


@pytest.mark.parametrize(
    ("config", "refused", "instead"),
    [
        ({"kind": "brother", "model": "QL-820NWB", "media": "29x42"}, "plant, lot, location", '"29"'),
        ({"kind": "brother", "model": "QL-700", "media": "62x29"}, "hold labels", '"29"'),
        ({"kind": "brother", "model": "QL-820NWB", "media": "29x90"}, "lot, harvest, package, hold", '"29"'),
        ({"kind": "zebra", "dpi": 203, "media": "2x1in"}, "plant, lot, location", '"2in"'),
        ({"kind": "zebra", "dpi": 203, "media": "2.25x1.25in"}, "package, hold labels", '"2in"'),
        ({"kind": "zebra", "dpi": 203, "media": "4x2in"}, "plant", '"2in"'),
        ({"kind": "sim", "dpi": 300, "media": "50.8x25.4"}, "plant", '"2in"'),
    ],
)
def test_rolls_too_small_for_a_worn_printer_are_refused_with_the_roll_to_use(
    config: dict[str, object], refused: str, instead: str
) -> None:
    url = {"brother": "/dev/usb/lp0", "zebra": "tcp://192.0.2.7:9100"}.get(str(config["kind"]))
    with pytest.raises(ValidationError) as info:
        PrinterConfig(url=url, **config)  # type: ignore[arg-type]
    message = str(info.value)
    assert "too small for labels that still scan on a worn printer" in message
    assert refused in message
    assert f"need media = {instead}" in message


def test_a_roll_is_accepted_for_the_kinds_it_can_carry() -> None:
    # 29x90 die-cut holds a room code along the tape, not a 24-character Metrc tag.
    config = PrinterConfig(kind="brother", url="/dev/usb/lp0", model="QL-700", media="29x90",
                           labels=("location",))  # fmt: skip
    assert config.labels == ("location",)
    assert PrinterConfig(kind="zebra", url="tcp://192.0.2.7:9100", dpi=203, media="4x6in").media == "4x6in"
    with pytest.raises(ValidationError, match="labels"):
        PrinterConfig(labels=("shipping",))  # type: ignore[arg-type]


def test_the_model_check_comes_first_and_lists_the_models_rolls() -> None:
    with pytest.raises(ValidationError, match="rolls the QL-1100 can print: 29, 38"):
        PrinterConfig(kind="brother", url="/dev/usb/lp0", model="QL-1100", media="62x29")


def test_supported_rolls_cover_both_printer_families_and_resolutions() -> None:
    names = {roll_id(m) for m in SUPPORTED}
    assert {"29@300", "62@300", "62x100@300", "2in@203", "4x6in@203", "2.25x4in@300"} <= names
    assert not {"29x42@300", "62x29@300", "2x1in@203", "2.25x1.25in@203"} & names


@pytest.mark.parametrize("media", SUPPORTED, ids=roll_id)
def test_every_kind_reads_on_a_worn_printer_with_both_decoders(media: Media) -> None:
    rng = random.Random(f"{media.name}@{media.dpi}")
    for i, kind in enumerate(LABEL_KINDS):
        uid = "ROOM-FLOWR02" if kind == "location" else UIDS[i % len(UIDS)]
        label = render(sample_label(kind, uid), media)  # as printed: the Code 128 alone
        wear = WEAR["combined"] if i % 2 == 0 else WEARS[1 + (i // 2 + len(SUPPORTED)) % (len(WEARS) - 1)]
        worn = apply_wear(label, wear, rng, dpi=media.dpi)
        reads = {decoder: ok for _, decoder, ok in decode_results(worn, uid, "code128")}
        assert reads == {"zxing": True, "zbar": True}, (kind, wear.name)


@pytest.mark.parametrize(("symbol", "decoder"), [("qr", "zbar"), ("datamatrix", "libdmtx")])
def test_one_dead_dot_through_a_2d_twin_stops_its_second_decoder(symbol: Symbol, decoder: str) -> None:
    """Why labels carry no 2D twin (``render`` refuses one): one dead dot through the
    core of a QR finder, or through most of a DataMatrix, and the twin's second
    decoder reads nothing; the Code 128 on the same label still reads."""
    media, uid = get_media("62"), WORST_METRC_TAG
    label = render(dataclasses.replace(sample_label("plant", uid), symbol=symbol), media, fragile_twin=True)
    clean = label.convert("L")
    assert dict(((s, d), ok) for s, d, ok in decode_results(clean, uid, symbol))[(symbol, decoder)]
    columns = twin_columns(clean, symbol)
    # QR (21 modules): 3.5 modules in, the centre of a finder's core. DataMatrix
    # (18 modules): 12.5 modules in, where libdmtx loses it on this label.
    x = columns.start + (len(columns) * 7 // 42 if symbol == "qr" else len(columns) * 25 // 36)
    worn = dict(((s, d), ok) for s, d, ok in decode_results(with_dead_dots(clean, [x]), uid, symbol))
    assert worn[(symbol, decoder)] is False
    assert worn[("code128", "zbar")] and worn[("code128", "zxing")]
