"""Test doubles for the evdev scanner that run evdev's *real* read machinery.

``FakeInputBus`` stands in for ``/dev/input/by-id``: ``plug()`` creates the by-id
file in a directory of your choice and ``bus.open`` is the device opener to give
``EvdevScanner``. Each opened device is a ``PipeInputDevice``: an
``evdev.eventio_async.EventIO`` over ``os.pipe()``, so ``async_read_loop()``,
``add_reader`` and the C ``device_read_many()`` are evdev's own code reading real
``struct input_event`` records (hardware.md 1.8). ``key_events()`` types text the
way a US-layout wedge scanner does (MSC_SCAN, key, SYN for every press and release).

Used by this repo's tests and meant for the agent's tests too; Linux only.

The fault messages and the pure parsers are public here too, so tests never
import private driver modules: ``ByteFramer`` / ``decode_payload`` (serial scanners), ``KeyDecoder``
(evdev key presses) and ``split_aim`` (AIM symbology prefix), with their problems.
``TYPABLE`` is every character ``key_events`` can type.
"""

from __future__ import annotations

import errno
import os
import select
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from evdev import DeviceInfo, InputEvent, ecodes
from evdev.eventio_async import EventIO

from drivers.scanner._evdev import looks_like_scanner
from drivers.scanner._faults import IN_USE, NO_PERMISSION, NONE_PLUGGED, NOT_WORKING, UNPLUGGED
from drivers.scanner._framing import MAX_SCAN_CHARS, NO_AIM_PROBLEM, TOO_LONG_PROBLEM, AimMode, split_aim
from drivers.scanner._keymap import (
    DROPPED_PROBLEM,
    KEYPAD_KEYS,
    TERMINATOR_KEYS,
    UNMAPPED_PROBLEM,
    US_KEYS,
    KeyDecoder,
    KeyFrame,
    control_char,
)
from drivers.scanner._serial import BAD_BYTES_PROBLEM, ByteFrame, ByteFramer, decode_payload

__all__ = [
    "BAD_BYTES_PROBLEM",
    "DROPPED_PROBLEM",
    "INPUT_EVENT",
    "IN_USE",
    "MAX_SCAN_CHARS",
    "NONE_PLUGGED",
    "NOT_WORKING",
    "NO_AIM_PROBLEM",
    "NO_PERMISSION",
    "TERMINATOR_KEYS",
    "TOO_LONG_PROBLEM",
    "TYPABLE",
    "UNMAPPED_PROBLEM",
    "UNPLUGGED",
    "AimMode",
    "ByteFrame",
    "ByteFramer",
    "FakeInputBus",
    "KeyDecoder",
    "KeyEvent",
    "KeyFrame",
    "PipeInputDevice",
    "PluggedDevice",
    "decode_payload",
    "key_events",
    "looks_like_scanner",
    "overflowed",
    "pack_events",
    "split_aim",
]

KeyEvent = tuple[int, int, int]  # (type, code, value)

#: ``struct input_event`` as laid out on *this* host (24 bytes on 64-bit, 16 on armhf).
INPUT_EVENT = struct.Struct("llHHi")
#: Largest write that a pipe delivers atomically, rounded down to whole events, so a
#: reader never sees half an event (evdev would silently drop the fraction).
_CHUNK = select.PIPE_BUF // INPUT_EVENT.size * INPUT_EVENT.size

_TYPABLE: dict[str, tuple[int, bool]] = {}
for _code, (_plain, _upper) in US_KEYS.items():
    _TYPABLE.setdefault(_plain, (_code, False))
    _TYPABLE.setdefault(_upper, (_code, True))
_KEYPAD_DIGITS = {char: code for code, char in KEYPAD_KEYS.items() if char.isdigit()}
_CONTROL: dict[str, tuple[int, bool]] = {}
for _char, (_code, _shift) in sorted(_TYPABLE.items()):
    _ctrl = control_char(_char)
    if _ctrl is not None and (_char.isupper() or not _char.isalpha()):
        _CONTROL.setdefault(_ctrl, (_code, _shift))

#: Every character a US-layout scanner can send through ``key_events`` (control
#: characters included, as Ctrl+key or Alt+keypad code).
TYPABLE = frozenset(_TYPABLE) | frozenset(_CONTROL)

