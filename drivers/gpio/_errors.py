"""The one place where gpiozero / pin-library / OS errors become words for the floor."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from gpiozero import BadPinFactory

from drivers.faults import DeviceFault

NOT_AVAILABLE = 'GPIO not available on this machine: set [gpio] kind = "sim"'
NO_PERMISSION = "GPIO not allowed for Canopy (permissions): call IT"
NOT_WORKING = "{device} not working: call IT"


def _walk(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def fault_from_error(
    exc: BaseException, *, device: str, note: str = "", starting_pins: bool = False
) -> DeviceFault:
    """Map a library error to a ``DeviceFault``; ``note`` is appended to the detail.

    ``starting_pins``: the error came from starting the pin library, where anything
    but a permission problem means this machine has no GPIO it can use (no Pi, no
    /dev/gpiochip, library missing).
    """
    chain = list(_walk(exc))
    if any(
        isinstance(e, PermissionError) or (isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM))
        for e in chain
    ):
        message = NO_PERMISSION
    elif starting_pins or any(isinstance(e, BadPinFactory) for e in chain):
        message = NOT_AVAILABLE
    else:
        message = NOT_WORKING.format(device=device)
    detail = f"{type(exc).__name__}: {exc}" + (f"; {note}" if note else "")
    return DeviceFault(message, device=device, detail=detail)


@contextmanager
def device_errors(device: str) -> Iterator[None]:
    """Re-raise anything but a ``DeviceFault`` as one, worded for ``device``."""
    try:
        yield
    except DeviceFault:
        raise
    except Exception as exc:
        raise fault_from_error(exc, device=device) from exc
