"""Networked printers against real sockets on 127.0.0.1: a Brother on 9100 and a Zebra."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import zxingcpp
from PIL import Image

from drivers.labels import PlantTag, get_media, render
from drivers.printer import (
    PrinterConfig,
    PrinterFault,
    ZebraPrinter,
    brother_raster,
    create_printer,
    label_zpl,
)

UID = "1A4FF0100000022000000123"
STX, ETX = "\x02", "\x03"


@dataclass
class Listener:
    """A TCP server on a random loopback port; ``handler`` plays the printer."""

    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]
    received: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"tcp://127.0.0.1:{port}"

    async def start(self) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await self.handler(reader, writer)  # type: ignore[misc]
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def listener() -> AsyncIterator[Callable[..., Listener]]:
    started: list[Listener] = []

    def make(handler: Callable[..., object]) -> Listener:
        item = Listener(handler)
        started.append(item)
        return item

    yield make
    for item in started:
        if item.server is not None and item.server.is_serving():
            await item.stop()


# ---- Brother QL over port 9100 ---------------------------------------------


@pytest.mark.timeout(30)
async def test_network_brother_receives_exactly_the_raster(
    listener: Callable[..., Listener],
) -> None:
    done = asyncio.Event()
    fake = listener(None)

    async def brother(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fake.received.append(await reader.read())  # until the driver closes
        done.set()

    fake.handler = brother
    await fake.start()
    printer = create_printer(PrinterConfig(kind="brother", media="62", url=fake.url))
    label = PlantTag(uid=UID, strain="Blue Dream")
    result = await printer.print(label)
    await asyncio.wait_for(done.wait(), 5)

    assert (result.outcome, result.copies, result.fault) == ("sent", 1, None)
    assert "cannot confirm" in result.detail
    expected = brother_raster(render(label, get_media("62")), model="QL-820NWB", label="62")
    assert fake.received == [expected]

    status = await printer.status()
    assert not status.confirmed and not status.ready and status.faults == ()


@pytest.mark.timeout(30)
async def test_network_brother_down_is_retried_then_reported(
    listener: Callable[..., Listener],
) -> None:
    fake = listener(lambda r, w: asyncio.sleep(0))
    await fake.start()
    url = fake.url
    await fake.stop()  # nothing listens on that port any more: connection refused
    config = PrinterConfig(kind="brother", url=url, retries=2, retry_delay=0.01, name="QL front")
    printer = create_printer(config)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "failed" and result.attempts == 3 and result.copies == 0
    assert result.fault is not None
    assert result.fault.message == "printer not connected" and result.fault.device == "QL front"
    status = await printer.status()
    assert status.faults == (PrinterFault.NOT_CONNECTED,)


# ---- Zebra ZPL --------------------------------------------------------------

HQES_OK = f"{STX}\r\n  PRINTER STATUS\r\n   ERRORS:         0 00000000 00000000\r\n   WARNINGS:       0 00000000 00000000\r\n{ETX}\r\n"  # noqa: E501
HQES_PAPER_OUT = f"{STX}\r\n  PRINTER STATUS\r\n   ERRORS:         1 00000000 00000001\r\n   WARNINGS:       1 00000000 00000008\r\n{ETX}\r\n"  # noqa: E501
HS_OK = (
    f"{STX}030,0,0,0203,000,0,0,0,000,0,0,0{ETX}\r\n"
    f"{STX}000,0,0,0,1,2,6,0,00000000,1,000{ETX}\r\n"
    f"{STX}1234,0{ETX}\r\n"
)
HS_PAUSED_HEAD_UP = (
    f"{STX}030,0,1,0203,000,0,0,0,000,0,0,0{ETX}\r\n"
    f"{STX}000,0,1,0,1,2,6,0,00000000,1,000{ETX}\r\n"
    f"{STX}1234,0{ETX}\r\n"
)


@dataclass
class ZebraScript:
    hqes: str | None = HQES_OK  # None: firmware without ~HQES
    hs: str | None = HS_OK  # None: silent (as Zebras are while out of media)
    formats: list[str] = field(default_factory=list)
    queries: int = 0


def zebra(script: ZebraScript) -> Callable[..., object]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = ""
        while chunk := await reader.read(65536):
            buf += chunk.decode("ascii")
            while True:
                if buf.startswith("~HQES"):
                    script.queries += 1
                    buf = buf[5:]
                    if script.hqes:
                        writer.write(script.hqes.encode())
                elif buf.startswith("~HS"):
                    buf = buf[3:]
                    if script.hs:
                        writer.write(script.hs.encode())
                elif buf.startswith(("\r", "\n")):
                    buf = buf[1:]
                elif buf.startswith("^XA") and "^XZ" in buf:
                    end = buf.index("^XZ") + 3
                    script.formats.append(buf[:end])
                    buf = buf[end:]
                else:
                    break
            await writer.drain()

    return handle


def gfa_to_image(zpl: str) -> Image.Image:
    """Decode the ``^GFA`` graphic in a ZPL format back to an image (the printer's view)."""
    match = re.search(r"\^GFA,(\d+),(\d+),(\d+),(.*?)\^FS", zpl, re.S)
    assert match, zpl[:200]
    total, per_row, data = int(match[1]), int(match[3]), match[4]
    row_hex, rows, prev, i = "", [], "", 0
    counts = {chr(ord("G") + k): k + 1 for k in range(19)}
    counts |= {chr(ord("g") + k): 20 * (k + 1) for k in range(20)}
    n = 0
    while i < len(data):
        ch = data[i]
        i += 1
        if ch in counts:
            n += counts[ch]
            continue
        if ch == ",":
            row_hex = row_hex.ljust(per_row * 2, "0")
        elif ch == "!":
            row_hex = row_hex.ljust(per_row * 2, "F")
        elif ch == ":":
            row_hex = prev
        else:
            row_hex += ch * (n or 1)
        n = 0
        if len(row_hex) >= per_row * 2:
            assert len(row_hex) == per_row * 2
            rows.append(row_hex)
            prev, row_hex = row_hex, ""
    raw = bytes.fromhex("".join(rows))
    assert len(raw) == total
    inverted = bytes(255 - b for b in raw)  # ZPL 1 = dot; PIL "1" 1 = white
    return Image.frombytes("1", (per_row * 8, len(rows)), inverted)


def zebra_config(url: str, **overrides: object) -> PrinterConfig:
    settings: dict[str, object] = {
        "kind": "zebra",
        "url": url,
        "media": "4x6in",  # the bars run along the label: 4x2in is too short for a Metrc tag
        "dpi": 203,
        "retries": 1,
        "retry_delay": 0.01,
        "timeout": 2.0,
        **overrides,
    }
    return PrinterConfig.model_validate(settings)


@pytest.mark.timeout(30)
async def test_zebra_prints_zpl_graphic_that_scans(listener: Callable[..., Listener]) -> None:
    script = ZebraScript()
    fake = listener(zebra(script))
    await fake.start()
    printer = create_printer(zebra_config(fake.url, media="62"))  # continuous 62 mm roll
    assert isinstance(printer, ZebraPrinter)
    label = PlantTag(uid=UID, strain="Blue Dream")
    result = await printer.print(label, copies=2)
    assert (result.outcome, result.copies, result.fault) == ("sent", 2, None)
    await asyncio.sleep(0.1)
    assert script.queries == 2 and len(script.formats) == 2

    zpl = script.formats[0]
    media = get_media("62", dpi=203)
    assert zpl.startswith(f"^XA^PW{media.width}^LL")
    image = gfa_to_image(zpl)
    found = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)}
    assert found == {("Code128", UID)}
    drawn = render(label, media)
    assert image.crop((0, 0, drawn.width, drawn.height)).tobytes() == drawn.tobytes()

    status = await printer.status()
    assert status.ready and status.warnings == ()


