"""The simulated printer, the shared retry path, the config model and the factory."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pydantic import ValidationError

from drivers.labels import LocationTag, PlantTag, get_media, render
from drivers.printer import (
    BrotherPrinter,
    LabelPrinter,
    PrinterConfig,
    PrinterFault,
    SimPrinter,
    ZebraPrinter,
    create_printer,
)

UID = "1A4FF0100000022000000123"


def sim(tmp_path: Path, **overrides: object) -> SimPrinter:
    settings: dict[str, object] = {"out_dir": tmp_path / "out", "retry_delay": 0.01, **overrides}
    printer = create_printer(PrinterConfig.model_validate(settings))
    assert isinstance(printer, SimPrinter)
    return printer


async def test_sim_writes_a_png_that_scans(tmp_path: Path) -> None:
    printer: LabelPrinter = sim(tmp_path, media="29")
    result = await printer.print(PlantTag(uid=UID, strain="Blue Dream"), copies=2)
    assert (result.outcome, result.copies, result.attempts, result.fault) == ("printed", 2, 2, None)
    files = sorted((tmp_path / "out").glob("*.png"))
    assert len(files) == 2 and all(UID in f.name for f in files)
    assert str(files[0]) in result.detail
    with Image.open(files[0]) as image:
        assert image.width == 306
        found = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)}
    assert found == {("Code128", UID)}
    # A 2D twin does not survive a worn head: the job is refused, nothing is printed.
    twin = await printer.print(PlantTag(uid=UID, strain="Blue Dream", symbol="qr"))
    assert (twin.outcome, twin.copies, twin.attempts) == ("failed", 0, 0)
    assert twin.fault is not None and "QR twin does not scan on a worn printer" in str(twin.fault)
    assert len(list((tmp_path / "out").glob("*.png"))) == 2
    assert (await printer.status()).ready
    await printer.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await printer.print(PlantTag(uid=UID, strain="x"))


async def test_fault_is_retried_then_reported(tmp_path: Path) -> None:
    printer = sim(tmp_path, retries=3, name="sim QL")
    printer.set_fault("no media")
    status = await printer.status()
    assert status.faults == (PrinterFault.NO_MEDIA,) and status.message == "printer out of labels"

    result = await printer.print(LocationTag(uid="ROOM-F2", name="Flower 2"))
    assert result.outcome == "failed" and not result.ok
    assert (result.attempts, result.copies) == (4, 0)  # one try plus three retries
    assert result.fault is not None
    assert (result.fault.message, result.fault.device) == ("printer out of labels", "sim QL")
    assert list((tmp_path / "out").glob("*.png")) == []

    printer.set_fault(None)  # a worker loads a roll
    assert (await printer.print(LocationTag(uid="ROOM-F2", name="Flower 2"))).ok


async def test_transient_fault_recovers_within_retries(tmp_path: Path) -> None:
    printer = sim(tmp_path, retries=2)
    printer.set_fault(PrinterFault.COVER_OPEN, times=2)
    result = await printer.print(PlantTag(uid=UID, strain="x"), copies=2)
    assert (result.outcome, result.copies, result.attempts) == ("printed", 2, 4)
    assert len(printer.printed) == 2


async def test_images_must_match_the_roll_exactly(tmp_path: Path) -> None:
    printer = sim(tmp_path, media="62")
    good = render(PlantTag(uid=UID, strain="x"), get_media("62"))
    assert (await printer.print(good)).ok
    result = await printer.print(good.resize((500, 200)))
    assert result.outcome == "failed" and result.attempts == 0
    assert result.fault is not None and result.fault.message == "label does not fit this roll"
    assert "696" in result.fault.detail


async def test_label_too_big_for_roll_is_a_fault_not_an_exception(tmp_path: Path) -> None:
    # A roll set up for room labels only: a 24-character tag does not fit along it.
    printer = sim(tmp_path, media="29x90", labels=("location",))
    result = await printer.print(PlantTag(uid="1A4ABCDEFABCDEFABCDEFABC", strain="x"))
    assert result.fault is not None and result.fault.message == PrinterFault.BAD_LABEL


def test_fault_names_resolve() -> None:
    assert PrinterFault.lookup("no media") is PrinterFault.NO_MEDIA
    assert PrinterFault.lookup("COVER_OPEN") is PrinterFault.COVER_OPEN
    assert PrinterFault.lookup("printer out of labels") is PrinterFault.NO_MEDIA
    with pytest.raises(ValueError, match="unknown printer fault"):
        PrinterFault.lookup("on fire")


def test_factory_picks_the_implementation() -> None:
    assert isinstance(create_printer(PrinterConfig()), SimPrinter)
    brother = PrinterConfig(kind="brother", url="/dev/usb/lp0", model="QL-700", media="62x100")
    assert isinstance(create_printer(brother), BrotherPrinter)
    assert brother.brother_backend() == "linux_kernel"
    assert PrinterConfig(kind="brother", url="usb://0x04f9:0x209b").brother_backend() == "pyusb"
    assert PrinterConfig(kind="brother", url="tcp://10.0.0.5").brother_backend() == "network"
    zebra = PrinterConfig(kind="zebra", url="tcp://10.0.0.6:9100", dpi=203, media="4x6in")
    printer = create_printer(zebra)
    assert isinstance(printer, ZebraPrinter)
    assert (printer.media.width, printer.media.length) == (812, 1218)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "sim", "meda": "62"}, "Extra inputs are not permitted"),
        ({"kind": "laser"}, "kind"),
        ({"kind": "brother"}, "needs url"),
        ({"kind": "brother", "url": "/dev/usb/lp0", "model": "QL-9000"}, "unknown Brother model"),
        ({"kind": "brother", "url": "/dev/usb/lp0", "media": "50.8x25.4"}, "not a Brother roll"),
        ({"kind": "brother", "url": "/dev/usb/lp0", "dpi": 203}, "300 dpi"),
        ({"kind": "brother", "url": "printer.local"}, "cannot tell the connection"),
        ({"kind": "zebra", "url": "/dev/usb/lp1"}, "tcp://"),
        ({"media": "A4"}, "unknown label media"),
        ({"retries": -1}, "greater than or equal"),
    ],
)
def test_config_mistakes_are_clear(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PrinterConfig.model_validate(settings)


def test_config_is_frozen() -> None:
    config = PrinterConfig()
    with pytest.raises(ValidationError):
        config.retries = 5
