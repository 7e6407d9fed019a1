"""A re-armable "no input for N ms" timer, shared by the HID and serial framers."""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable


def fd_has_input(fd: int) -> bool:
    """True if ``fd`` has unread input (or EOF/hang-up) waiting."""
    try:
        readable, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):  # fd already closed: nothing more will come
        return False
    return bool(readable)


class IdleTimer:
    """Calls ``on_idle`` once input has been quiet for ``delay_s`` after ``touch()``.

    Arms one timer handle at a time instead of one per key. Before flushing it asks
    ``busy()``: if the device still has unread input, the event loop was merely
    late (a stall) and the rest of the scan is waiting, so it waits again rather
    than cut a scan in two.
    """

    def __init__(
        self,
        delay_s: float,
        on_idle: Callable[[], None],
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self._delay = delay_s
        self._on_idle = on_idle
        self._busy = busy
        self._last = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def touch(self) -> None:
        """Input just arrived; (re)start the quiet period."""
        if self._delay <= 0:
            return
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        if self._handle is None:
            self._handle = loop.call_at(self._last + self._delay, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._last + self._delay
        if loop.time() < due:
            self._handle = loop.call_at(due, self._fire)
            return
        if self._busy():
            self._handle = loop.call_at(loop.time() + self._delay, self._fire)
            return
        self._handle = None
        self._on_idle()
