"""HID keyboard-wedge scanners through evdev: find, grab, read, survive replugging.

One watcher task polls ``device_glob`` (stable ``/dev/input/by-id`` names) and
starts one reader task per scanner. Each reader holds ONE long-lived
``async_read_loop()`` iterator for the device's whole life: starting a new
iterator per scan drops the rest of the 64-event batch the old one had read
(hardware.md 1.4, a silently truncated barcode).

Unplugging makes the pending read fail with OSError (ENODEV). The reader then
discards the unfinished scan (it is never merged with the next one and never
delivered half; the fault's detail says how many characters were lost),
releases the device, and the watcher picks the scanner up again when its by-id
name reappears.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import evdev
from evdev import ecodes

from drivers.faults import DeviceFault
from drivers.scanner._base import ScannerBase
from drivers.scanner._config import EvdevOptions
from drivers.scanner._faults import NONE_PLUGGED, UNPLUGGED, fault_from_error
from drivers.scanner._framing import AimMode, make_scan
from drivers.scanner._idle import IdleTimer, fd_has_input
from drivers.scanner._keymap import TERMINATOR_KEYS, KeyDecoder, KeyFrame
from drivers.scanner._scan import StateCallback

log = logging.getLogger("drivers.scanner")


class DeviceIds(Protocol):
    @property
    def vendor(self) -> int: ...
    @property
    def product(self) -> int: ...


class InputDeviceLike(Protocol):
    """The part of ``evdev.InputDevice`` the scanner uses (a seam for tests)."""

    @property
    def name(self) -> str: ...
    @property
    def info(self) -> DeviceIds: ...
    def fileno(self) -> int: ...
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...
    def leds(self) -> list[int]: ...
    def set_led(self, led_num: int, value: int) -> None: ...
    def async_read_loop(self) -> AsyncIterator[evdev.InputEvent]: ...


DeviceOpener = Callable[[str], InputDeviceLike]


def open_input_device(path: str) -> InputDeviceLike:
    """The real opener: ``evdev.InputDevice`` (read-write, so the Caps Lock LED can be set)."""
    device: InputDeviceLike = evdev.InputDevice(path)
    return device


def looks_like_scanner(options: EvdevOptions, *, path: str, name: str, vendor: int, product: int) -> bool:
    """Decide whether a device matching ``device_glob`` may be grabbed (hardware.md 1.2).

    Grabbing a real keyboard would make it dead for the kiosk, so the glob alone
    is not enough unless ``trust_glob`` says so: the USB id must be on the
    allowlist or the device / by-id name must look like a scanner.
    """
    if options.trust_glob:
        return True
    if f"{vendor:04x}" in options.usb_ids or f"{vendor:04x}:{product:04x}" in options.usb_ids:
        return True
    pattern = re.compile(options.name_pattern)
    return bool(pattern.search(name) or pattern.search(os.path.basename(path)))


class EvdevScanner(ScannerBase):
    """Every scanner matching the config, as one stream; ``Scan.device`` tells them apart."""

    def __init__(
        self,
        options: EvdevOptions,
        *,
        name: str = "scanner",
        aim: AimMode = "auto",
        on_state: StateCallback | None = None,
        opener: DeviceOpener = open_input_device,
    ) -> None:
        super().__init__(name, on_state=on_state)
        self.options = options
        self._aim: AimMode = aim
        self._opener = opener
        self._terminators = frozenset(TERMINATOR_KEYS[t] for t in options.terminators)
        self._readers: dict[str, asyncio.Task[None]] = {}  # by-id path -> reader task
        self._nodes: dict[str, str] = {}  # by-id path -> /dev/input/eventN it points to
        self._ignored: dict[str, str] = {}  # not-a-scanner paths -> node when judged
        self._failures: dict[str, int] = {}  # path -> failed open/grab attempts in a row

    async def _run(self) -> None:
        while True:
            self._poll()
            await asyncio.sleep(self.options.poll_ms / 1000)

    async def _release(self) -> None:
        readers = list(self._readers.values())
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    # -- finding devices --------------------------------------------------------

    def _poll(self) -> None:
        paths = sorted(glob.glob(self.options.device_glob))
        for path in paths:
            if path in self._readers:
                continue
            node = os.path.realpath(path)
            if self._ignored.get(path) == node or node in self._nodes.values():
                continue  # judged before, or the same device under another name
            self._attach(path, node)
        # A path that vanished is judged afresh if it comes back (maybe another device).
        for path in set(self._ignored) - set(paths):
            del self._ignored[path]
        for path in set(self._failures) - set(paths):
            del self._failures[path]
        if not self._readers and self.fault is None:
            self._set_state(
                False, DeviceFault(NONE_PLUGGED, device=self.options.device_glob, detail="no scanner matches")
            )

    def _attach(self, path: str, node: str) -> None:
        try:
            device = self._opener(path)
        except OSError as exc:  # vanished between glob and open, or permissions
            self._attach_failed(path, exc)
            return
        try:
            ids = device.info
            if not looks_like_scanner(
                self.options, path=path, name=device.name, vendor=ids.vendor, product=ids.product
            ):
                log.info(
                    "%s: not grabbing %s (%r, %04x:%04x): not a configured scanner",
                    self.name,
                    path,
                    device.name,
                    ids.vendor,
                    ids.product,
                )
                self._ignored[path] = node
                device.close()
                return
            device.grab()  # nobody else (the kiosk browser) sees the keystrokes now
        except OSError as exc:  # EBUSY: someone else holds the grab
            with contextlib.suppress(OSError):
                device.close()
            self._attach_failed(path, exc)
            return
        self._failures.pop(path, None)
        _caps_lock_led_off(device)
        self._nodes[path] = node
        self._readers[path] = asyncio.get_running_loop().create_task(
            self._read(path, device), name=f"scanner:{path}"
        )
        log.info("%s: reading %s (%r)", self.name, path, device.name)
        self._set_state(True, None)

    def _attach_failed(self, path: str, exc: OSError) -> None:
        """Report a failed open/grab, except the first one after a device appears:
        udev creates the by-id link before it has set the node's permissions
        (hardware.md 1.9), and the next poll usually succeeds."""
        self._failures[path] = self._failures.get(path, 0) + 1
        if self._failures[path] > 1:
            self._set_state(bool(self._readers), fault_from_error(exc, device=path))
        else:
            log.debug("%s: opening %s failed, will retry: %s", self.name, path, exc)

    # -- reading one device -------------------------------------------------------

    async def _read(self, path: str, device: InputDeviceLike) -> None:
        decoder = KeyDecoder(self._terminators)
        fd = device.fileno()

        def idle_flush() -> None:
            frame = decoder.flush()
            if frame is not None:
                self._deliver(path, frame)

        timer = IdleTimer(self.options.idle_flush_ms / 1000, idle_flush, busy=lambda: fd_has_input(fd))
        fault: DeviceFault | None = None
        try:
            async for event in device.async_read_loop():
                frame = decoder.feed(event.type, event.code, event.value)
                if frame is not None:
                    self._deliver(path, frame)
                if decoder.pending:
                    timer.touch()
            fault = DeviceFault(UNPLUGGED, device=path, detail="read loop ended")
        except Exception as exc:  # ENODEV on unplug; anything else: release and retry
            fault = fault_from_error(exc, device=path, note=_lost(decoder.discard()))
        finally:
            timer.cancel()
            self._readers.pop(path, None)
            self._nodes.pop(path, None)
            with contextlib.suppress(OSError):
                device.ungrab()  # fails with ENODEV after unplug; the kernel let go anyway
            with contextlib.suppress(OSError):
                device.close()
        self._set_state(bool(self._readers), fault)

    def _deliver(self, path: str, frame: KeyFrame) -> None:
        raw = (frame.chars + frame.terminator).encode("utf-8")
        self._emit(make_scan(frame.chars, raw=raw, aim=self._aim, device=path, problem=frame.problem))


def _lost(partial: str) -> str:
    return f"unfinished scan of {len(partial)} characters discarded" if partial else ""


def _caps_lock_led_off(device: InputDeviceLike) -> None:
    """Start with Caps Lock off, as the decoder assumes.

    Scanners that "follow the host's Caps Lock" read this LED and change their
    shifting to match; a grabbed device's LED is whatever was left on it.
    """
    with contextlib.suppress(OSError, evdev.EvdevError):
        if ecodes.LED_CAPSL in device.leds():
            device.set_led(ecodes.LED_CAPSL, 0)
