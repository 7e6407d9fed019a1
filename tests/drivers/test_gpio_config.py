"""GpioConfig validation, open_gpio's choice of implementation, and fault mapping."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Iterator

import gpiozero
import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from pydantic import ValidationError

from drivers.faults import DeviceFault
from drivers.gpio import (
    BuzzPattern,
    GpioConfig,
    GpiozeroGpio,
    KioskLight,
    SimGpio,
    open_gpio,
)
from drivers.gpio.testing import NO_PERMISSION, NOT_AVAILABLE, fault_from_error

FULL = {"green": 17, "amber": 27, "red": 22, "buzzer": 23, "pedal": 24}


def wired(**fields: object) -> GpioConfig:
    """Every device fitted, as ``FULL`` says, plus ``fields``."""
    return GpioConfig.model_validate({**FULL, **fields})


@pytest.fixture(autouse=True)
def _no_global_pin_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start and end every test without gpiozero's process-wide factory."""
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    saved, Device.pin_factory = Device.pin_factory, None
    yield
    if Device.pin_factory is not None:
        Device.pin_factory.close()
    Device.pin_factory = saved


# -- the model ---------------------------------------------------------------------------


def test_defaults_are_a_sim_with_nothing_fitted() -> None:
    config = GpioConfig()
    assert config.kind == "sim"
    assert config.fitted() == {}
    assert config.pin_factory is None
    assert (config.active_high, config.pull_up) == (True, True)


def test_reads_the_agents_toml_section() -> None:
    text = """
    [gpio]
    kind = "gpiozero"
    pin_factory = "lgpio"
    green = 17
    amber = 27
    red = 22
    buzzer = 23
    pedal = 24
    bounce_time = 0.02
    hold_time = 1.5
    """
    config = GpioConfig.model_validate(tomllib.loads(text)["gpio"])
    assert config.fitted() == FULL
    assert config.pin_factory == "lgpio"
    assert (config.bounce_time, config.hold_time) == (0.02, 1.5)


def test_a_typo_is_an_error_not_a_silently_unfitted_lamp() -> None:
    with pytest.raises(ValidationError, match="gren"):
        GpioConfig.model_validate({"gren": 17})


def test_frozen() -> None:
    config = GpioConfig(green=17)
    with pytest.raises(ValidationError):
        config.green = 18


@pytest.mark.parametrize("pin", [28, 40, -1])
def test_pins_are_bcm_numbers_on_the_header(pin: int) -> None:
    with pytest.raises(ValidationError, match="BCM number 0-27"):
        GpioConfig(red=pin)


@pytest.mark.parametrize("value", [True, "17", 17.0])
def test_a_pin_must_be_an_integer(value: object) -> None:
    # pydantic's lax mode would read `red = true` as GPIO1
    with pytest.raises(ValidationError):
        GpioConfig.model_validate({"red": value})


def test_two_devices_on_one_pin() -> None:
    with pytest.raises(ValidationError, match="green and buzzer are both on GPIO17"):
        GpioConfig(green=17, buzzer=17)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"light": "rgb", "red": 17, "green": 27, "blue": 22, "amber": 5}, "mixes amber"),
        ({"light": "rgb", "red": 17, "green": 27}, "all three of red, green and blue"),
        ({"light": "stack", "blue": 22}, 'only used by light = "rgb"'),
        ({"kind": "real"}, "kind"),
        ({"light": "rgbw"}, "light"),
        ({"bounce_time": -0.01}, "bounce_time"),
        ({"bounce_time": 5}, "bounce_time"),
        ({"hold_time": 0}, "hold_time"),
        ({"pin_factory": ""}, "pin_factory"),
    ],
)
def test_bad_wiring_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GpioConfig.model_validate(fields)


def test_rgb_with_no_pins_is_a_kiosk_without_a_light() -> None:
    assert GpioConfig(light="rgb").fitted() == {}


# -- open_gpio ---------------------------------------------------------------------------


async def test_sim_kind_opens_the_sim_twin() -> None:
    with open_gpio(wired(), asyncio.get_running_loop()) as gpio:
        assert isinstance(gpio, SimGpio)
        assert isinstance(gpio.pin_factory, MockFactory)
        assert gpio.light.fitted and gpio.buzzer.fitted and gpio.pedal.fitted
    assert Device.pin_factory is None  # the sim never touches the global factory


