"""Label printers: one interface, a simulator and two real drivers chosen by config.

>>> printer = create_printer(PrinterConfig(kind="sim", out_dir=Path("/tmp/labels")))
>>> result = await printer.print(PlantTag(uid="1A4...", strain="Blue Dream"))
>>> result.outcome, result.fault
('printed', None)

``print()`` and ``status()`` never raise for printer problems: a failed job comes
back as ``PrintResult(outcome="failed", fault=DeviceFault(...))`` after the
configured retries, a status as ``PrinterStatus(faults=...)``.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from drivers.printer._brother import BrotherPrinter, brother_raster

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


def __getattr__(name: str) -> Any:
    # brother_ql (and what it pulls in) loads only where a Brother is configured:
    # a kiosk with a Zebra or the simulator keeps a few MB of RAM for itself.
    if name in ("BrotherPrinter", "brother_raster"):
        from drivers.printer import _brother

        return getattr(_brother, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