@pytest.mark.timeout(30)
async def test_zebra_paper_out_is_reported_and_nothing_sent(
    listener: Callable[..., Listener],
) -> None:
    script = ZebraScript(hqes=HQES_PAPER_OUT, hs=None)
    fake = listener(zebra(script))
    await fake.start()
    printer = create_printer(zebra_config(fake.url))

    status = await printer.status()
    assert status.faults == (PrinterFault.NO_MEDIA,)
    assert status.warnings == ("labels running low",)
    assert status.message == "printer out of labels"

    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "failed" and result.attempts == 2
    assert result.fault is not None and result.fault.message == PrinterFault.NO_MEDIA
    assert script.formats == []

    script.hqes, script.hs = HQES_OK, HS_OK  # a worker loads a roll
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "sent"
    await asyncio.sleep(0.1)
    assert len(script.formats) == 1


@pytest.mark.timeout(30)
async def test_zebra_old_firmware_paused_and_head_up(listener: Callable[..., Listener]) -> None:
    script = ZebraScript(hqes=None, hs=HS_PAUSED_HEAD_UP)
    fake = listener(zebra(script))
    await fake.start()
    status = await create_printer(zebra_config(fake.url)).status()
    assert status.faults == (PrinterFault.PAUSED, PrinterFault.COVER_OPEN)


@pytest.mark.timeout(30)
async def test_zebra_that_never_answers_is_unknown_state(
    listener: Callable[..., Listener],
) -> None:
    script = ZebraScript(hqes=None, hs=None)
    fake = listener(zebra(script))
    await fake.start()
    printer = create_printer(zebra_config(fake.url, retries=0, timeout=0.5))
    status = await printer.status()
    assert status.faults == (PrinterFault.UNKNOWN,)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.fault is not None and result.fault.message == "unknown printer state"
    assert script.formats == []


def test_zpl_graphic_round_trips_odd_widths_and_repeats() -> None:
    image = Image.new("1", (101, 40), 1)
    image.paste(0, (0, 0, 101, 3))  # full black rows (run-length "!"-free path)
    image.paste(0, (50, 10, 51, 30))  # a thin repeated column: ":" rows
    image.paste(0, (7, 35, 99, 36))
    zpl = label_zpl(image, width=104).decode()
    decoded = gfa_to_image(zpl)
    assert decoded.size == (104, 40)
    assert decoded.crop((0, 0, 101, 40)).tobytes() == image.tobytes()
    assert decoded.crop((101, 0, 104, 40)).getextrema() == (255, 255)  # padding stays white
    assert ":" in zpl and "," in zpl
