"""Pick the printer implementation from its config (gpiozero's pin-factory idea)."""

from __future__ import annotations

from drivers.printer._config import PrinterConfig
from drivers.printer._types import LabelPrinter


def create_printer(config: PrinterConfig) -> LabelPrinter:
    """A ``SimPrinter``, ``BrotherPrinter`` or ``ZebraPrinter`` for ``config.kind``.

    Nothing is opened here: every job connects, so a printer that is replugged
    or restarted between labels just works.
    """
    if config.kind == "brother":
        from drivers.printer._brother import BrotherPrinter

        return BrotherPrinter(config)
    if config.kind == "zebra":
        from drivers.printer._zebra import ZebraPrinter

        return ZebraPrinter(config)
    from drivers.printer._sim import SimPrinter

    return SimPrinter(config)
