"""Tower light and buzzer on gpiozero's MockFactory: what the pins actually did."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from drivers.gpio import (
    Appearance,
    BuzzPattern,
    Flash,
    GpioConfig,
    KioskLight,
    Lamp,
    PinName,
    SimGpio,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(20)

STACK = {"green": 17, "amber": 27, "red": 22, "buzzer": 23}
RGB = {"light": "rgb", "red": 17, "green": 27, "blue": 22, "buzzer": 23}


def levels(pin: Any) -> list[float]:
    return [float(s.state) for s in pin.states]


def pulses(n: int) -> list[float]:
    """The recorded history of a pin that starts low and goes high n times."""
    return [0.0] + [1.0, 0.0] * n


@pytest.fixture
def make_gpio() -> Iterator[Callable[..., SimGpio]]:
    made: list[SimGpio] = []
    loop = asyncio.new_event_loop()  # the outputs never touch it

    def make(**fields: object) -> SimGpio:
        gpio = SimGpio(GpioConfig.model_validate(fields), loop)
        made.append(gpio)
        return gpio

    yield make
    for gpio in made:  # a fresh MockFactory per gpio, closed here
        gpio.close()
    loop.close()


def lit(gpio: SimGpio) -> dict[str, float]:
    return {name: float(gpio.pin(name).state) for name in ("green", "amber", "red")}


# -- tower light: states -----------------------------------------------------------------


def test_starts_dark(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    assert gpio.light.state is KioskLight.OFF
    assert gpio.light.appearance == Appearance(None)
    assert lit(gpio) == {"green": 0, "amber": 0, "red": 0}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (KioskLight.ONLINE, {"green": 1, "amber": 0, "red": 0}),
        (KioskLight.BUFFERING, {"green": 0, "amber": 1, "red": 0}),
        (KioskLight.OFF, {"green": 0, "amber": 0, "red": 0}),
    ],
)
def test_steady_states(
    make_gpio: Callable[..., SimGpio], state: KioskLight, expected: dict[str, float]
) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.FAULT)  # from something else, so every state is a change
    gpio.light.show(state)
    assert gpio.light.state is state
    assert lit(gpio) == expected
    assert not gpio.light.appearance.blinking


def test_fault_blinks_red_alone(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.ONLINE)
    gpio.light.show(KioskLight.FAULT)
    assert gpio.light.appearance == Appearance(Lamp.RED, blinking=True)
    red = gpio.pin("red")
    wait_until(lambda: len(red.states) >= 4)  # on, off, on: blinking, not steady
    assert levels(red)[:4] == pulses(2)[:4]
    assert gpio.pin("green").state == 0
    assert levels(gpio.pin("amber")) == [0.0]


def test_the_same_state_again_changes_nothing(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    for _ in range(3):
        gpio.light.show(KioskLight.BUFFERING)
    assert gpio.light.history == (KioskLight.BUFFERING,)
    assert levels(gpio.pin("amber")) == [0.0, 1.0]


def test_active_low_lamps(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK, active_high=False)
    assert lit(gpio) == {"green": 1, "amber": 1, "red": 1}  # high = off on a relay board
    gpio.light.show(KioskLight.ONLINE)
    assert lit(gpio) == {"green": 0, "amber": 1, "red": 1}


def test_a_stack_with_only_a_red_lamp(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(red=22)
    gpio.light.show(KioskLight.ONLINE)  # no green lamp: nothing to light
    assert gpio.light.appearance == Appearance(Lamp.GREEN)
    assert gpio.pin("red").state == 0
    gpio.light.show(KioskLight.FAULT)
    wait_until(lambda: len(gpio.pin("red").states) >= 3)


# -- tower light: flashes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "flash", "lamp", "blinks"),
    [
        (KioskLight.BUFFERING, Flash.GOOD, "green", 2),
        (KioskLight.ONLINE, Flash.BAD, "red", 3),
        (KioskLight.OFF, Flash.GOOD, "green", 2),
    ],
)
def test_a_flash_returns_to_the_state(
    make_gpio: Callable[..., SimGpio], state: KioskLight, flash: Flash, lamp: PinName, blinks: int
) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(state)
    before = lit(gpio)
    assert before[lamp] == 0
    flasher = gpio.pin(lamp)
    flasher.clear_states()

    gpio.light.flash_good() if flash is Flash.GOOD else gpio.light.flash_bad()
    assert gpio.light.flashing
    assert gpio.light.appearance == Appearance(Lamp(lamp), blinking=True)
    assert gpio.light.state is state  # the flash sits over the state, not in place of it
    others = {name: level for name, level in lit(gpio).items() if name != lamp}
    assert set(others.values()) == {0.0}  # alone while it flashes

    wait_until(lambda: not gpio.light.flashing)
    assert lit(gpio) == before
    assert gpio.light.appearance == Appearance(
        {KioskLight.ONLINE: Lamp.GREEN, KioskLight.BUFFERING: Lamp.AMBER}.get(state)
    )
    assert levels(flasher) == pulses(blinks)
    assert gpio.light.history[-1] is flash


def test_a_good_flash_over_green_shows_as_dark_gaps(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.ONLINE)
    green = gpio.pin("green")
    green.clear_states()
    gpio.light.flash_good()
    wait_until(lambda: not gpio.light.flashing)
    assert levels(green) == [1.0, 0.0, 1.0, 0.0, 1.0]


def test_a_flash_over_fault_returns_to_blinking(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.FAULT)
    gpio.light.flash_good()
    wait_until(lambda: not gpio.light.flashing)
    assert gpio.light.appearance == Appearance(Lamp.RED, blinking=True)
    red = gpio.pin("red")
    red.clear_states()
    wait_until(lambda: len(red.states) >= 3)  # blinking again


def test_a_state_shown_during_a_flash_follows_it(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.ONLINE)
    gpio.light.flash_bad()
    gpio.light.show(KioskLight.BUFFERING)
    assert gpio.light.appearance == Appearance(Lamp.RED, blinking=True)  # flash not cut
    wait_until(lambda: not gpio.light.flashing)
    assert lit(gpio) == {"green": 0, "amber": 1, "red": 0}
    assert gpio.light.history == (KioskLight.ONLINE, Flash.BAD, KioskLight.BUFFERING)


def test_a_new_flash_replaces_the_running_one(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.BUFFERING)
    gpio.light.flash_good()
    gpio.light.flash_bad()
    assert gpio.light.appearance == Appearance(Lamp.RED, blinking=True)
    assert gpio.pin("green").state == 0
    wait_until(lambda: not gpio.light.flashing)
    assert lit(gpio) == {"green": 0, "amber": 1, "red": 0}


def test_flashes_from_many_threads_settle_on_the_state(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.ONLINE)

    def scan(i: int) -> None:
        gpio.light.flash_good() if i % 2 else gpio.light.flash_bad()

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: not gpio.light.flashing)
    assert lit(gpio) == {"green": 1, "amber": 0, "red": 0}
    assert gpio.light.history.count(Flash.GOOD) == 4


def test_history_is_bounded(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio()
    for _ in range(20):
        gpio.light.show(KioskLight.ONLINE)
        gpio.light.show(KioskLight.BUFFERING)
    assert len(gpio.light.history) == 32
    assert gpio.light.history[-1] is KioskLight.BUFFERING


def test_close_darkens_and_later_calls_do_nothing(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    gpio.light.show(KioskLight.FAULT)
    gpio.light.flash_bad()
    pins = {name: gpio.pin(name) for name in ("green", "amber", "red")}
    gpio.close()
    assert gpio.light.appearance == Appearance(None)
    assert {name: pin.state for name, pin in pins.items()} == {"green": 0, "amber": 0, "red": 0}
    gpio.light.show(KioskLight.ONLINE)
    gpio.light.flash_good()
    assert gpio.light.state is KioskLight.FAULT
    assert pins["green"].state == 0


# -- tower light: one RGB lamp -----------------------------------------------------------


def rgb(gpio: SimGpio) -> tuple[float, float, float]:
    return (
        float(gpio.pin("red").state),
        float(gpio.pin("green").state),
        float(gpio.pin("blue").state),
    )


def test_rgb_lamp_mixes_each_state(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**RGB)
    assert rgb(gpio) == (0, 0, 0)
    gpio.light.show(KioskLight.ONLINE)
    assert rgb(gpio) == (0, 1, 0)
    gpio.light.show(KioskLight.BUFFERING)
    assert rgb(gpio) == (1, 0.4, 0)  # amber by PWM
    gpio.light.show(KioskLight.FAULT)
    red = gpio.pin("red")
    wait_until(lambda: levels(red)[-3:] == [1.0, 0.0, 1.0])  # blinking red
    assert gpio.pin("green").state == 0
    assert levels(gpio.pin("blue")) == [0.0]


def test_rgb_flash_returns_to_amber(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**RGB)
    gpio.light.show(KioskLight.BUFFERING)
    gpio.light.flash_good()
    wait_until(lambda: gpio.pin("red").state == 0)  # green alone during the flash
    wait_until(lambda: not gpio.light.flashing)
    assert rgb(gpio) == (1, 0.4, 0)


# -- buzzer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "beeps"),
    [(BuzzPattern.GOOD, 1), (BuzzPattern.BAD, 3), (BuzzPattern.ATTENTION, 2)],
)
def test_buzzer_patterns_on_the_pin(
    make_gpio: Callable[..., SimGpio], pattern: BuzzPattern, beeps: int
) -> None:
    gpio = make_gpio(**STACK)
    pin = gpio.pin("buzzer")
    gpio.buzzer.play(pattern)  # returns at once: gpiozero beeps in its own thread
    assert gpio.buzzer.sounding
    wait_until(lambda: len(pin.states) == 1 + 2 * beeps)
    assert levels(pin) == pulses(beeps)
    assert not gpio.buzzer.sounding
    assert gpio.buzzer.history == (pattern,)
    assert pattern.beeps == beeps


def test_patterns_differ_by_count_or_length() -> None:
    shapes = {(p.beeps, p.duration) for p in BuzzPattern}
    assert len(shapes) == len(BuzzPattern)
    assert BuzzPattern.ATTENTION.duration > BuzzPattern.BAD.duration > BuzzPattern.GOOD.duration


def test_a_new_pattern_cuts_the_one_playing(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    pin = gpio.pin("buzzer")
    gpio.buzzer.play(BuzzPattern.ATTENTION)
    gpio.buzzer.play(BuzzPattern.GOOD)
    wait_until(lambda: not gpio.buzzer.sounding and len(pin.states) >= 3)
    recorded = levels(pin)
    # ATTENTION's first beep (cut short), then GOOD's one beep; never three beeps
    assert recorded in (pulses(1), pulses(2))
    assert gpio.buzzer.history == (BuzzPattern.ATTENTION, BuzzPattern.GOOD)


def test_silence_stops_a_pattern(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    pin = gpio.pin("buzzer")
    gpio.buzzer.play(BuzzPattern.ATTENTION)
    gpio.buzzer.silence()  # joins gpiozero's beep thread: nothing writes after this
    assert pin.state == 0
    assert levels(pin) == pulses(1)


def test_active_low_buzzer(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK, active_high=False)
    pin = gpio.pin("buzzer")
    assert pin.state == 1  # silent
    pin.clear_states()
    gpio.buzzer.play(BuzzPattern.GOOD)
    wait_until(lambda: len(pin.states) == 3)
    assert levels(pin) == [1.0, 0.0, 1.0]


def test_buzzer_history_is_bounded(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio()
    for _ in range(40):
        gpio.buzzer.play(BuzzPattern.GOOD)
    assert len(gpio.buzzer.history) == 32


def test_closed_buzzer_is_off_and_quiet(make_gpio: Callable[..., SimGpio]) -> None:
    gpio = make_gpio(**STACK)
    pin = gpio.pin("buzzer")
    gpio.buzzer.play(BuzzPattern.ATTENTION)
    gpio.close()
    assert pin.state == 0
    gpio.buzzer.play(BuzzPattern.BAD)
    assert not gpio.buzzer.sounding
    assert gpio.buzzer.history == (BuzzPattern.ATTENTION,)
