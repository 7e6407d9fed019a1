"""Zebra printers: raw ZPL over TCP 9100, status from ``~HQES`` and ``~HS``.

Before each label we ask for status on the same connection and refuse to send
into a fault (paper out, head open, paused...). ZPL over 9100 has no per-label
"printed" reply, so a delivered label is reported as ``sent``.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from drivers.faults import DeviceFault
from drivers.printer._base import PrinterBase, Sent
from drivers.printer._config import PrinterConfig
from drivers.printer._tcp import send_bytes, tcp_connection
from drivers.printer._types import PrinterFault, PrinterStatus
from drivers.printer._zpl import STATUS_QUERY, ZebraStatus, label_zpl, parse_status, split_replies

if TYPE_CHECKING:  # Pillow loads on the first print, not when the kiosk starts (idle RSS)
    from PIL import Image


_STATUS_WAIT = 2.0
_HS_BLOCKS = 3
_GRACE = 0.3  # once one query is answered, how long to wait for the other


class ZebraPrinter(PrinterBase[bytes]):
    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        if config.url is None:
            raise ValueError("ZebraPrinter needs a tcp:// url")
        self._url = config.url

    async def _encode(self, image: Image.Image) -> bytes:
        return await asyncio.to_thread(label_zpl, image, width=self._media.width)

    async def _send_one(self, payload: bytes, tag: str) -> Sent:
        timeout = self._config.timeout
        async with tcp_connection(self._url, device=self.name, wait=timeout) as (reader, writer):
            if self._config.check_status:
                status = await self._query(reader, writer)
                if status.faults:
                    raise self._fault(status.faults[0], ", ".join(f.value for f in status.faults))
            await send_bytes(writer, payload, wait=timeout)
        return Sent("sent", "ZPL over port 9100 does not confirm printing")

    async def _status(self) -> PrinterStatus:
        try:
            async with tcp_connection(self._url, device=self.name, wait=self._config.timeout) as (
                reader,
                writer,
            ):
                status = await self._query(reader, writer)
        except DeviceFault as fault:
            return PrinterStatus(faults=(PrinterFault(fault.message),), detail=fault.detail)
        return PrinterStatus(
            faults=status.faults,
            warnings=status.warnings,
            media=self._media.name,
            detail=", ".join(f.value for f in status.faults),
        )

    async def _query(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> ZebraStatus:
        """Send ``~HQES`` and ``~HS`` together and read what comes back in time.

        Older firmware ignores ``~HQES``; some firmware stays silent on ``~HS`` while
        out of media. Either answer is enough; neither is "unknown printer state".
        """
        await send_bytes(writer, STATUS_QUERY, wait=self._config.timeout)
        data = b""
        deadline = time.monotonic() + min(_STATUS_WAIT, self._config.timeout)
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), left)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            blocks = split_replies(data)
            has_hqes = any("ERRORS" in b for b in blocks)
            has_hs = sum(1 for b in blocks if "," in b) >= _HS_BLOCKS
            if has_hqes and has_hs:
                break
            if has_hqes or has_hs:  # the other one may never come; don't wait long for it
                deadline = min(deadline, time.monotonic() + _GRACE)
        status = parse_status(split_replies(data))
        if not status.answered:
            reply = data[:64].decode("ascii", "replace") if data else "no reply"
            raise self._fault(PrinterFault.UNKNOWN, f"status query: {reply!r}")
        return status
