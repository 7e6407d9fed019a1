"""The simulated scanner: the demo's and the agent tests' stand-in for real hardware."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from drivers.faults import DeviceFault
from drivers.scanner._base import ScannerBase
from drivers.scanner._faults import UNPLUGGED
from drivers.scanner._framing import AimMode, is_aim_id, make_scan
from drivers.scanner._scan import StateCallback

log = logging.getLogger("drivers.scanner")


class SimScanner(ScannerBase):
    """Behaves like a serial scanner with a CR suffix; you "scan" with ``feed()``.

    The fed text runs through the same framing as real scans (AIM handling per the
    config), and scans come out of the same ``scans()`` iterator. While unplugged,
    fed scans are dropped, as a real unplugged scanner would read nothing.
    """

    def __init__(
        self,
        *,
        name: str = "sim-scanner",
        aim: AimMode = "auto",
        on_state: StateCallback | None = None,
    ) -> None:
        super().__init__(name, on_state=on_state)
        self._aim: AimMode = aim
        self._connected = True
        self._loop: asyncio.AbstractEventLoop | None = None
        with contextlib.suppress(RuntimeError):  # made outside a loop: see feed() / _run()
            self._loop = asyncio.get_running_loop()

    def feed(self, text: str, symbology: str | None = None) -> None:
        """Scan ``text`` now. Call from the event loop's thread.

        ``symbology`` is the AIM ID the scanner would prefix (``"]C0"``); ``text`` may
        hold any characters, including ``"\\x1d"`` for GS1 separators.
        """
        if symbology is not None and not is_aim_id(symbology):
            raise ValueError(f"not an AIM symbology identifier: {symbology!r}")
        self._loop = asyncio.get_running_loop()
        if self._closed:
            return
        if not self._connected:
            log.info("%s: unplugged, scan %r dropped", self.name, text)
            return
        payload = (symbology or "") + text
        self._emit(make_scan(payload, raw=(payload + "\r").encode("utf-8"), aim=self._aim, device=self.name))

    def feed_threadsafe(self, text: str, symbology: str | None = None) -> None:
        """``feed()`` from any thread (e.g. a console or test helper thread)."""
        if symbology is not None and not is_aim_id(symbology):
            raise ValueError(f"not an AIM symbology identifier: {symbology!r}")
        if self._loop is None:
            raise RuntimeError("feed_threadsafe() before the scanner was used on an event loop")
        self._loop.call_soon_threadsafe(self.feed, text, symbology)

    def unplug(self) -> None:
        """Simulate pulling the cable: ``on_state(False, fault)``, scans dropped."""
        self._set_state(False, DeviceFault(UNPLUGGED, device=self.name, detail="simulated"))

    def replug(self) -> None:
        """Simulate plugging it back in: ``on_state(True, None)``."""
        if not self._closed:
            self._set_state(True, None)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
