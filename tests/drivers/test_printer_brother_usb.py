"""A fake USB Brother QL on a pty, driven through brother_ql's real ``linux_kernel`` backend.

The fake parses the instruction stream the way a QL does (brother_ql's opcode
table), answers ``ESC i S`` with a 32-byte status frame and a finished page with
the frames a real QL sends, or with the error frames a scenario asks for.
"""

from __future__ import annotations

import io
import os
import select
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zxingcpp
from brother_ql.reader import OPCODES, BrotherQLReader, interpret_response
from PIL import Image

from drivers.labels import PlantTag, get_media, render
from drivers.printer import (
    BrotherPrinter,
    PrinterConfig,
    PrinterFault,
    brother_raster,
    create_printer,
)
from drivers.printer.testing import (
    MEDIA_DIE_CUT,
    MEDIA_ENDLESS,
    STATUS_ERROR,
    STATUS_NOTIFICATION,
    STATUS_PHASE,
    STATUS_PRINTED,
    STATUS_REPLY,
)

UID = "1A4FF0100000022000000123"
NO_MEDIA = (0x01, 0x00)
COVER_OPEN = (0x00, 0x10)


def frame(
    status_type: int = STATUS_REPLY,
    *,
    errors: tuple[int, int] = (0, 0),
    width: int = 62,
    media_type: int = MEDIA_ENDLESS,
    length: int = 0,
    phase: int = 0,
    notification: int = 0,
) -> bytes:
    data = bytearray(32)
    data[0:8] = b"\x80\x20\x42\x34\x41\x30\x00\x00"  # header, series, QL-820NWB
    data[8], data[9] = errors
    data[10], data[11], data[17] = width, media_type, length
    data[18], data[19], data[22] = status_type, phase, notification
    return bytes(data)


PRINTED_OK = [
    frame(STATUS_PHASE, phase=1),
    frame(STATUS_PRINTED),
    frame(STATUS_PHASE, phase=0),
]


def split_instructions(buf: bytes) -> tuple[list[bytes], bytes]:
    """Complete instructions at the front of ``buf``, and the incomplete rest."""
    done: list[bytes] = []
    while buf:
        matches = [op for op in OPCODES if buf.startswith(op)]
        if not matches:
            if any(op.startswith(buf) for op in OPCODES):
                break  # a multi-byte opcode cut in half
            raise AssertionError(f"printer got an unknown opcode: {buf[:8].hex(' ')}")
        opcode = max(matches, key=len)
        name, extra, _ = OPCODES[opcode]
        size = len(opcode) + max(extra, 0)
        if "raster" in name:
            if len(buf) < 3:
                break
            size = 3 + buf[2]
        if len(buf) < size:
            break
        done.append(buf[:size])
        buf = buf[size:]
    return done, buf


