"""What all scanner kinds share: the scan queue, the one iterator, connection state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from drivers.faults import DeviceFault
from drivers.scanner._scan import Scan, StateCallback

log = logging.getLogger("drivers.scanner")

_CLOSED = object()
_RESTART_DELAY_S = 1.0


class _ScanStream:
    """The single long-lived iterator behind ``scans()``.

    A class rather than an async generator so that cancelling a consumer that waits
    in ``__anext__`` never loses a scan (it stays in the queue) and so the same
    object can be handed out again.
    """

    def __init__(self, owner: ScannerBase) -> None:
        self._owner = owner

    def __aiter__(self) -> _ScanStream:
        return self

    async def __anext__(self) -> Scan:
        self._owner._start()
        item = await self._owner._queue.get()
        if item is _CLOSED:
            self._owner._queue.put_nowait(_CLOSED)  # every later call ends too
            raise StopAsyncIteration
        assert isinstance(item, Scan)
        return item


class ScannerBase:
    """Base of the real and simulated scanners. Subclasses override ``_run()``."""

    def __init__(self, name: str, *, on_state: StateCallback | None = None) -> None:
        self.name = name
        self.on_state = on_state
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stream = _ScanStream(self)
        self._connected = False
        self._fault: DeviceFault | None = None
        self._reported: tuple[bool, str | None, str | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def fault(self) -> DeviceFault | None:
        return self._fault

    def scans(self) -> AsyncIterator[Scan]:
        return self._stream

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._release()
        self._set_state(False, None)
        self._queue.put_nowait(_CLOSED)

    # -- for subclasses -------------------------------------------------------

    async def _run(self) -> None:
        """Long-running device work (find, open, read, reopen). Cancelled by aclose()."""

    async def _release(self) -> None:
        """Free whatever ``_run`` holds after it was cancelled."""

    def _emit(self, scan: Scan) -> None:
        if self._closed:
            return
        self._queue.put_nowait(scan)

    def _set_state(self, connected: bool, fault: DeviceFault | None) -> None:
        """Record the state; tell ``on_state`` only when it really changed."""
        self._connected = connected
        self._fault = fault
        key = (connected, fault.message if fault else None, fault.device if fault else None)
        if key == self._reported:
            return
        self._reported = key
        if fault is not None:
            log.warning("%s: %s", self.name, fault)
        else:
            log.info("%s: %s", self.name, "connected" if connected else "disconnected")
        if self.on_state is not None:
            try:
                self.on_state(connected, fault)
            except Exception:  # a bad callback must not stop the scanner
                log.exception("%s: on_state callback failed", self.name)

    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"scanner:{self.name}")
            self._task.add_done_callback(self._run_ended)

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        # _run() handles every device error itself, so this is a bug. Keep the kiosk
        # scanning anyway: report it and start over shortly.
        exc = task.exception()
        log.error("%s: scanner task failed; restarting", self.name, exc_info=exc)
        self._set_state(
            False,
            DeviceFault(
                "scanner stopped working: unplug it and plug it back in",
                device=self.name,
                detail=repr(exc),
            ),
        )
        self._task = None
        asyncio.get_running_loop().call_later(_RESTART_DELAY_S, self._start)
