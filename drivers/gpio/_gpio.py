"""The facade the agent holds: tower light, buzzer and pedal, real or simulated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from drivers.gpio._buzzer import Buzzer, build_buzzer
from drivers.gpio._config import GpioConfig
from drivers.gpio._light import TowerLight, build_tower_light
from drivers.gpio._pedal import Pedal, build_pedal
from drivers.gpio._pin_factory import hardware_pin_factory, mock_pin_factory

log = logging.getLogger(__name__)

PinName = Literal["green", "amber", "red", "blue", "buzzer", "pedal"]

#: How long the sim's foot waits for the pedal to register beyond its own timings.
_FOOT_SLACK = 5.0


class Gpio(Protocol):
    """What the agent uses. Devices that are not fitted accept every call and do nothing."""

    @property
    def light(self) -> TowerLight: ...
    @property
    def buzzer(self) -> Buzzer: ...
    @property
    def pedal(self) -> Pedal: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class GpiozeroGpio:
    """The devices on a gpiozero pin factory. Also a context manager."""

    def __init__(
        self,
        config: GpioConfig,
        loop: asyncio.AbstractEventLoop,
        *,
        pin_factory: Any,
        owns_factory: bool,
    ) -> None:
        self.config = config
        self.pin_factory = pin_factory
        self._owns_factory = owns_factory
        self._closed = False
        with contextlib.ExitStack() as undo:  # a device that fails releases the others
            if owns_factory:
                undo.callback(pin_factory.close)
            self._light = build_tower_light(config, pin_factory)
            undo.callback(self._light.close)
            self._buzzer = build_buzzer(config, pin_factory)
            undo.callback(self._buzzer.close)
            self._pedal = build_pedal(config, pin_factory, loop)
            undo.pop_all()

    @property
    def light(self) -> TowerLight:
        return self._light

    @property
    def buzzer(self) -> Buzzer:
        return self._buzzer

    @property
    def pedal(self) -> Pedal:
        return self._pedal

    def close(self) -> None:
        """Lamps and buzzer off, pins released, pedal streams ended. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for device in (self._pedal, self._buzzer, self._light):
                try:
                    device.close()
                except Exception:  # release the rest whatever one of them says
                    log.exception("closing GPIO device")
        finally:
            if self._owns_factory:
                self.pin_factory.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SimGpio(GpiozeroGpio):
    """The same devices on a private gpiozero ``MockFactory``, plus a foot for the pedal.

    What is lit and beeping: ``light.state`` / ``appearance`` / ``history``,
    ``buzzer.history``, and at pin level ``pin("red").states`` (gpiozero's recorded
    ``PinState(timestamp, state)`` list).
    """

    def __init__(self, config: GpioConfig, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(config, loop, pin_factory=mock_pin_factory(), owns_factory=True)
        self._foot = threading.Lock()  # one foot: presses happen one after another

    def pin(self, name: PinName) -> Any:
        """The ``MockPWMPin`` behind a lamp, the buzzer or the pedal."""
        number = self.config.fitted().get(name)
        if number is None:
            raise LookupError(f"no {name} fitted in this GpioConfig")
        return self.pin_factory.pin(number)

    def press_pedal(self) -> None:
        """Tap the pedal (down until it registers, then up). Returns at once."""
        self._step_on(lambda: self._pedal.is_pressed)

    def hold_pedal(self) -> None:
        """Hold the pedal until it registers a hold, then let go. Returns at once."""
        self._step_on(lambda: self._pedal.is_held)

    def _step_on(self, registered: Callable[[], bool]) -> None:
        if not self._pedal.fitted or self._closed:
            return
        threading.Thread(
            target=self._foot_work, args=(registered,), name="canopy-sim-foot", daemon=True
        ).start()

    def _foot_work(self, registered: Callable[[], bool]) -> None:
        # Its own thread, like a real pedal's callbacks; it must outlast the debounce
        # and hold timings, which need real time to pass.
        pin = self.pin("pedal")
        down, up = (pin.drive_low, pin.drive_high) if self.config.pull_up else (pin.drive_high, pin.drive_low)
        timeout = self.config.bounce_time + self.config.hold_time + _FOOT_SLACK
        with self._foot:
            try:
                down()
                self._pedal._wait_for(registered, timeout)
                up()
                self._pedal._wait_for(lambda: not self._pedal.is_pressed, timeout)
            except Exception:  # the gpio closed under the foot
                log.debug("sim foot: pedal gone", exc_info=True)


def open_gpio(config: GpioConfig, loop: asyncio.AbstractEventLoop) -> Gpio:
    """Build what ``config`` says: ``SimGpio`` for kind "sim", else ``GpiozeroGpio``.

    Raises ``DeviceFault`` when the pins cannot be had (e.g. not a Pi).
    """
    if config.kind == "sim":
        return SimGpio(config, loop)
    factory, owned = hardware_pin_factory(config.pin_factory)
    return GpiozeroGpio(config, loop, pin_factory=factory, owns_factory=owned)
