"""What every printer shares: turning a job into an image, one job at a time, retries.

A driver supplies three steps: ``_encode`` (image -> printer payload, once per
job), ``_send_one`` (one copy; raises ``DeviceFault`` when it did not print) and
``_status``. Retrying and the ``PrintResult`` bookkeeping live here only, so the
simulator exercises the same path as the real printers.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from drivers.faults import DeviceFault
from drivers.labels import LabelBase, LabelError, Media, render
from drivers.printer._config import PrinterConfig
from drivers.printer._types import (
    Outcome,
    PrinterFault,
    PrinterStatus,
    PrintJob,
    PrintResult,
    printer_fault,
)

if TYPE_CHECKING:  # Pillow loads on the first print, not when the kiosk starts (idle RSS)
    from PIL import Image


log = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Sent:
    """One copy handed over: ``printed`` if confirmed, ``sent`` if it cannot be."""

    outcome: Literal["printed", "sent"]
    detail: str = ""


class PrinterBase(ABC, Generic[P]):
    def __init__(self, config: PrinterConfig) -> None:
        self._config = config
        self._media = config.label_media()
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def media(self) -> Media:
        return self._media

    def _fault(self, fault: PrinterFault, detail: str = "") -> DeviceFault:
        return printer_fault(fault, device=self.name, detail=detail)

    def _image_for(self, job: PrintJob) -> Image.Image:
        if isinstance(job, LabelBase):
            return render(job, self._media)
        # A ready-made image must already be at the roll's dots: scaling would
        # smear the barcode, so a wrong size is refused rather than fixed.
        width, length = self._media.width, self._media.length
        if job.width != width or (length is not None and job.height != length):
            wanted = f"{width} x {length}" if length is not None else f"{width} wide"
            raise LabelError(f"image is {job.width} x {job.height} dots, the roll needs {wanted}")
        return job

    async def print(self, job: PrintJob, *, copies: int = 1) -> PrintResult:
        if copies < 1:
            raise ValueError(f"copies must be at least 1, got {copies}")
        if self._closed:
            raise RuntimeError(f"printer {self.name!r} is closed")
        tag = job.uid if isinstance(job, LabelBase) else "image"
        try:
            payload = await self._encode(self._image_for(job))
        except LabelError as exc:
            fault = self._fault(PrinterFault.BAD_LABEL, str(exc))
            log.warning("%s", fault)
            return PrintResult("failed", copies=0, attempts=0, fault=fault)
        async with self._lock:
            return await self._print_copies(payload, tag, copies)

    async def _print_copies(self, payload: P, tag: str, copies: int) -> PrintResult:
        done = attempts = 0
        outcome: Outcome = "printed"
        details: list[str] = []
        tries_left = self._config.retries
        while done < copies:
            attempts += 1
            try:
                sent = await self._send_one(payload, tag)
            except DeviceFault as fault:
                if tries_left == 0:
                    log.error("%s: gave up on %s after %d attempts", fault, tag, attempts)
                    return PrintResult("failed", copies=done, attempts=attempts, fault=fault)
                tries_left -= 1
                log.warning("%s: retrying %s in %.1f s", fault, tag, self._config.retry_delay)
                await asyncio.sleep(self._config.retry_delay)
                continue
            done += 1
            tries_left = self._config.retries  # each copy gets the full budget
            if sent.outcome == "sent":
                outcome = "sent"
            if sent.detail and sent.detail not in details:
                details.append(sent.detail)
        return PrintResult(outcome, copies=done, attempts=attempts, detail="; ".join(details))

    async def status(self) -> PrinterStatus:
        if self._closed:
            raise RuntimeError(f"printer {self.name!r} is closed")
        async with self._lock:
            return await self._status()

    async def aclose(self) -> None:
        self._closed = True

    async def __aenter__(self) -> PrinterBase[P]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @abstractmethod
    async def _encode(self, image: Image.Image) -> P: ...

    @abstractmethod
    async def _send_one(self, payload: P, tag: str) -> Sent: ...

    @abstractmethod
    async def _status(self) -> PrinterStatus: ...
