"""The simulated printer: every label becomes a PNG in a folder.

The demo shows these files as "what would have printed"; tests make it fail on
demand to exercise the fault and retry path.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.printer._base import PrinterBase, Sent
from drivers.printer._config import PrinterConfig
from drivers.printer._types import PrinterFault, PrinterStatus

if TYPE_CHECKING:  # Pillow loads on the first print, not when the kiosk starts (idle RSS)
    from PIL import Image


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SimPrinter(PrinterBase["Image.Image"]):
    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        self._out_dir = config.out_dir
        self._fault_kind: PrinterFault | None = None
        self._fault_times: int | None = None
        self._seq = 0
        self.printed: list[Path] = []

    @property
    def out_dir(self) -> Path:
        return self._out_dir

    def set_fault(self, fault: PrinterFault | str | None, *, times: int | None = None) -> None:
        """Fail with ``fault`` (e.g. ``"no media"``) from now on, or for the next ``times`` tries.

        ``None`` clears it, like a worker loading a new roll.
        """
        self._fault_kind = PrinterFault.lookup(fault) if fault is not None else None
        self._fault_times = times

    def _take_fault(self) -> PrinterFault | None:
        fault = self._fault_kind
        if fault is not None and self._fault_times is not None:
            self._fault_times -= 1
            if self._fault_times <= 0:
                self._fault_kind = self._fault_times = None
        return fault

    async def _encode(self, image: Image.Image) -> Image.Image:
        return image

    async def _send_one(self, payload: Image.Image, tag: str) -> Sent:
        fault = self._take_fault()
        if fault is not None:
            raise self._fault(fault, "simulated")
        self._seq += 1
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self._out_dir / f"{stamp}-{self._seq:04d}-{_UNSAFE.sub('_', tag)}.png"
        try:
            await asyncio.to_thread(_save, payload, path)
        except OSError as exc:
            raise self._fault(PrinterFault.NOT_CONNECTED, f"cannot write {path}: {exc}") from exc
        self.printed.append(path)
        return Sent("printed", detail=str(path))

    async def _status(self) -> PrinterStatus:
        faults = (self._fault_kind,) if self._fault_kind is not None else ()
        return PrinterStatus(faults=faults, media=self._media.name, detail="simulated")


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
