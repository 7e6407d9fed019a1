"""Label printers: one interface, a simulator and two real drivers chosen by config.

>>> printer = create_printer(PrinterConfig(kind="sim", out_dir=Path("/tmp/labels")))
>>> result = await printer.print(PlantTag(uid="1A4...", strain="Blue Dream"))
>>> result.outcome, result.fault
('printed', None)

``print()`` and ``status()`` never raise for printer problems: a failed job comes
back as ``PrintResult(outcome="failed", fault=DeviceFault(...))`` after the
configured retries, a status as ``PrinterStatus(faults=...)``.
"""

from drivers.printer._brother import BrotherPrinter, brother_raster
from drivers.printer._config import PrinterConfig
from drivers.printer._factory import create_printer
from drivers.printer._sim import SimPrinter
from drivers.printer._types import (
    LabelPrinter,
    Outcome,
    PrinterFault,
    PrinterStatus,
    PrintJob,
    PrintResult,
)
from drivers.printer._zebra import ZebraPrinter
from drivers.printer._zpl import label_zpl

__all__ = [
    "BrotherPrinter",
    "LabelPrinter",
    "Outcome",
    "PrintJob",
    "PrintResult",
    "PrinterConfig",
    "PrinterFault",
    "PrinterStatus",
    "SimPrinter",
    "ZebraPrinter",
    "brother_raster",
    "create_printer",
    "label_zpl",
]
