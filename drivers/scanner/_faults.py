"""The one place where evdev / pyserial / OS errors become words for the floor."""

from __future__ import annotations

import errno

from drivers.faults import DeviceFault

UNPLUGGED = "scanner unplugged: plug it back in"
NONE_PLUGGED = "no scanner plugged in"
IN_USE = "scanner is used by another program: call IT"
NO_PERMISSION = "scanner not allowed for Canopy (permissions): call IT"
NOT_WORKING = "scanner not working: unplug it and plug it back in"

# Errors that mean the device is gone. pyserial raises SerialException with no errno
# for "readiness to read but returned no data" and "read failed: [Errno 5] ...".
_GONE = {errno.ENODEV, errno.ENOENT, errno.ENXIO, errno.EIO, errno.EBADF, None}


def fault_from_error(exc: BaseException, *, device: str, note: str = "") -> DeviceFault:
    """Map a library error to a ``DeviceFault``; ``note`` is appended to the detail."""
    code = exc.errno if isinstance(exc, OSError) else -1
    if code in (errno.EACCES, errno.EPERM):
        message = NO_PERMISSION
    elif code in (errno.EBUSY, errno.EAGAIN):  # EAGAIN: pyserial exclusive lock held
        message = IN_USE
    elif code in _GONE:
        message = UNPLUGGED
    else:
        message = NOT_WORKING
    detail = f"{type(exc).__name__}: {exc}" + (f"; {note}" if note else "")
    return DeviceFault(message, device=device, detail=detail)
