"""The printer interface and the values it returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from drivers.faults import DeviceFault
from drivers.labels import LabelBase, Media

if TYPE_CHECKING:  # Pillow loads on the first print, not when the kiosk starts (idle RSS)
    from PIL import Image


class PrinterFault(StrEnum):
    """Every printer problem, in the words the screen shows.

    Brother status frames and Zebra ``~HQES``/``~HS`` flags both map onto these, so
    the agent handles one vocabulary. ``PrinterFault(fault.message)`` turns a
    ``DeviceFault`` from a printer back into its kind.
    """

    NO_MEDIA = "printer out of labels"
    END_OF_MEDIA = "label roll used up"
    WRONG_MEDIA = "wrong label roll loaded"
    COVER_OPEN = "printer cover open"
    CUTTER_JAM = "label cutter jammed"
    FEED_ERROR = "labels not feeding"
    OVERHEATED = "printer too hot, wait for it to cool"
    RIBBON_OUT = "printer ribbon out"
    PAUSED = "printer paused"
    BUSY = "printer busy"
    SWITCHED_OFF = "printer switched off"
    NOT_CONNECTED = "printer not connected"
    COMMUNICATION = "printer communication error"
    HARDWARE = "printer hardware error"
    UNKNOWN = "unknown printer state"
    BAD_LABEL = "label does not fit this roll"

    @classmethod
    def lookup(cls, key: PrinterFault | str) -> PrinterFault:
        """Accept the enum, its name (``"NO_MEDIA"``, ``"no media"``) or its message."""
        if isinstance(key, PrinterFault):
            return key
        try:
            return cls(key)
        except ValueError:
            pass
        name = key.strip().upper().replace(" ", "_").replace("-", "_")
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown printer fault {key!r}") from None


def printer_fault(fault: PrinterFault, *, device: str, detail: str = "") -> DeviceFault:
    return DeviceFault(fault.value, device=device, detail=detail)


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself.

    ``confirmed`` is False when the connection cannot read status at all (a
    networked Brother on port 9100): then "no faults" means "don't know".
    """

    faults: tuple[PrinterFault, ...] = ()
    warnings: tuple[str, ...] = ()
    media: str | None = None  # the loaded roll as the printer reports it
    confirmed: bool = True
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.confirmed and not self.faults

    @property
    def message(self) -> str:
        if self.faults:
            return self.faults[0].value
        return "ready" if self.confirmed else "printer status not available"


Outcome: TypeAlias = Literal["printed", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class PrintResult:
    """How a print job ended.

    - ``printed``: the printer confirmed every copy.
    - ``sent``: every copy was handed over but the printer cannot confirm (network).
    - ``failed``: ``fault`` says why, after the configured retries; ``copies`` is
      how many were done before that.
    """

    outcome: Outcome
    copies: int
    attempts: int
    fault: DeviceFault | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


PrintJob: TypeAlias = "Image.Image | LabelBase"  # any label kind, or a ready image


class LabelPrinter(Protocol):
    """One label printer. Implementations: sim, Brother QL, Zebra ZPL."""

    @property
    def name(self) -> str: ...

    @property
    def media(self) -> Media: ...

    async def print(self, job: PrintJob, *, copies: int = 1) -> PrintResult:
        """Render (if given a label) and print; never raises for printer problems."""
        ...

    async def status(self) -> PrinterStatus:
        """Ask the printer; never raises for printer problems."""
        ...

    async def aclose(self) -> None: ...