@dataclass
class FakeQL:
    """The printer side of a raw pty. Scripts are lists of frames per event."""

    master: int
    path: str
    status_reply: list[bytes] = field(default_factory=lambda: [frame()])
    on_print: list[list[bytes]] = field(default_factory=lambda: [PRINTED_OK])
    jobs: list[bytes] = field(default_factory=list)  # everything received, up to each print
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        pending, job = b"", b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            pending += os.read(self.master, 65536)
            instructions, pending = split_instructions(pending)
            for ins in instructions:
                if ins == b"\x1biS":  # sent alone by the driver, and inside every job
                    for reply in self.status_reply:
                        os.write(self.master, reply)
                if ins in (b"\x1a", b"\x0c"):
                    self.jobs.append(job + ins)
                    job = b""
                    script = self.on_print[0] if len(self.on_print) == 1 else self.on_print.pop(0)
                    for reply in script:
                        os.write(self.master, reply)
                else:
                    job += ins

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture
def fake_ql() -> Iterator[FakeQL]:
    master, slave = os.openpty()
    tty.setraw(slave)  # binary-clean: no echo, no CR/LF translation, no line buffering
    fake = FakeQL(master=master, path=os.ttyname(slave))
    thread = threading.Thread(target=fake.run, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stop()
        thread.join(timeout=2)
        os.close(slave)
        os.close(master)


def printer_for(fake: FakeQL, tmp_path: Path, **overrides: object) -> BrotherPrinter:
    settings: dict[str, object] = {
        "kind": "brother",
        "name": "bench printer",
        "model": "QL-820NWB",
        "media": "62",
        "url": f"file://{fake.path}",
        "retries": 1,
        "retry_delay": 0.01,
        "timeout": 2.0,
        **overrides,
    }
    printer = create_printer(PrinterConfig.model_validate(settings))
    assert isinstance(printer, BrotherPrinter)
    return printer


def decode_job(job: bytes, tmp_path: Path) -> set[str]:
    reader = BrotherQLReader(io.BytesIO(job))
    reader.filename_fmt = str(tmp_path / "job{counter}.png")
    reader.analyse()
    with Image.open(tmp_path / "job1.png") as page:
        return {r.text for r in zxingcpp.read_barcodes(page)}


def test_test_frames_are_real_brother_frames() -> None:
    parsed = interpret_response(frame(STATUS_ERROR, errors=NO_MEDIA))
    assert parsed["errors"] == ["No media when printing"]
    assert parsed["media_width"] == 62


@pytest.mark.timeout(30)
async def test_prints_and_is_confirmed(fake_ql: FakeQL, tmp_path: Path) -> None:
    printer = printer_for(fake_ql, tmp_path)
    label = PlantTag(uid=UID, strain="Blue Dream")
    result = await printer.print(label, copies=2)
    assert (result.outcome, result.copies, result.attempts, result.fault) == ("printed", 2, 2, None)

    expected = brother_raster(render(label, get_media("62")), model="QL-820NWB", label="62")
    status_request = b"\x00" * 400 + b"\x1biS"  # QL-8xx: 400 invalidate bytes
    assert fake_ql.jobs == [status_request + expected] * 2  # asked before each copy
    assert decode_job(fake_ql.jobs[0], tmp_path) == {UID}  # what crossed the pty

    status = await printer.status()
    assert status.ready and status.media == "62" and status.message == "ready"
    await printer.aclose()


@pytest.mark.timeout(30)
async def test_no_media_is_reported_before_sending(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.status_reply = [frame(STATUS_REPLY, errors=NO_MEDIA, width=0, media_type=0)]
    printer = printer_for(fake_ql, tmp_path, retries=2)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "failed"
    assert result.fault is not None
    assert PrinterFault(result.fault.message) is PrinterFault.NO_MEDIA
    assert result.fault.message == "printer out of labels"
    assert result.fault.device == "bench printer"
    assert result.attempts == 3  # retried twice, then reported
    assert fake_ql.jobs == []  # nothing was sent into the fault

    status = await printer.status()
    assert status.faults == (PrinterFault.NO_MEDIA,) and not status.ready


@pytest.mark.timeout(30)
async def test_cover_opened_while_printing_then_closed(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.on_print = [
        [frame(STATUS_PHASE, phase=1), frame(STATUS_ERROR, errors=COVER_OPEN)],
        PRINTED_OK,
    ]
    printer = printer_for(fake_ql, tmp_path, retries=1)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    # The error frame said it did not print, so the retry was safe and succeeded.
    assert (result.outcome, result.attempts, result.copies) == ("printed", 2, 1)
    assert len(fake_ql.jobs) == 2


@pytest.mark.timeout(30)
async def test_cover_open_every_time_is_a_reported_fault(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.on_print = [[frame(STATUS_ERROR, errors=COVER_OPEN)]]
    printer = printer_for(fake_ql, tmp_path, retries=1)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "failed" and result.attempts == 2
    assert result.fault is not None and result.fault.message == PrinterFault.COVER_OPEN


@pytest.mark.timeout(30)
async def test_copies_done_before_a_fault_are_counted(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.on_print = [PRINTED_OK, [frame(STATUS_ERROR, errors=(0x04, 0))]]  # then cutter jam
    printer = printer_for(fake_ql, tmp_path, retries=0)
    result = await printer.print(PlantTag(uid=UID, strain="x"), copies=3)
    assert (result.outcome, result.copies, result.attempts) == ("failed", 1, 2)
    assert result.fault is not None and result.fault.message == "label cutter jammed"


@pytest.mark.timeout(30)
async def test_wrong_roll_is_refused(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.status_reply = [frame(width=29, media_type=MEDIA_DIE_CUT, length=90)]
    printer = printer_for(fake_ql, tmp_path, retries=0)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.fault is not None
    assert result.fault.message == PrinterFault.WRONG_MEDIA
    assert "29x90" in result.fault.detail and "62 mm endless" in result.fault.detail
    assert fake_ql.jobs == []
    status = await printer.status()
    assert status.media == "29x90" and status.faults == (PrinterFault.WRONG_MEDIA,)


@pytest.mark.timeout(30)
async def test_unknown_reply_is_unknown_state_not_a_crash(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.status_reply = [b"\x81\x20\x43" + bytes(29), b"garbage that is not a frame" * 2]
    printer = printer_for(fake_ql, tmp_path, retries=0)
    status = await printer.status()
    assert status.faults == (PrinterFault.UNKNOWN,)
    assert status.message == "unknown printer state"
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "failed" and result.fault is not None
    assert result.fault.message == "unknown printer state"


@pytest.mark.timeout(30)
async def test_silence_after_sending_is_sent_not_retried(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.on_print = [[]]
    printer = printer_for(fake_ql, tmp_path, timeout=0.5, retries=3)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    # It may have printed: retrying could print a duplicate tag, so it is "sent".
    assert (result.outcome, result.attempts) == ("sent", 1)
    assert "did not confirm" in result.detail
    assert len(fake_ql.jobs) == 1


@pytest.mark.timeout(30)
async def test_cooling_pause_is_waited_out(fake_ql: FakeQL, tmp_path: Path) -> None:
    fake_ql.on_print = [
        [
            frame(STATUS_PHASE, phase=1),
            frame(STATUS_NOTIFICATION, notification=3),  # cooling started
            frame(STATUS_NOTIFICATION, notification=4),  # cooling finished
            *PRINTED_OK[1:],
        ]
    ]
    printer = printer_for(fake_ql, tmp_path)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "printed"


@pytest.mark.timeout(30)
async def test_without_status_check_the_job_goes_straight_out(fake_ql: FakeQL, tmp_path: Path) -> None:
    printer = printer_for(fake_ql, tmp_path, check_status=False)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "printed"
    label = render(PlantTag(uid=UID, strain="x"), get_media("62"))
    assert fake_ql.jobs == [brother_raster(label, model="QL-820NWB", label="62")]


@pytest.mark.timeout(30)
async def test_missing_device_is_not_connected(tmp_path: Path) -> None:
    config = PrinterConfig(kind="brother", url=f"file://{tmp_path}/lp9", retries=1, retry_delay=0.01)
    printer = create_printer(config)
    result = await printer.print(PlantTag(uid=UID, strain="x"))
    assert result.outcome == "failed" and result.attempts == 2
    assert result.fault is not None and result.fault.message == PrinterFault.NOT_CONNECTED
    assert "lp9" in result.fault.detail
    status = await printer.status()
    assert status.faults == (PrinterFault.NOT_CONNECTED,)
