"""Barcode scanners: HID keyboard-wedge (evdev), USB-serial, and a simulator.

    scanner = open_scanner(config.scanner, name="bench-1", on_state=show_status)
    async for scan in scanner.scans():          # survives unplug / replug
        handle(scan.text, scan.symbology)
    ...
    await scanner.aclose()

``scan.text`` is exactly what the barcode holds (no terminator, no AIM prefix,
GS1 separators as "\\x1d"); validating it (e.g. a 24-character Metrc UID) is the
caller's job. Device problems arrive through ``on_state(connected, fault)`` as
``drivers.faults.DeviceFault``; a scan that was read but is doubtful carries
``scan.problem``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drivers.scanner._config import EvdevOptions, ScannerConfig, SerialOptions
from drivers.scanner._factory import open_scanner
from drivers.scanner._scan import Scan, Scanner, StateCallback
from drivers.scanner._serial import SerialScanner
from drivers.scanner._sim import SimScanner

if TYPE_CHECKING:
    from drivers.scanner._evdev import EvdevScanner

__all__ = [
    "EvdevOptions",
    "EvdevScanner",
    "Scan",
    "Scanner",
    "ScannerConfig",
    "SerialOptions",
    "SerialScanner",
    "SimScanner",
    "StateCallback",
    "open_scanner",
]


def __getattr__(name: str) -> Any:
    # evdev only exists on Linux; import it when the evdev scanner is asked for.
    if name == "EvdevScanner":
        from drivers.scanner._evdev import EvdevScanner

        return EvdevScanner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
