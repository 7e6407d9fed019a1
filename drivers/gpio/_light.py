"""The tower light: one colour per kiosk state, and short flashes for scans."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import gpiozero

from drivers.faults import DeviceFault
from drivers.gpio._config import GpioConfig
from drivers.gpio._errors import device_errors

log = logging.getLogger(__name__)

DEVICE = "tower light"
_HISTORY = 32


class KioskLight(StrEnum):
    """What the kiosk wants the floor to see from across the room."""

    OFF = "off"  # at start-up and after close
    ONLINE = "online"  # green: every event has reached the central bridge
    BUFFERING = "buffering"  # amber: offline, or events saved here and not yet sent
    FAULT = "fault"  # red, blinking: someone has to look at the kiosk


class Flash(StrEnum):
    """A short signal over the state, for one scan."""

    GOOD = "good"
    BAD = "bad"


class Lamp(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True, slots=True)
class Appearance:
    """What the light shows right now: one lamp (or none), steady or blinking."""

    lamp: Lamp | None = None
    blinking: bool = False


@dataclass(frozen=True, slots=True)
class _Signal:
    lamp: Lamp | None
    blink: tuple[float, float] | None = None  # (on, off) seconds; None = steady
    count: int | None = None  # blinks, then dark; None = until changed

    @property
    def appearance(self) -> Appearance:
        return Appearance(self.lamp, self.blink is not None)

    @property
    def duration(self) -> float:
        assert self.blink is not None
        assert self.count is not None
        return self.count * sum(self.blink)


_STATES = {
    KioskLight.OFF: _Signal(None),
    KioskLight.ONLINE: _Signal(Lamp.GREEN),
    KioskLight.BUFFERING: _Signal(Lamp.AMBER),
    KioskLight.FAULT: _Signal(Lamp.RED, blink=(0.5, 0.5)),
}
# Quick enough to be over before the next scan, distinct from FAULT's slow blink.
_FLASHES = {
    Flash.GOOD: _Signal(Lamp.GREEN, blink=(0.15, 0.1), count=2),
    Flash.BAD: _Signal(Lamp.RED, blink=(0.15, 0.1), count=3),
}


class _Lamps(Protocol):
    def show(self, signal: _Signal) -> None: ...
    def close(self) -> None: ...


class _StackLamps:
    """A lamp per colour, at most one lit. Unfitted colours stay dark."""

    def __init__(self, pins: dict[Lamp, int], *, active_high: bool, factory: Any) -> None:
        self._leds: dict[Lamp, Any] = {}
        try:
            for lamp, pin in pins.items():
                self._leds[lamp] = gpiozero.LED(
                    pin, active_high=active_high, initial_value=False, pin_factory=factory
                )
        except BaseException:
            self.close()
            raise

    def show(self, signal: _Signal) -> None:
        # Others off first: a tower never shows two colours, not even for a moment.
        for lamp, led in self._leds.items():
            if lamp is not signal.lamp:
                led.off()
        led = self._leds.get(signal.lamp) if signal.lamp is not None else None
        if led is None:
            return
        if signal.blink is None:
            led.on()
        else:
            on_time, off_time = signal.blink
            led.blink(on_time, off_time, n=signal.count, background=True)

    def close(self) -> None:
        for led in self._leds.values():
            led.off()
            led.close()
        self._leds.clear()


# PWM mixes amber; green at 40 % because an LED's green looks brightest.
_RGB = {
    Lamp.GREEN: (0.0, 1.0, 0.0),
    Lamp.AMBER: (1.0, 0.4, 0.0),
    Lamp.RED: (1.0, 0.0, 0.0),
}


class _RgbLamp:
    """One RGB lamp showing the colour of the lamp it stands in for."""

    def __init__(self, red: int, green: int, blue: int, *, active_high: bool, factory: Any) -> None:
        self._led: Any = gpiozero.RGBLED(
            red, green, blue, active_high=active_high, pwm=True, pin_factory=factory
        )

    def show(self, signal: _Signal) -> None:
        if signal.lamp is None:
            self._led.off()
            return
        colour = _RGB[signal.lamp]
        if signal.blink is None:
            self._led.color = colour
        else:
            on_time, off_time = signal.blink
            self._led.blink(on_time, off_time, on_color=colour, n=signal.count, background=True)

    def close(self) -> None:
        self._led.off()
        self._led.close()


class TowerLight:
    """Shows a ``KioskLight`` state; ``flash_good`` / ``flash_bad`` return to it after.

    Every method returns at once (gpiozero blinks in its own threads) and may be
    called from any thread. With no lamp fitted the calls only update ``state``.
    """

    def __init__(self, lamps: _Lamps, *, fitted: bool) -> None:
        self._lamps = lamps
        self._fitted = fitted
        self._lock = threading.RLock()
        self._state = KioskLight.OFF
        self._showing = _STATES[KioskLight.OFF]
        self._flash_id = 0
        self._flash_timer: threading.Timer | None = None
        self._history: deque[KioskLight | Flash] = deque(maxlen=_HISTORY)
        self._closed = False

    @property
    def fitted(self) -> bool:
        return self._fitted

    @property
    def state(self) -> KioskLight:
        """The last state shown, also while a flash is on."""
        return self._state

    @property
    def appearance(self) -> Appearance:
        """What is lit at this moment (a flash included)."""
        with self._lock:  # not half-way through a change
            return self._showing.appearance

    @property
    def flashing(self) -> bool:
        """A flash is on; once False, the state is back on the lamps."""
        with self._lock:
            return self._flash_timer is not None

    @property
    def history(self) -> tuple[KioskLight | Flash, ...]:
        """The last 32 state changes and flashes, oldest first."""
        with self._lock:
            return tuple(self._history)

    def show(self, state: KioskLight) -> None:
        """Show ``state``; the same state again changes nothing (a blink keeps its rhythm)."""
        with self._lock:
            if self._closed or state is self._state:
                return
            self._state = state
            self._history.append(state)
            if self._flash_timer is None:  # else the flash's end shows it
                self._apply(_STATES[state])

    def flash_good(self) -> None:
        """Two quick green blinks, then back to the state."""
        self._flash(Flash.GOOD)

    def flash_bad(self) -> None:
        """Three quick red blinks, then back to the state."""
        self._flash(Flash.BAD)

    def close(self) -> None:
        """Lamps off and pins released. Later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cancel_flash()
            self._showing = _STATES[KioskLight.OFF]
            with device_errors(DEVICE):
                self._lamps.close()

    def _flash(self, flash: Flash) -> None:
        with self._lock:
            if self._closed:
                return
            self._history.append(flash)
            self._cancel_flash()  # a new flash replaces one still running
            signal = _FLASHES[flash]
            self._apply(signal)
            timer = threading.Timer(signal.duration, self._end_flash, args=(self._flash_id,))
            timer.daemon = True
            timer.name = f"canopy-{DEVICE}-flash"
            self._flash_timer = timer
            timer.start()

    def _cancel_flash(self) -> None:
        # The id, not Timer.cancel(), is what counts: a timer that already fired may
        # be waiting for the lock right now.
        self._flash_id += 1
        if self._flash_timer is not None:
            self._flash_timer.cancel()
            self._flash_timer = None

    def _end_flash(self, flash_id: int) -> None:
        with self._lock:
            if self._closed or flash_id != self._flash_id:
                return
            self._flash_timer = None
            try:
                self._apply(_STATES[self._state])
            except DeviceFault as fault:  # a timer thread has nobody to raise to
                log.error("%s", fault)

    def _apply(self, signal: _Signal) -> None:
        self._showing = signal
        log.debug("%s: %s", DEVICE, signal)
        with device_errors(DEVICE):
            self._lamps.show(signal)


def build_tower_light(config: GpioConfig, factory: Any) -> TowerLight:
    pins = config.fitted()
    with device_errors(DEVICE):
        if config.light == "rgb" and "blue" in pins:
            lamps: _Lamps = _RgbLamp(
                pins["red"],
                pins["green"],
                pins["blue"],
                active_high=config.active_high,
                factory=factory,
            )
        else:
            stack = {lamp: pins[lamp.value] for lamp in Lamp if lamp.value in pins}
            lamps = _StackLamps(stack, active_high=config.active_high, factory=factory)
    fitted = any(name in pins for name in ("green", "amber", "red", "blue"))
    return TowerLight(lamps, fitted=fitted)
