"""GPIO for the kiosk: tower light, buzzer and foot pedal, on gpiozero.

    gpio = open_gpio(GpioConfig(kind="sim", green=17, amber=27, red=22, buzzer=23, pedal=24), loop)
    gpio.light.show(KioskLight.ONLINE)
    gpio.light.flash_good(); gpio.buzzer.play(BuzzPattern.GOOD)
    async for event in gpio.pedal.presses():
        if event.action is PedalAction.PRESS: ...

Real pins and the sim run the same gpiozero device classes; only the pin factory
differs (``MockFactory`` for ``kind = "sim"``).
"""

from drivers.gpio._buzzer import Buzzer, BuzzPattern
from drivers.gpio._config import GpioConfig
from drivers.gpio._gpio import Gpio, GpiozeroGpio, PinName, SimGpio, open_gpio
from drivers.gpio._light import Appearance, Flash, KioskLight, Lamp, TowerLight
from drivers.gpio._pedal import Pedal, PedalEvent, PedalStream
from drivers.gpio._pin_factory import probe_pin_factory
from drivers.gpio._switch import PedalAction

__all__ = [
    "Appearance",
    "BuzzPattern",
    "Buzzer",
    "Flash",
    "Gpio",
    "GpioConfig",
    "GpiozeroGpio",
    "KioskLight",
    "Lamp",
    "Pedal",
    "PedalAction",
    "PedalEvent",
    "PedalStream",
    "PinName",
    "SimGpio",
    "TowerLight",
    "open_gpio",
    "probe_pin_factory",
]