_TERMINATORS = {"enter": ecodes.KEY_ENTER, "kp_enter": ecodes.KEY_KPENTER, "tab": ecodes.KEY_TAB}


def _tap(code: int) -> list[KeyEvent]:
    scan = (ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000 + code)  # like a USB HID usage
    syn = (ecodes.EV_SYN, ecodes.SYN_REPORT, 0)
    return [scan, (ecodes.EV_KEY, code, 1), syn, scan, (ecodes.EV_KEY, code, 0), syn]


def _down(code: int) -> list[KeyEvent]:
    return [(ecodes.EV_KEY, code, 1), (ecodes.EV_SYN, ecodes.SYN_REPORT, 0)]


def _up(code: int) -> list[KeyEvent]:
    return [(ecodes.EV_KEY, code, 0), (ecodes.EV_SYN, ecodes.SYN_REPORT, 0)]


def key_events(
    text: str,
    *,
    terminator: Literal["enter", "kp_enter", "tab"] | None = "enter",
    keypad_digits: bool = False,
    caps_lock: bool = False,
    control_chars: Literal["ctrl", "alt"] = "ctrl",
) -> list[KeyEvent]:
    """The events a US-layout wedge scanner sends for ``text`` plus ``terminator``.

    ``keypad_digits``: digits from the numeric keypad. ``caps_lock``: the scanner
    taps Caps Lock first and types letters with inverted shift (then taps it off).
    ``control_chars``: ASCII control characters as Ctrl+key (GS = Ctrl+]) or as
    Alt + keypad code (GS = Alt+0029).
    """
    events: list[KeyEvent] = []
    if caps_lock:
        events += _tap(ecodes.KEY_CAPSLOCK)
    for char in text:
        if keypad_digits and char in _KEYPAD_DIGITS:
            events += _tap(_KEYPAD_DIGITS[char])
        elif char in _CONTROL and char not in _TYPABLE:
            code, shift = _CONTROL[char]
            if control_chars == "alt":
                events += _down(ecodes.KEY_LEFTALT)
                for digit in f"{ord(char):04d}":
                    events += _tap(_KEYPAD_DIGITS[digit])
                events += _up(ecodes.KEY_LEFTALT)
            else:
                events += _down(ecodes.KEY_LEFTCTRL)
                events += _shifted(code, shift)
                events += _up(ecodes.KEY_LEFTCTRL)
        elif char in _TYPABLE:
            code, shift = _TYPABLE[char]
            if caps_lock and char.isalpha():
                shift = not shift
            events += _shifted(code, shift)
        else:
            raise ValueError(f"a US-layout scanner cannot type {char!r}")
    if caps_lock:
        events += _tap(ecodes.KEY_CAPSLOCK)
    if terminator is not None:
        events += _tap(_TERMINATORS[terminator])
    return events


def overflowed(newest: KeyEvent) -> list[KeyEvent]:
    """What a reader gets where the kernel's queue for it overflowed: the unread events
    are gone, replaced by SYN_DROPPED, then the newest event (linux drivers/input/evdev.c
    ``__pass_event``); Documentation/input/event-codes.rst says to skip to the next
    SYN_REPORT. Sent after the events read before the overflow, before those after it."""
    return [(ecodes.EV_SYN, ecodes.SYN_DROPPED, 0), newest]


def _shifted(code: int, shift: bool) -> list[KeyEvent]:
    if not shift:
        return _tap(code)
    return _down(ecodes.KEY_LEFTSHIFT) + _tap(code) + _up(ecodes.KEY_LEFTSHIFT)


def pack_events(events: list[KeyEvent]) -> bytes:
    """``struct input_event`` records with the current time, as the kernel writes them."""
    now = time.time()
    sec, usec = int(now), int(now % 1 * 1_000_000)
    return b"".join(INPUT_EVENT.pack(sec, usec, t, c, v) for t, c, v in events)


