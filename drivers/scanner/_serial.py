"""USB-serial (CDC-ACM) scanners: bytes plus a suffix, framed here, hot-plug by polling.

The port is opened with pyserial-asyncio-fast's ``create_serial_connection`` and a
small protocol of our own rather than ``open_serial_connection``'s StreamReader:
once the port fails, ``StreamReader.read()`` raises at once and drops whatever
was still buffered, so the last scan before an unplug could vanish. Here every
chunk is framed the moment it arrives, so a character is never lost between reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

import serial_asyncio_fast

from drivers.faults import DeviceFault
from drivers.scanner._base import ScannerBase
from drivers.scanner._config import SerialOptions
from drivers.scanner._faults import NONE_PLUGGED, UNPLUGGED, fault_from_error
from drivers.scanner._framing import MAX_SCAN_CHARS, TOO_LONG_PROBLEM, AimMode, make_scan
from drivers.scanner._idle import IdleTimer, fd_has_input
from drivers.scanner._scan import StateCallback

log = logging.getLogger("drivers.scanner")

BAD_BYTES_PROBLEM = "scan had unreadable characters"


@dataclass(frozen=True, slots=True)
class ByteFrame:
    payload: bytes
    terminator: bytes
    problem: str | None = None


class ByteFramer:
    """Splits a byte stream on a terminator, keeping partial scans across reads."""

    def __init__(self, terminator: bytes) -> None:
        self._terminator = terminator
        self._buffer = bytearray()

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    @property
    def buffered(self) -> int:
        """Bytes of the unfinished scan held so far."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[ByteFrame]:
        frames: list[ByteFrame] = []
        term = self._terminator
        start = max(0, len(self._buffer) - len(term) + 1)  # a terminator split across reads
        self._buffer += data
        while term:
            end = self._buffer.find(term, start)
            if end < 0:
                break
            frames.append(ByteFrame(bytes(self._buffer[:end]), term))
            del self._buffer[: end + len(term)]
            start = 0
        while len(self._buffer) >= MAX_SCAN_CHARS:
            frames.append(ByteFrame(bytes(self._buffer[:MAX_SCAN_CHARS]), b"", TOO_LONG_PROBLEM))
            del self._buffer[:MAX_SCAN_CHARS]
        return [f for f in frames if f.payload]  # a bare suffix is not a scan

    def flush(self) -> ByteFrame | None:
        """End the buffered scan without a terminator (idle pause)."""
        frame = ByteFrame(bytes(self._buffer), b"") if self._buffer else None
        self._buffer.clear()
        return frame

    def discard(self) -> bytes:
        partial = bytes(self._buffer)
        self._buffer.clear()
        return partial


def decode_payload(payload: bytes) -> tuple[str, str | None]:
    """UTF-8 text of a scan; bad bytes become U+FFFD and are reported, never raised."""
    try:
        return payload.decode("utf-8"), None
    except UnicodeDecodeError:
        return payload.decode("utf-8", errors="replace"), BAD_BYTES_PROBLEM


class _PortProtocol(asyncio.Protocol):
    """Frames one open port's bytes into scans; resolves ``lost`` when the port goes."""

    def __init__(self, scanner: SerialScanner, port: str) -> None:
        self._scanner = scanner
        self._port = port
        self.framer = ByteFramer(scanner.options.terminator.encode("latin-1"))
        self._fd = -1
        self._timer = IdleTimer(
            scanner.options.idle_flush_ms / 1000, self._idle, busy=lambda: fd_has_input(self._fd)
        )
        self.lost: asyncio.Future[tuple[Exception | None, bytes]] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        port: Any = transport.get_extra_info("serial")
        self._fd = port.fileno()

    def data_received(self, data: bytes) -> None:
        for frame in self.framer.feed(data):
            self._scanner._deliver(self._port, frame)
        if self.framer.pending:
            self._timer.touch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        partial = self.framer.discard()
        if not self.lost.done():
            self.lost.set_result((exc, partial))

    def _idle(self) -> None:
        frame = self.framer.flush()
        if frame is not None:
            self._scanner._deliver(self._port, frame)


class SerialScanner(ScannerBase):
    """One serial scanner on a stable port path; reopened whenever it comes back."""

    def __init__(
        self,
        options: SerialOptions,
        *,
        name: str = "scanner",
        aim: AimMode = "auto",
        on_state: StateCallback | None = None,
    ) -> None:
        super().__init__(name, on_state=on_state)
        self.options = options
        self._aim: AimMode = aim
        self._transport: asyncio.BaseTransport | None = None
        self._protocol: _PortProtocol | None = None

    async def _run(self) -> None:
        port = self.options.port
        poll_s = self.options.poll_ms / 1000
        ever_connected = False
        failures = 0
        while True:
            if not _present(port):
                failures = 0
                if self.fault is None:
                    message = UNPLUGGED if ever_connected else NONE_PLUGGED
                    self._set_state(False, DeviceFault(message, device=port, detail="no such path"))
                await asyncio.sleep(poll_s)
                continue
            protocol = _PortProtocol(self, port)
            try:
                transport = await self._open(protocol)
            except (OSError, ValueError) as exc:  # SerialException is an OSError
                # The first failure right after the port appears is often udev still
                # setting permissions; report only when it happens again.
                failures += 1
                if failures > 1:
                    self._set_state(False, fault_from_error(exc, device=port))
                await asyncio.sleep(poll_s)
                continue
            failures = 0
            self._transport, self._protocol = transport, protocol
            ever_connected = True
            self._set_state(True, None)
            # shield: cancelling _run() must not cancel "lost"; _release() waits on it.
            error, partial = await asyncio.shield(protocol.lost)
            transport.close()  # no-op if the transport closed itself; frees the port if not
            self._transport = self._protocol = None
            note = f"unfinished scan of {len(partial)} bytes discarded" if partial else ""
            self._set_state(
                False, fault_from_error(error or ConnectionError("port closed"), device=port, note=note)
            )
            await asyncio.sleep(poll_s)

    async def _open(self, protocol: _PortProtocol) -> asyncio.BaseTransport:
        transport, _ = await serial_asyncio_fast.create_serial_connection(
            asyncio.get_running_loop(),
            lambda: protocol,
            self.options.port,
            baudrate=self.options.baudrate,
            exclusive=True,  # a second reader would steal half the bytes
        )
        return transport

    async def _release(self) -> None:
        transport, protocol = self._transport, self._protocol
        self._transport = self._protocol = None
        if transport is not None and protocol is not None:
            transport.close()
            await protocol.lost  # the port is really closed when this returns

    def _deliver(self, port: str, frame: ByteFrame) -> None:
        text, problem = decode_payload(frame.payload)
        self._emit(
            make_scan(
                text,
                raw=frame.payload + frame.terminator,
                aim=self._aim,
                device=port,
                problem=frame.problem or problem,
            )
        )


def _present(port: str) -> bool:
    """Whether the by-id path exists now (a stat in /dev, not real blocking I/O)."""
    return os.path.exists(port)
