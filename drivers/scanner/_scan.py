"""What every scanner hands out: the ``Scan`` record and the ``Scanner`` interface."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from drivers.faults import DeviceFault

#: Called on every change of connection state: ``(connected, fault)``. ``fault`` says why
#: a scanner went away or cannot be used; it is None when everything is fine.
StateCallback = Callable[[bool, DeviceFault | None], None]


@dataclass(frozen=True, slots=True)
class Scan:
    """One barcode read, exactly as the scanner sent it.

    ``text``: the barcode's characters with the terminator (suffix) and the AIM
    symbology prefix removed and nothing else changed: GS1 group separators stay
    as ``"\\x1d"``, case and spaces are untouched. Validation is the caller's job.

    ``raw``: for serial scanners, the exact bytes off the wire for this scan,
    prefix and terminator included. For HID (keyboard-wedge) scanners there are
    no bytes on the wire, only key presses: ``raw`` is the characters those key
    presses decoded to (prefix and terminator included, ``"\\r"`` for Enter,
    ``"\\t"`` for Tab, nothing when the scan ended by an idle pause), UTF-8 encoded.

    ``symbology``: the AIM identifier (``"]C0"``, ``"]d2"``, ``"]Q3"``...) when the
    scanner sent one, else None.

    ``at`` (UTC) and ``monotonic_ns`` are taken on this host when the scan ended
    (terminator or idle pause), not from device timestamps.

    ``device``: the stable path the scan came from (``/dev/input/by-id/...`` or
    ``/dev/serial/by-id/...``), or the simulated scanner's name.

    ``problem``: None for a clean read; otherwise a short plain-language note
    (unreadable bytes, keys the layout cannot map, missing AIM prefix, too long).
    A scan with a problem is still delivered so the worker gets feedback, but
    its ``text`` should not be trusted as an identifier.
    """

    text: str
    raw: bytes
    symbology: str | None
    at: datetime
    monotonic_ns: int
    device: str
    problem: str | None = None


class Scanner(Protocol):
    """A barcode scanner (or several of the same kind) as one stream of scans.

    Reading starts when ``scans()`` is first iterated. The iterator is long-lived:
    unplugging and replugging the device does not end it, only ``aclose()`` does.
    There is one iterator per scanner; meant for a single consumer.
    """

    name: str
    on_state: StateCallback | None

    @property
    def connected(self) -> bool:
        """True while at least one device is open and being read."""
        ...

    @property
    def fault(self) -> DeviceFault | None:
        """The most recent problem, cleared when the device is read again."""
        ...

    def scans(self) -> AsyncIterator[Scan]:
        """The one iterator of scans; it ends after ``aclose()``."""
        ...

    async def aclose(self) -> None:
        """Stop reading, release the devices and end ``scans()``. Idempotent."""
        ...