class PipeInputDevice(EventIO):
    """An input device whose event stream is the read end of a pipe.

    Only ``read()`` is adapted: end-of-file (the writer closed: "unplugged") becomes
    ``OSError(ENODEV)``, which is what a real device's read returns after unplug.
    """

    def __init__(
        self,
        path: str,
        *,
        name: str,
        vendor: int,
        product: int,
        fd: int,
        busy: bool = False,
        leds: tuple[int, ...] = (),
    ) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.path = path
        self.name = name
        self.info = DeviceInfo(bustype=ecodes.BUS_USB, vendor=vendor, product=product, version=1)
        self.busy = busy  # grab() fails with EBUSY, as when another program holds it
        self.grabbed = False
        self.grab_calls = 0
        self.closed = False
        self.led_state = set(leds)

    def read(self) -> Iterator[InputEvent]:
        batch = list(super().read())  # evdev's own read(): the C device_read_many()
        if not batch:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        yield from batch

    def grab(self) -> None:
        self.grab_calls += 1
        if self.busy or self.grabbed:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        self.grabbed = True

    def ungrab(self) -> None:
        if not self.grabbed:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        self.grabbed = False

    def leds(self) -> list[int]:
        return sorted(self.led_state)

    def set_led(self, led_num: int, value: int) -> None:
        if value:
            self.led_state.add(led_num)
        else:
            self.led_state.discard(led_num)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            super().close()  # removes evdev's add_reader registration
            os.close(self.fd)


class PluggedDevice:
    """One fake device on the bus: ``send()`` types into it, ``unplug()`` pulls it."""

    def __init__(
        self,
        bus: FakeInputBus,
        path: Path,
        *,
        name: str,
        vendor: int,
        product: int,
        busy: bool,
        leds: tuple[int, ...],
    ) -> None:
        self.bus = bus
        self.path = str(path)
        self.name, self.vendor, self.product = name, vendor, product
        self.busy = busy
        self.leds = leds
        self.opened: list[PipeInputDevice] = []
        self.open_errors: list[OSError] = []  # raised by the next open() calls, in order
        self.plugged = True
        self._write_fd = -1

    @property
    def device(self) -> PipeInputDevice | None:
        """The most recently opened handle, if any."""
        return self.opened[-1] if self.opened else None

    def open(self) -> PipeInputDevice:
        if not self.plugged:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), self.path)
        if self.open_errors:
            raise self.open_errors.pop(0)
        read_fd, write_fd = os.pipe()
        if self._write_fd >= 0:
            os.close(self._write_fd)  # the previous handle sees "unplugged"
        self._write_fd = write_fd
        device = PipeInputDevice(
            self.path,
            name=self.name,
            vendor=self.vendor,
            product=self.product,
            fd=read_fd,
            busy=self.busy,
            leds=self.leds,
        )
        self.opened.append(device)
        return device

    def send(self, events: list[KeyEvent]) -> None:
        """Write the events; blocks while the pipe is full (use a thread for big bursts)."""
        if self._write_fd < 0:
            raise RuntimeError(f"{self.path} is not open")
        data = pack_events(events)
        for start in range(0, len(data), _CHUNK):
            chunk = data[start : start + _CHUNK]
            written = os.write(self._write_fd, chunk)  # <= PIPE_BUF: all or nothing
            assert written == len(chunk)

    def unplug(self) -> None:
        """Remove the by-id name and end the stream (the reader gets ENODEV)."""
        self.plugged = False
        Path(self.path).unlink(missing_ok=True)
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1


class FakeInputBus:
    """A fake ``/dev/input/by-id`` directory plus the opener that goes with it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.devices: dict[str, PluggedDevice] = {}

    def plug(
        self,
        by_id_name: str,
        *,
        name: str = "Honeywell Imaging & Mobility 1900",
        vendor: int = 0x0C2E,
        product: int = 0x0B61,
        busy: bool = False,
        leds: tuple[int, ...] = (),
    ) -> PluggedDevice:
        path = self.directory / by_id_name
        path.touch()
        device = PluggedDevice(self, path, name=name, vendor=vendor, product=product, busy=busy, leds=leds)
        self.devices[str(path)] = device
        return device

    def open(self, path: str) -> PipeInputDevice:
        """The device opener: pass as ``EvdevScanner(..., opener=bus.open)``."""
        device = self.devices.get(path)
        if device is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return device.open()