async def test_no_gpio_on_this_machine_is_a_plain_device_fault() -> None:
    # This test machine is no Pi, has no lgpio/RPi.GPIO/pigpio: gpiozero's default
    # search ends in BadPinFactory.
    config = wired(kind="gpiozero")
    with pytest.raises(DeviceFault) as caught:
        open_gpio(config, asyncio.get_running_loop())
    fault = caught.value
    assert fault.message == 'GPIO not available on this machine: set [gpio] kind = "sim"'
    assert fault.message == NOT_AVAILABLE
    assert fault.device == "GPIO"
    assert "BadPinFactory" in fault.detail
    assert "Falling back from lgpio" in fault.detail  # gpiozero's reasons are kept
    assert isinstance(fault.__cause__, gpiozero.BadPinFactory)


async def test_a_named_factory_that_cannot_start_is_the_same_fault() -> None:
    # "native" needs /proc/device-tree or a Pi's /proc/cpuinfo
    config = GpioConfig(kind="gpiozero", pin_factory="native", green=17)
    with pytest.raises(DeviceFault) as caught:
        open_gpio(config, asyncio.get_running_loop())
    assert caught.value.message == NOT_AVAILABLE
    assert "PinUnknownPi" in caught.value.detail


async def test_an_unknown_factory_name_says_so() -> None:
    config = GpioConfig(kind="gpiozero", pin_factory="lgpoi", green=17)
    with pytest.raises(DeviceFault, match='pin factory "lgpoi" is not known') as caught:
        open_gpio(config, asyncio.get_running_loop())
    assert "lgpio" in caught.value.detail  # lists what is installed


async def test_a_named_factory_is_private_and_closed_with_the_gpio() -> None:
    # "mock" is a real gpiozero entry point, so this runs the named-factory path.
    config = wired(kind="gpiozero", pin_factory="MOCK")
    gpio = open_gpio(config, asyncio.get_running_loop())
    assert type(gpio) is GpiozeroGpio
    factory = gpio.pin_factory
    assert isinstance(factory, MockFactory)
    assert Device.pin_factory is None
    gpio.light.show(KioskLight.ONLINE)
    assert factory.pin(17).state
    gpio.close()
    assert factory.pins == {}  # closed: every pin released
    gpio.close()  # idempotent


async def test_the_default_factory_is_gpiozeros_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    gpio = open_gpio(GpioConfig(kind="gpiozero", green=17), asyncio.get_running_loop())
    assert gpio.pin_factory is Device.pin_factory  # type: ignore[attr-defined]
    gpio.close()
    assert Device.pin_factory is not None  # not ours to close; gpiozero closes it at exit


async def test_a_device_that_fails_releases_the_ones_already_made() -> None:
    factory = MockFactory()
    squatter = gpiozero.LED(24, pin_factory=factory)  # another user holds the pedal's pin
    config = wired(kind="gpiozero")
    with pytest.raises(DeviceFault) as caught:
        GpiozeroGpio(config, asyncio.get_running_loop(), pin_factory=factory, owns_factory=False)
    assert caught.value.device == "foot pedal"
    assert caught.value.message == "foot pedal not working: call IT"
    assert "GPIOPinInUse" in caught.value.detail
    # The tower light and buzzer let go of their pins on the way out.
    for pin in (17, 27, 22, 23):
        gpiozero.LED(pin, pin_factory=factory).close()
    squatter.close()


def test_permission_problems_are_worded_for_it() -> None:
    try:
        try:
            raise PermissionError(13, "Permission denied", "/dev/gpiochip0")
        except PermissionError as exc:
            raise RuntimeError("can not open gpiochip") from exc
    except RuntimeError as exc:
        fault = fault_from_error(exc, device="GPIO")
    assert fault.message == NO_PERMISSION
    assert "can not open gpiochip" in fault.detail


# -- not fitted --------------------------------------------------------------------------


@pytest.mark.timeout(10)
async def test_unfitted_devices_accept_every_call_and_do_nothing() -> None:
    gpio = open_gpio(GpioConfig(), asyncio.get_running_loop())
    assert isinstance(gpio, SimGpio)
    assert not (gpio.light.fitted or gpio.buzzer.fitted or gpio.pedal.fitted)
    assert gpio.pin_factory.pins == {}  # nothing claimed

    gpio.light.show(KioskLight.FAULT)
    gpio.light.flash_bad()
    assert gpio.light.state is KioskLight.FAULT  # the agent's view still follows
    gpio.buzzer.play(BuzzPattern.BAD)
    gpio.buzzer.silence()
    assert gpio.buzzer.history == (BuzzPattern.BAD,)
    assert not gpio.buzzer.sounding

    events = gpio.pedal.presses()
    gpio.press_pedal()
    gpio.hold_pedal()
    assert not gpio.pedal.is_pressed
    with pytest.raises(LookupError, match="no pedal fitted"):
        gpio.pin("pedal")
    assert gpio.pin_factory.pins == {}

    gpio.close()
    assert [event async for event in events] == []
