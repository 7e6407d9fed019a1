"""GPIO configuration, embeddable in the agent's TOML as ``[gpio]``.

    [gpio]
    kind = "gpiozero"          # "sim" (default) | "gpiozero"
    pin_factory = "lgpio"      # optional; default: gpiozero's own choice / GPIOZERO_PIN_FACTORY
    light = "stack"            # "stack": one lamp per colour | "rgb": one RGB lamp
    green = 17                 # BCM numbers (GPIO17 = 17), not header positions
    amber = 27
    red = 22
    buzzer = 23
    pedal = 24

A device whose pin is left out is "not fitted": its calls do nothing. TOML has no
null, so leaving the key out is the only way to say so, and that is why no pin has a
default: the file lists exactly what is wired.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, model_validator

#: The GPIOs on the 40-pin header of every Pi since the B+ (Pi 5 included).
_HEADER_GPIOS = range(28)


def _check_pin(value: int) -> int:
    if value not in _HEADER_GPIOS:
        raise ValueError(
            f"GPIO{value} is not on the 40-pin header: use the BCM number 0-27 "
            "(GPIO17 = 17), not the physical pin position"
        )
    return value


#: StrictInt: pydantic would otherwise read ``green = true`` as GPIO1.
Pin = Annotated[StrictInt, AfterValidator(_check_pin)]


class GpioConfig(BaseModel):
    """Which of the tower light, buzzer and foot pedal are wired, and to which pins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: "sim" runs the same gpiozero devices on gpiozero's MockFactory; "gpiozero" drives pins.
    kind: Literal["sim", "gpiozero"] = "sim"
    #: A gpiozero pin factory name ("lgpio", "rpigpio", "pigpio", "native"). None keeps
    #: gpiozero's choice: GPIOZERO_PIN_FACTORY, else lgpio, RPi.GPIO, pigpio, native.
    #: Use "lgpio" on a Pi 5. Ignored by kind = "sim", so a bench can switch kinds alone.
    pin_factory: str | None = Field(default=None, min_length=1)

    #: "stack": a lamp per colour on ``green`` / ``amber`` / ``red`` (any may be missing).
    #: "rgb": one RGB lamp on ``red`` / ``green`` / ``blue`` (PWM mixes amber).
    light: Literal["stack", "rgb"] = "stack"
    green: Pin | None = None
    amber: Pin | None = None
    red: Pin | None = None
    blue: Pin | None = None
    buzzer: Pin | None = None
    pedal: Pin | None = None

    #: Lamps and buzzer are on when their pin is high (False for active-low relay boards).
    active_high: bool = True
    #: Pedal switch to ground with the Pi's pull-up (True), or to 3.3 V with a pull-down.
    pull_up: bool = True
    #: The pedal's level must hold this long to count: contact chatter and electrical
    #: spikes shorter than this are ignored. 0: a level counts as soon as it is read.
    bounce_time: float = Field(default=0.05, ge=0, le=1)
    #: Holding the pedal this long is a "hold" instead of a "press".
    hold_time: float = Field(default=1.0, gt=0, le=30)

    @model_validator(mode="after")
    def _check_wiring(self) -> GpioConfig:
        if self.light == "stack" and self.blue is not None:
            raise ValueError('blue is only used by light = "rgb"')
        if self.light == "rgb":
            if self.amber is not None:
                raise ValueError('an RGB light mixes amber itself: remove amber, or set light = "stack"')
            channels = (self.red, self.green, self.blue)
            if any(p is None for p in channels) and any(p is not None for p in channels):
                raise ValueError("an RGB light needs all three of red, green and blue")
        seen: dict[int, str] = {}
        for name, pin in self.fitted().items():
            if pin in seen:
                raise ValueError(f"{seen[pin]} and {name} are both on GPIO{pin}")
            seen[pin] = name
        return self

    def fitted(self) -> dict[str, int]:
        """Device or lamp name -> BCM pin, for what is wired."""
        pins = {
            "green": self.green,
            "amber": self.amber,
            "red": self.red,
            "blue": self.blue,
            "buzzer": self.buzzer,
            "pedal": self.pedal,
        }
        return {name: pin for name, pin in pins.items() if pin is not None}
