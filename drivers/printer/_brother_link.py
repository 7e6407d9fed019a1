"""USB connections to a Brother QL through brother_ql's own backends.

brother_ql's ``read()`` is not bounded everywhere (the ``linux_kernel`` backend
ends with a blocking ``os.read`` when nothing arrived; pyusb raises on a read
timeout), so each link here waits with its own deadline and only calls the
backend's ``read()`` when data is there. All of this runs in a worker thread.
"""

from __future__ import annotations

import select
import time
from typing import Any, Protocol

from brother_ql.backends import backend_factory


class Link(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes:
        """What arrived within ``timeout`` seconds, or b""."""
        ...

    def close(self) -> None: ...


class KernelLink:
    """``/dev/usb/lpN`` (usblp), or anything else that is a file descriptor, e.g. a pty."""

    def __init__(self, identifier: str) -> None:
        cls = backend_factory("linux_kernel")["backend_class"]
        self._backend: Any = cls(identifier)
        self._fd: int = self._backend.read_dev

    def write(self, data: bytes) -> None:
        # A blocking write: usblp (and a pty) take it all or block; the caller
        # bounds the wait from the event loop and holds the device lock meanwhile.
        self._backend.write(data)

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            return b""
        data: bytes = self._backend.read(64)
        return data

    def close(self) -> None:
        self._backend.dispose()
        # The backend's __del__ disposes again, i.e. os.close() on the same number,
        # which by then may belong to another file. None makes that close a no-op.
        self._backend.dev = None


class PyUsbLink:
    """``usb://0x04f9:0xPPPP[/serial]`` through libusb."""

    def __init__(self, identifier: str) -> None:
        cls = backend_factory("pyusb")["backend_class"]
        self._backend: Any = cls(identifier)
        # pyusb reads block for the device's default timeout (1 s) when the printer
        # has nothing to say; poll in short steps so our own deadlines hold.
        self._backend.dev.default_timeout = 100  # ms

    def write(self, data: bytes) -> None:
        self._backend.write(data)

    def read(self, timeout: float) -> bytes:
        import usb.core

        deadline = time.monotonic() + timeout
        while True:
            try:
                data: bytes = self._backend.read(64)
            except usb.core.USBTimeoutError:
                data = b""
            if data or time.monotonic() >= deadline:
                return data
            time.sleep(0.005)

    def close(self) -> None:
        self._backend.dispose()


def open_link(backend: str, identifier: str) -> Link:
    if backend == "linux_kernel":
        return KernelLink(identifier)
    if backend == "pyusb":
        return PyUsbLink(identifier)
    raise ValueError(f"no USB link for backend {backend!r}")
