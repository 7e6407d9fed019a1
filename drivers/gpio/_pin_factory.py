"""Choosing the gpiozero pin factory: the hardware one, or the mock for the sim."""

from __future__ import annotations

import logging
import warnings
from importlib.metadata import entry_points

from gpiozero import Device, Factory
from gpiozero.pins.mock import MockFactory, MockPWMPin

from drivers.faults import DeviceFault
from drivers.gpio._config import GpioConfig
from drivers.gpio._errors import NOT_AVAILABLE, fault_from_error

log = logging.getLogger(__name__)

_GROUP = "gpiozero_pin_factories"


def mock_pin_factory() -> Factory:
    """A private MockFactory. PWM pins everywhere, as lgpio gives (the RGB light dims)."""
    return MockFactory(pin_class=MockPWMPin)


def hardware_pin_factory(name: str | None) -> tuple[Factory, bool]:
    """The factory for real pins, and whether the caller owns (must close) it.

    ``None`` shares gpiozero's process-wide default (``Device.pin_factory``, which
    honours GPIOZERO_PIN_FACTORY and gpiozero's fallback order, and which gpiozero
    closes at exit). A name builds a private factory through the same entry points
    gpiozero uses, so it does not change what other gpiozero code in the process gets.
    """
    # gpiozero warns once per factory it falls back from; those lines are the only
    # record of *why* nothing loaded, so they go into the fault's detail.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if name is None:
                Device.ensure_pin_factory()
                factory, owned = Device.pin_factory, False
            else:
                factory, owned = _load(name)(), True
        except DeviceFault:
            raise
        except Exception as exc:
            notes = "; ".join(str(w.message) for w in caught)
            raise fault_from_error(exc, device="GPIO", note=notes, starting_pins=True) from exc
    for w in caught:
        log.warning("gpiozero: %s", w.message)
    return factory, owned


def _load(name: str) -> type[Factory]:
    group = entry_points(group=_GROUP)
    # Exact name first, then lower case: gpiozero's own lookup rule.
    for wanted in (name, name.lower()):
        for ep in group:
            if ep.name == wanted:
                factory_class: type[Factory] = ep.load()
                return factory_class
    known = ", ".join(sorted(ep.name for ep in group))
    raise DeviceFault(
        f'GPIO pin factory "{name}" is not known: check [gpio] pin_factory',
        device="GPIO",
        detail=f"installed gpiozero pin factories: {known}",
    )


def probe_pin_factory(config: GpioConfig) -> str:
    """Which pin factory ``config`` gets here, in words (for ``canopy doctor``).

    Opens the factory the agent would open and closes it again; claims no pin, so
    a running agent is not disturbed. Raises ``DeviceFault`` where none loads.

    Simulated pins (``kind = "sim"``) never raise: the line names the mock factory
    and, after it, the factory real pins would get on this machine (``pin_factory``
    or gpiozero's own choice) or why none loads, so a test kiosk on a Pi says
    whether switching to ``kind = "gpiozero"`` would work.
    """
    if config.kind == "sim":
        mock = mock_pin_factory()
        try:
            simulated = _describe(mock, simulated=True)
        finally:
            mock.close()
        try:
            real = _probe_hardware(config.pin_factory)
        except DeviceFault as fault:
            # "set kind = sim" is no advice here; the cause is what counts.
            words = [fault.message] if fault.message != NOT_AVAILABLE else []
            real = f"no pin factory loads ({'; '.join([*words, fault.detail])})"
        return f"{simulated}; real pins here: {real}"
    return _probe_hardware(config.pin_factory)


def _probe_hardware(name: str | None) -> str:
    factory, owned = hardware_pin_factory(name)
    try:
        return _describe(factory, simulated=False)
    finally:
        if owned:
            factory.close()


def _describe(factory: Factory, *, simulated: bool) -> str:
    cls = type(factory)
    names = [ep.name for ep in entry_points(group=_GROUP) if ep.value == f"{cls.__module__}:{cls.__name__}"]
    text = f"pin factory {names[0] if names else cls.__name__} ({cls.__name__})"
    if simulated:
        return f"simulated pins: {text}"
    if isinstance(factory, MockFactory):
        return text  # its board is made up
    try:
        model = factory.board_info.model  # e.g. "5B", "4B"
    except Exception:  # a factory that cannot tell the board still drives pins
        return text
    return f"{text} on a Raspberry Pi {model}"
