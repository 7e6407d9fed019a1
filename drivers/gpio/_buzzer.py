"""The buzzer: a short beep for a good scan, three for a bad one, long ones for attention."""

from __future__ import annotations

import threading
from collections import deque
from enum import StrEnum
from typing import Any, NamedTuple

import gpiozero

from drivers.gpio._config import GpioConfig
from drivers.gpio._errors import device_errors

DEVICE = "buzzer"
_HISTORY = 32


class BuzzPattern(StrEnum):
    GOOD = "good"  # one short beep
    BAD = "bad"  # three short beeps
    ATTENTION = "attention"  # two long beeps: look at the kiosk

    @property
    def beeps(self) -> int:
        return _TIMINGS[self].n

    @property
    def duration(self) -> float:
        """Seconds from start to silence (the last gap included)."""
        on_time, off_time, n = _TIMINGS[self]
        return n * (on_time + off_time)


class _Timing(NamedTuple):
    on_time: float
    off_time: float
    n: int


# Told apart by ear on a loud floor: count and length differ, not pitch (a plain
# active buzzer has one).
_TIMINGS = {
    BuzzPattern.GOOD: _Timing(0.08, 0.05, 1),
    BuzzPattern.BAD: _Timing(0.08, 0.08, 3),
    BuzzPattern.ATTENTION: _Timing(0.5, 0.25, 2),
}


class Buzzer:
    """Plays a ``BuzzPattern`` in gpiozero's background thread; returns at once.

    A new pattern cuts the one playing. Not fitted: only ``history`` records.
    """

    def __init__(self, device: Any | None) -> None:
        self._device = device
        self._lock = threading.Lock()
        self._history: deque[BuzzPattern] = deque(maxlen=_HISTORY)
        self._closed = False

    @property
    def fitted(self) -> bool:
        return self._device is not None

    @property
    def sounding(self) -> bool:
        """The buzzer pin is on at this instant."""
        with self._lock:
            return self._device is not None and not self._closed and bool(self._device.is_active)

    @property
    def history(self) -> tuple[BuzzPattern, ...]:
        """The last 32 patterns played, oldest first."""
        with self._lock:
            return tuple(self._history)

    def play(self, pattern: BuzzPattern) -> None:
        with self._lock:
            if self._closed:
                return
            self._history.append(pattern)
            if self._device is None:
                return
            on_time, off_time, n = _TIMINGS[pattern]
            with device_errors(DEVICE):
                self._device.beep(on_time, off_time, n=n, background=True)

    def silence(self) -> None:
        with self._lock:
            if self._device is None or self._closed:
                return
            with device_errors(DEVICE):
                self._device.off()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._device is not None:
                with device_errors(DEVICE):
                    self._device.off()
                    self._device.close()


def build_buzzer(config: GpioConfig, factory: Any) -> Buzzer:
    if config.buzzer is None:
        return Buzzer(None)
    with device_errors(DEVICE):
        device = gpiozero.Buzzer(
            config.buzzer,
            active_high=config.active_high,
            initial_value=False,
            pin_factory=factory,
        )
    return Buzzer(device)
