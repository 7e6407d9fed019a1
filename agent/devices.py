"""The hardware one kiosk drives, as the agent wired it (real drivers or their simulated twins)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.gpio import Gpio
from drivers.printer import LabelPrinter
from drivers.scale import Scale
from drivers.scanner import Scanner


@dataclass(frozen=True)
class Devices:
    scanner: Scanner
    scale: Scale
    printer: LabelPrinter
    gpio: Gpio
