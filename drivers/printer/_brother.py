"""Brother QL printers through brother_ql_next: raster conversion, USB or network.

USB (``linux_kernel`` or ``pyusb``) reads the printer's 32-byte status frames: we
ask before each job (faults, wrong roll) and wait for "printing completed" after
it. Port 9100 cannot read status (Brother answers status only over SNMP), so a
networked job is reported as ``sent``. Blocking brother_ql calls run in a worker
thread behind a per-printer lock.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import usb.core
from brother_ql import BrotherQLError, BrotherQLRaster
from brother_ql.conversion import convert
from brother_ql.labels import LabelsManager
from brother_ql.models import ModelsManager

from drivers.faults import DeviceFault
from drivers.labels import LabelError
from drivers.printer._base import PrinterBase, Sent
from drivers.printer._brother_link import Link, open_link
from drivers.printer._brother_status import FrameBuffer, StatusFrame, media_mismatch
from drivers.printer._config import PrinterConfig
from drivers.printer._tcp import send_bytes, tcp_connection
from drivers.printer._types import PrinterFault, PrinterStatus

if TYPE_CHECKING:  # Pillow loads on the first print, not when the kiosk starts (idle RSS)
    from PIL import Image


log = logging.getLogger(__name__)

T = TypeVar("T")

_STATUS_WAIT = 2.0  # seconds for a status reply; a USB QL answers in milliseconds
_COOLING_WAIT = 120.0  # a QL that stops to cool resumes on its own; allow for it
_SETTLE = 1.0  # after "printing completed", how long to wait for "waiting to receive"
_FRAME = 32


def brother_raster(
    image: Image.Image, *, model: str, label: str, cut: bool = True, compress: bool = False
) -> bytes:
    """The raster job for one label, exactly as it goes down the wire.

    ``image`` must already be at the roll's printable dots (``render`` makes it so):
    convert() would otherwise resize it, and a resized barcode is a blurred one.

    Uncompressed by default: brother_ql's packbits is pure Python and takes ~90 % of
    the conversion (about 20 ms for a 62 mm label on x86, several times that on a
    Pi), while the uncompressed job is only ~35 kB, nothing for USB or a LAN.
    """
    qlr = BrotherQLRaster(model)
    data = convert(
        qlr,
        [image],
        label,
        cut=cut,
        rotate=0,  # the renderer already turned the label where it had to
        dither=False,
        compress=compress and bool(qlr.model.compression),
    )
    return bytes(data)


class BrotherPrinter(PrinterBase[bytes]):
    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        label = self._media.brother_label
        if label is None or config.url is None:
            raise ValueError("BrotherPrinter needs a Brother roll and a url")
        self._label = label
        self._url = config.url
        self._backend = config.brother_backend()
        self._tape: tuple[int, int] = tuple(LabelsManager()[label].tape_size)
        self._model = ModelsManager()[config.model].identifier
        request = BrotherQLRaster(self._model)
        request.add_invalidate()
        request.add_status_information()
        self._status_request = bytes(request.data)
        # Held by the worker thread, so a job still stuck in a blocking write after
        # its coroutine gave up cannot overlap the next one.
        self._device_lock = threading.Lock()

    @property
    def reads_status(self) -> bool:
        return self._backend != "network"

    async def _encode(self, image: Image.Image) -> bytes:
        try:
            return await asyncio.to_thread(brother_raster, image, model=self._model, label=self._label)
        except (ValueError, BrotherQLError) as exc:
            raise LabelError(f"brother_ql cannot convert the label: {exc}") from exc

    async def _send_one(self, payload: bytes, tag: str) -> Sent:
        timeout = self._config.timeout
        if not self.reads_status:
            async with tcp_connection(self._url, device=self.name, wait=timeout) as conn:
                await send_bytes(conn[1], payload, wait=timeout)
            return Sent("sent", "networked Brother printers cannot confirm a print")
        return await self._in_thread(partial(self._usb_job, payload))

    async def _status(self) -> PrinterStatus:
        if not self.reads_status:
            try:
                async with tcp_connection(self._url, device=self.name, wait=_STATUS_WAIT):
                    pass
            except DeviceFault as fault:
                return PrinterStatus(faults=(PrinterFault(fault.message),), detail=fault.detail)
            return PrinterStatus(confirmed=False, detail="reachable; port 9100 gives no status (SNMP only)")
        try:
            frame = await self._in_thread(self._usb_status)
        except DeviceFault as fault:
            return PrinterStatus(faults=(PrinterFault(fault.message),), detail=fault.detail)
        return self._status_from(frame)

    # --- worker-thread side -------------------------------------------------

    async def _in_thread(self, work: Callable[[], T]) -> T:
        # Bound the whole exchange from the event loop as well: a blocking write to
        # a wedged printer must not hang the agent.
        budget = _STATUS_WAIT + self._config.timeout + _COOLING_WAIT + 10
        try:
            async with asyncio.timeout(budget):
                return await asyncio.to_thread(work)
        except TimeoutError:
            raise self._fault(PrinterFault.COMMUNICATION, "printer stopped taking data") from None

    @contextmanager
    def _link(self) -> Iterator[Link]:
        if not self._device_lock.acquire(timeout=self._config.timeout):
            raise self._fault(PrinterFault.BUSY, "an earlier job is still talking to the printer")
        try:
            try:
                link = open_link(self._backend, self._url)
            except Exception as exc:
                raise self._map_error(exc) from exc
            try:
                yield link
            except DeviceFault:
                raise
            except Exception as exc:
                raise self._map_error(exc) from exc
            finally:
                link.close()
        finally:
            self._device_lock.release()

    def _usb_status(self) -> StatusFrame:
        with self._link() as link:
            return self._query(link)

    def _usb_job(self, payload: bytes) -> Sent:
        with self._link() as link:
            if self._config.check_status:
                status = self._status_from(self._query(link))
                if status.faults:
                    raise self._fault(status.faults[0], status.detail)
            link.write(payload)
            return self._await_print(link)

    def _query(self, link: Link) -> StatusFrame:
        for _ in range(64):  # drop frames left over from an earlier job (bounded: a
            if not link.read(0):  # device that never stops talking must not hang us)
                break
        link.write(self._status_request)
        frames = FrameBuffer()
        deadline = time.monotonic() + min(_STATUS_WAIT, self._config.timeout)
        while (left := deadline - time.monotonic()) > 0:
            if found := frames.feed(link.read(min(left, 0.2))):
                return found[0]
            if len(frames.garbage) >= _FRAME:
                break
        detail = (
            f"unreadable reply {frames.garbage[:_FRAME].hex(' ')}" if frames.garbage else "no status reply"
        )
        raise self._fault(PrinterFault.UNKNOWN, detail)

    def _await_print(self, link: Link) -> Sent:
        """Wait for "printing completed". Error frames mean nothing printed (safe to retry);
        silence or nonsense after the data went out is ``sent``, never a retry, so a
        label is not printed twice."""
        frames = FrameBuffer()
        deadline = time.monotonic() + self._config.timeout
        printed_at: float | None = None
        while (now := time.monotonic()) < deadline:
            if printed_at is not None and now - printed_at > _SETTLE:
                break
            for frame in frames.feed(link.read(min(deadline - now, 0.1))):
                if frame.cooling:
                    deadline = max(deadline, time.monotonic() + _COOLING_WAIT)
                    continue
                faults = frame.faults()
                if faults:
                    raise self._fault(faults[0], _describe(faults))
                if frame.printed:
                    printed_at = time.monotonic()
                if frame.waiting and printed_at is not None:
                    return Sent("printed")
        if printed_at is not None:
            return Sent("printed")
        if frames.garbage:
            reply = frames.garbage[:_FRAME].hex(" ")
            return Sent("sent", f"{PrinterFault.UNKNOWN.value} after sending: {reply}")
        return Sent("sent", f"printer did not confirm within {self._config.timeout:g} s")

    def _status_from(self, frame: StatusFrame) -> PrinterStatus:
        faults = list(frame.faults())
        details = [_describe(tuple(faults))] if faults else []
        mismatch = media_mismatch(frame, self._tape)
        if mismatch:
            faults.append(PrinterFault.WRONG_MEDIA)
            details.append(mismatch)
        return PrinterStatus(faults=tuple(faults), media=frame.media_name(), detail="; ".join(details))

    def _map_error(self, exc: BaseException) -> DeviceFault:
        """Every library and OS error of this driver becomes a fault here, and only here."""
        where = self._url
        if isinstance(exc, DeviceFault):
            return exc
        if isinstance(exc, PermissionError):
            return self._fault(
                PrinterFault.NOT_CONNECTED,
                f"permission denied on {where}: add the kiosk user to the lp group (udev rule)",
            )
        if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return self._fault(PrinterFault.NOT_CONNECTED, f"{where}: {exc.strerror}")
        if isinstance(exc, usb.core.NoBackendError):
            return self._fault(PrinterFault.NOT_CONNECTED, "libusb-1.0 is not installed")
        if isinstance(exc, usb.core.USBError):
            if exc.errno == errno.EBUSY:
                return self._fault(
                    PrinterFault.NOT_CONNECTED,
                    f"{where} is busy: another program (ipp-usb, CUPS) holds the printer",
                )
            return self._fault(PrinterFault.COMMUNICATION, f"{where}: {exc}")
        if isinstance(exc, ValueError) and "not found" in str(exc):
            return self._fault(PrinterFault.NOT_CONNECTED, f"{where}: no such USB device")
        if isinstance(exc, TimeoutError):
            return self._fault(PrinterFault.COMMUNICATION, f"{where}: printer stopped answering")
        if isinstance(exc, OSError):
            return self._fault(PrinterFault.COMMUNICATION, f"{where}: {exc}")
        return self._fault(PrinterFault.UNKNOWN, f"{where}: {exc!r}")


def _describe(faults: tuple[PrinterFault, ...]) -> str:
    return ", ".join(f.value for f in faults)
