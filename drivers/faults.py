"""The one exception type hardware code raises, worded for the floor.

Drivers map every library error (pyserial, evdev, brother_ql, sockets) to a
``DeviceFault`` here-style message in one place per driver, so the agent and the
screen never show a traceback or an errno to a worker.
"""

from __future__ import annotations


class DeviceFault(Exception):
    """A device problem a worker or IT person can act on.

    ``message`` is plain language for the screen ("printer out of labels");
    ``detail`` is the technical cause for logs and ``canopy doctor``.
    """

    def __init__(self, message: str, *, device: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.device = device
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.device}: {self.message}" + (f" ({self.detail})" if self.detail else "")
