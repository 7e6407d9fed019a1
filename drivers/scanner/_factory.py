"""Pick the scanner implementation the config names (the gpiozero pin-factory idea)."""

from __future__ import annotations

from drivers.scanner._config import ScannerConfig
from drivers.scanner._scan import Scanner, StateCallback
from drivers.scanner._serial import SerialScanner
from drivers.scanner._sim import SimScanner


def open_scanner(
    config: ScannerConfig, *, name: str = "scanner", on_state: StateCallback | None = None
) -> Scanner:
    """Build the scanner ``config.kind`` asks for. Nothing is opened until ``scans()``
    is first iterated; from then on it finds, opens and reopens the device itself.
    """
    if config.kind == "evdev":
        # Imported here: evdev exists only on Linux, the simulator runs anywhere.
        from drivers.scanner._evdev import EvdevScanner

        return EvdevScanner(config.evdev, name=name, aim=config.aim, on_state=on_state)
    if config.kind == "serial":
        return SerialScanner(config.serial, name=name, aim=config.aim, on_state=on_state)
    return SimScanner(name=name, aim=config.aim, on_state=on_state)
