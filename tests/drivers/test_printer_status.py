"""Status replies -> faults: Brother 32-byte frames and Zebra ~HQES / ~HS strings."""

from __future__ import annotations

import pytest
from brother_ql.reader import interpret_response

from drivers.printer import PrinterFault
from drivers.printer.testing import FrameBuffer, StatusFrame, media_mismatch, parse_status, split_replies


def frame(err1: int = 0, err2: int = 0, *, width: int = 62, mtype: int = 0x0A, length: int = 0,
          status: int = 0, phase: int = 0, note: int = 0) -> bytes:  # fmt: skip
    data = bytearray(32)
    data[0:8] = b"\x80\x20\x42\x34\x38\x30\x00\x00"  # QL-800
    data[8], data[9], data[10], data[11], data[17] = err1, err2, width, mtype, length
    data[18], data[19], data[22] = status, phase, note
    return bytes(data)


@pytest.mark.parametrize(
    ("err1", "err2", "fault"),
    [
        (0x01, 0, PrinterFault.NO_MEDIA),
        (0x02, 0, PrinterFault.END_OF_MEDIA),
        (0x04, 0, PrinterFault.CUTTER_JAM),
        (0x20, 0, PrinterFault.SWITCHED_OFF),
        (0, 0x01, PrinterFault.WRONG_MEDIA),
        (0, 0x04, PrinterFault.COMMUNICATION),
        (0, 0x10, PrinterFault.COVER_OPEN),
        (0, 0x40, PrinterFault.FEED_ERROR),
        (0, 0x80, PrinterFault.HARDWARE),
    ],
)
def test_brother_error_bits(err1: int, err2: int, fault: PrinterFault) -> None:
    data = frame(err1, err2, status=0x02)
    assert interpret_response(data)["errors"]  # brother_ql agrees it is an error frame
    assert StatusFrame.parse(data).faults() == (fault,)


def test_brother_frame_states() -> None:
    assert StatusFrame.parse(frame()).faults() == ()
    assert StatusFrame.parse(frame(status=0x02)).faults() == (PrinterFault.UNKNOWN,)
    cooling = StatusFrame.parse(frame(status=0x05, note=0x03))
    assert cooling.cooling and cooling.faults() == (PrinterFault.OVERHEATED,)
    assert StatusFrame.parse(frame(status=0x01)).printed
    assert StatusFrame.parse(frame(status=0x06, phase=0)).waiting
    assert StatusFrame.parse(frame(width=29, mtype=0x0B, length=90)).media_name() == "29x90"
    assert StatusFrame.parse(frame(width=0, mtype=0)).media_name() is None
    with pytest.raises(ValueError, match="not a Brother status frame"):
        StatusFrame.parse(b"\x00" * 32)


def test_media_mismatch() -> None:
    endless62 = StatusFrame.parse(frame())
    assert media_mismatch(endless62, (62, 0)) is None
    assert media_mismatch(endless62, (29, 0)) == "loaded 62, job needs 29 mm endless"
    diecut = StatusFrame.parse(frame(width=29, mtype=0x0B, length=90))
    assert media_mismatch(diecut, (29, 90)) is None
    assert "job needs 29 mm endless" in str(media_mismatch(diecut, (29, 0)))
    assert "29x42" in str(media_mismatch(diecut, (29, 42)))
    assert media_mismatch(StatusFrame.parse(frame(width=0, mtype=0)), (62, 0)) is None


def test_frame_buffer_joins_splits_and_skips_noise() -> None:
    buf = FrameBuffer()
    data = b"\xff\xfe" + frame(0x01) + frame(status=0x01)
    assert buf.feed(data[:20]) == []
    frames = buf.feed(data[20:50]) + buf.feed(data[50:])
    assert [f.error1 for f in frames] == [0x01, 0x00]
    assert buf.garbage == b"\xff\xfe"
    noise = FrameBuffer()
    assert noise.feed(b"hello printer" * 4 + b"\x80\x20") == []
    assert len(noise.garbage) == 52  # the possible header start is kept back


def test_zebra_hqes_flags() -> None:
    reply = "\x02\r\nPRINTER STATUS\r\n ERRORS: 1 00000000 0000001D\r\n WARNINGS: 1 00000000 00000003\r\n\x03"
    status = parse_status(split_replies(reply.encode()))
    assert status.faults == (
        PrinterFault.NO_MEDIA,
        PrinterFault.COVER_OPEN,
        PrinterFault.CUTTER_JAM,
        PrinterFault.OVERHEATED,
    )
    assert status.warnings == ("media needs calibrating", "printhead needs cleaning")
    odd = "\x02 ERRORS: 1 00000000 00100000\r\n WARNINGS: 0 00000000 00000000\x03"
    assert parse_status(split_replies(odd.encode())).faults == (PrinterFault.UNKNOWN,)


def test_zebra_hs_strings() -> None:
    hs = (
        b"\x02030,1,1,0203,000,1,0,0,000,0,0,1\x03\r\n"
        b"\x02000,0,1,1,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"
    )
    status = parse_status(split_replies(hs))
    assert status.answered
    assert status.faults == (
        PrinterFault.NO_MEDIA,
        PrinterFault.PAUSED,
        PrinterFault.BUSY,
        PrinterFault.OVERHEATED,
        PrinterFault.COVER_OPEN,
        PrinterFault.RIBBON_OUT,
    )
    assert not parse_status(split_replies(b"\x02garbage\x03")).answered
    assert not parse_status([]).answered
