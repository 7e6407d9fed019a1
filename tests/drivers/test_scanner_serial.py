"""The serial (CDC-ACM) scanner over real pseudo-terminals.

The "device" is the master side of an ``os.openpty()`` pair; the scanner opens the
slave through a symlink that plays the stable ``/dev/serial/by-id`` name. Closing
the master is pulling the cable; a new pair behind the same symlink is plugging
it back in (the kernel would hand out a new ttyACMn the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.faults import DeviceFault
from drivers.scanner import Scan, ScannerConfig, SerialOptions, SerialScanner, open_scanner
from drivers.scanner.testing import BAD_BYTES_PROBLEM, NONE_PLUGGED, UNPLUGGED, ByteFrame, ByteFramer
from tests.waiting import until

pytestmark = pytest.mark.timeout(30)


class FakeSerialScanner:
    """The scanner's end of the cable: a pty master behind a by-id style symlink.

    We keep our own slave fd open while plugged: it keeps the pty alive before the
    driver opens it (hardware.md 2.9). Note that the kernel throws away unread input
    when the master closes, so bytes sent right before an unplug are lost below the
    driver (as on real USB); tests wait until the driver holds them.
    """

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self._slave = -1

    def plug(self) -> None:
        self.master, self._slave = os.openpty()
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self._slave))
        tmp.replace(self.link)

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self._slave)
        self.master = self._slave = -1


class Rig:
    def __init__(self, tmp_path: Path, **options: object) -> None:
        link = tmp_path / "usb-Honeywell_Imaging___Mobility_1950g_21270B2D54-if00"
        self.device = FakeSerialScanner(link)
        self.states: list[tuple[bool, DeviceFault | None]] = []
        opts = SerialOptions.model_validate({"port": str(link), "poll_ms": 10, **options})
        self.scanner = SerialScanner(opts, name="bench", on_state=lambda c, f: self.states.append((c, f)))
        self.stream = self.scanner.scans()
        self._pending: asyncio.Future[Scan] | None = None

    def start(self) -> None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self.stream))

    async def plug(self) -> FakeSerialScanner:
        self.device.plug()
        self.start()
        await until(lambda: self.scanner.connected)
        return self.device

    async def send_and_wait_read(self, data: bytes) -> None:
        """Send bytes that end no scan, and wait until the driver holds them all,
        so the next send is a separate read."""
        protocol = self.scanner._protocol
        assert protocol is not None
        expected = protocol.framer.buffered + len(data)
        self.device.send(data)
        await until(lambda: protocol.framer.buffered == expected)

    async def next(self) -> Scan:
        self.start()
        assert self._pending is not None
        pending, self._pending = self._pending, None
        async with asyncio.timeout(10):
            return await pending

    async def aclose(self) -> None:
        await self.scanner.aclose()
        if self._pending is not None:
            with contextlib.suppress(StopAsyncIteration):
                await self._pending
        if self.device.master >= 0:
            self.device.unplug()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path, idle_flush_ms=0)  # terminator framing only unless a test says so
    yield r
    await r.aclose()


async def test_scan_split_across_many_reads(rig: Rig) -> None:
    dev = await rig.plug()
    for byte in b"]C0ABC123":
        await rig.send_and_wait_read(bytes([byte]))  # each byte a read of its own
    dev.send(b"XYZ\r")
    scan = await rig.next()
    assert (scan.symbology, scan.text, scan.raw) == ("]C0", "ABC123XYZ", b"]C0ABC123XYZ\r")
    assert scan.device == str(dev.link)
    assert scan.problem is None


async def test_two_byte_terminator_split_between_reads(tmp_path: Path) -> None:
    rig = Rig(tmp_path, terminator="\r\n", idle_flush_ms=0)
    try:
        dev = await rig.plug()
        await rig.send_and_wait_read(b"FIRST\r")
        dev.send(b"\nSECOND\r\nTHIRD\r\n")
        scans = [await rig.next() for _ in range(3)]
        assert [s.text for s in scans] == ["FIRST", "SECOND", "THIRD"]
        assert scans[0].raw == b"FIRST\r\n"
    finally:
        await rig.aclose()


async def test_gs1_bytes_arrive_exactly(rig: Rig) -> None:
    dev = await rig.plug()
    data = b"]d20109501101530003\x1d10ABC-12\x1d21 x\x00y"
    dev.send(data + b"\r")
    scan = await rig.next()
    assert scan.symbology == "]d2"
    assert scan.text == "0109501101530003\x1d10ABC-12\x1d21 x\x00y"
    assert scan.raw == data + b"\r"


async def test_garbage_is_reported_not_a_crash(rig: Rig) -> None:
    dev = await rig.plug()
    dev.send(b"\xff\xfeAB\xc3\r\xe2\x82\xac\xc3\xa9\rOK\r")
    bad, utf8, ok = await rig.next(), await rig.next(), await rig.next()
    assert bad.problem == BAD_BYTES_PROBLEM
    assert bad.raw == b"\xff\xfeAB\xc3\r"
    assert bad.text == "\ufffd\ufffdAB\ufffd"
    assert (utf8.text, utf8.problem) == ("€é", None)
    assert (ok.text, ok.problem) == ("OK", None)
    assert rig.scanner.connected


async def test_idle_flush_without_suffix(tmp_path: Path) -> None:
    rig = Rig(tmp_path, terminator="", idle_flush_ms=50)
    try:
        dev = await rig.plug()
        dev.send(b"NOSUFFIX1")
        scan = await rig.next()
        assert (scan.text, scan.raw) == ("NOSUFFIX1", b"NOSUFFIX1")
        dev.send(b"NOSUFFIX2")
        assert (await rig.next()).text == "NOSUFFIX2"
    finally:
        await rig.aclose()


async def test_unplug_mid_scan_then_replug_behind_the_same_name(rig: Rig) -> None:
    dev = await rig.plug()
    dev.send(b"BEFORE\r")
    assert (await rig.next()).text == "BEFORE"
    await rig.send_and_wait_read(b"HALF")
    dev.unplug()
    await until(lambda: not rig.scanner.connected)
    connected, fault = rig.states[-1]
    assert not connected and fault is not None
    assert fault.message == UNPLUGGED
    assert fault.device == str(dev.link)

    await rig.plug()  # new pty pair, symlink re-pointed
    dev.send(b"AFTER\r")
    assert (await rig.next()).text == "AFTER"  # the half scan was not merged in
    assert rig.states[-1] == (True, None)
    assert any("4 bytes discarded" in f.detail for _, f in rig.states if f is not None)


async def test_bytes_read_just_before_the_port_fails_are_not_lost(rig: Rig) -> None:
    # The driver frames each chunk as it arrives, so a scan read in the same loop
    # iteration as the failure still comes out (a StreamReader would drop it).
    dev = await rig.plug()
    protocol = rig.scanner._protocol
    assert protocol is not None
    protocol.data_received(b"LASTWORDS\rHAL")
    protocol.connection_lost(OSError(5, "Input/output error"))
    assert (await rig.next()).text == "LASTWORDS"
    await until(lambda: any(f is not None and "3 bytes discarded" in f.detail for _, f in rig.states))
    await until(lambda: rig.scanner.connected)  # the port is still there: reopened
    dev.send(b"AGAIN\r")
    assert (await rig.next()).text == "AGAIN"


async def test_port_missing_at_start_then_appears(rig: Rig) -> None:
    rig.start()
    await until(lambda: rig.scanner.fault is not None)
    assert rig.scanner.fault is not None
    assert rig.scanner.fault.message == NONE_PLUGGED
    dev = await rig.plug()
    dev.send(b"HELLO\r")
    assert (await rig.next()).text == "HELLO"


async def test_thousand_scan_burst_loses_no_character(rig: Rig) -> None:
    dev = await rig.plug()
    codes = [f"1A4FF0300000{n:06d}CANOPY]x\x1d" for n in range(1000)]
    data = b"".join(c.encode() + b"\r" for c in codes)
    writer = asyncio.ensure_future(asyncio.to_thread(dev.send, data))
    got = [(await rig.next()).text for _ in codes]
    await writer
    assert got == codes


async def test_factory_builds_a_serial_scanner(tmp_path: Path) -> None:
    config = ScannerConfig(kind="serial", serial=SerialOptions(port=str(tmp_path / "x")))
    scanner = open_scanner(config, name="bench")
    assert isinstance(scanner, SerialScanner)
    await scanner.aclose()


def test_byte_framer_keeps_partials_and_caps_length() -> None:
    framer = ByteFramer(b"\r\n")
    assert framer.feed(b"AB\r") == []
    assert framer.pending
    assert framer.feed(b"\nC") == [ByteFrame(b"AB", b"\r\n")]
    assert framer.feed(b"\r\n\r\n") == [ByteFrame(b"C", b"\r\n")]  # empty frame skipped
    assert framer.flush() is None
    framer.feed(b"PART")
    assert framer.discard() == b"PART"
    assert not framer.pending
    long = ByteFramer(b"\r").feed(b"x" * 9000)
    assert [len(f.payload) for f in long] == [8192]
    assert long[0].problem is not None
