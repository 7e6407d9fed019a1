"""The foot pedal into asyncio: press vs hold, debouncing, delivery across threads.

MockFactory fires gpiozero's callbacks in whatever thread drives the mock pin, so
every test drives it from a ``threading.Thread`` (as real pin libraries call back
from theirs), and the event loop runs in debug mode, where asyncio raises on any
loop call made from a foreign thread without ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from drivers.gpio import GpioConfig, PedalAction, PedalEvent, PedalStream, SimGpio
from drivers.gpio.testing import Switch

pytestmark = pytest.mark.timeout(20)

PEDAL = 24


def sim_fields(**overrides: object) -> pytest.MarkDecorator:
    """Parametrise the ``gpio`` fixture with GpioConfig fields."""
    return pytest.mark.parametrize("gpio", [overrides], indirect=True, ids=[""])


@pytest.fixture
async def gpio(request: pytest.FixtureRequest) -> AsyncIterator[SimGpio]:
    """A sim with a pedal, on a loop in debug mode; ``@sim_fields(...)`` overrides."""
    fields: dict[str, Any] = {"pedal": PEDAL, "bounce_time": 0.05, "hold_time": 0.3}
    fields.update(getattr(request, "param", {}))
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    sim = SimGpio(GpioConfig.model_validate(fields), loop)
    yield sim
    sim.close()


def in_thread(work: Callable[[], None]) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # surfaced by finish()
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-foot")
    thread.start()
    thread.errors = errors  # type: ignore[attr-defined]
    return thread


async def finish(thread: threading.Thread) -> None:
    await asyncio.to_thread(thread.join)
    errors: list[BaseException] = thread.errors  # type: ignore[attr-defined]
    if errors:
        raise errors[0]


def settle(gpio: SimGpio, down: bool) -> None:
    """In the foot's thread: wait until the pedal's debounced level is ``down``."""
    deadline = time.monotonic() + 5
    while gpio.pedal.is_pressed != down:
        assert time.monotonic() < deadline, "pedal never settled"
        time.sleep(0.002)


#: Longer than the switch thread needs to see a level, far shorter than bounce_time:
#: without debouncing, each of these would count.
BOUNCE = 0.5
GLITCH = 0.01


def drive(pin: Any, down: bool) -> None:
    pin.drive_low() if down else pin.drive_high()


def chatter(pin: Any, end_down: bool, edges: int = 7) -> None:
    """Contacts bouncing: ``edges`` level changes ``GLITCH`` apart, ending ``end_down``."""
    for i in range(edges):
        drive(pin, end_down if (edges - i) % 2 == 1 else not end_down)
        time.sleep(GLITCH)
    assert (pin.state == 0) == end_down


async def drain(stream: PedalStream) -> list[PedalAction]:
    return [event.action async for event in stream]


# -- press and hold ----------------------------------------------------------------------


async def test_a_press_arrives_from_another_thread(gpio: SimGpio) -> None:
    events = gpio.pedal.presses()
    gpio.press_pedal()  # the sim's foot works in a thread of its own
    event = await anext(events)
    assert event == PedalEvent(PedalAction.PRESS, event.at)
    assert event.at <= time.monotonic()


async def test_a_hold_is_not_also_a_press(gpio: SimGpio) -> None:
    events = gpio.pedal.presses()
    gpio.hold_pedal()
    assert (await anext(events)).action is PedalAction.HOLD
    await asyncio.to_thread(gpio.pedal._wait_for, lambda: not gpio.pedal.is_pressed, 5)
    gpio.press_pedal()
    assert (await anext(events)).action is PedalAction.PRESS
    gpio.pedal.close()
    assert await drain(events) == []  # the hold's release said nothing


async def test_driving_the_pin_from_a_thread(gpio: SimGpio) -> None:
    pin = gpio.pin("pedal")
    events = gpio.pedal.presses()
    loop_thread = threading.current_thread()
    callback_threads: set[threading.Thread] = set()
    device: Any = gpio.pedal._device
    handler = device.when_deactivated

    def spy() -> None:
        callback_threads.add(threading.current_thread())
        handler()

    device.when_deactivated = spy

    def tap() -> None:
        pin.drive_low()
        settle(gpio, True)
        pin.drive_high()

    foot = in_thread(tap)
    assert (await anext(events)).action is PedalAction.PRESS
    await finish(foot)
    assert callback_threads == {foot}  # the mock really called back off the loop's thread
    assert loop_thread not in callback_threads


@sim_fields(hold_time=0.2)
async def test_holding_on_reports_one_hold(gpio: SimGpio) -> None:
    pin = gpio.pin("pedal")
    events = gpio.pedal.presses()
    foot = in_thread(pin.drive_low)
    assert (await anext(events)).action is PedalAction.HOLD
    await finish(foot)
    assert gpio.pedal.is_held
    # Still down well past a second hold_time: no repeat.
    await asyncio.to_thread(time.sleep, 0.5)
    foot = in_thread(pin.drive_high)
    await finish(foot)
    gpio.pedal.close()
    assert await drain(events) == []


@sim_fields(pull_up=False)
async def test_pedal_to_3v3_with_pull_down(gpio: SimGpio) -> None:
    pin = gpio.pin("pedal")
    assert pin.state == 0  # pulled down: released
    events = gpio.pedal.presses()
    gpio.press_pedal()  # the sim drives it high
    assert (await anext(events)).action is PedalAction.PRESS


# -- debouncing --------------------------------------------------------------------------


@sim_fields(bounce_time=BOUNCE, hold_time=10)
async def test_contact_chatter_is_one_press(gpio: SimGpio) -> None:
    pin = gpio.pin("pedal")
    events = gpio.pedal.presses()

    def bouncy_tap() -> None:
        chatter(pin, end_down=True)
        settle(gpio, True)
        chatter(pin, end_down=False)
        settle(gpio, False)

    await finish(in_thread(bouncy_tap))
    gpio.pedal.close()
    assert await drain(events) == [PedalAction.PRESS]


@sim_fields(bounce_time=BOUNCE, hold_time=10)
async def test_a_spike_is_not_a_press(gpio: SimGpio) -> None:
    pin = gpio.pin("pedal")
    events = gpio.pedal.presses()

    def spike_then_tap() -> None:
        pin.drive_low()  # a spike from the ballasts
        time.sleep(GLITCH)
        pin.drive_high()
        time.sleep(GLITCH)
        assert not gpio.pedal.is_pressed
        pin.drive_low()  # then a real tap
        settle(gpio, True)
        pin.drive_high()
        settle(gpio, False)

    await finish(in_thread(spike_then_tap))
    gpio.pedal.close()
    assert await drain(events) == [PedalAction.PRESS]  # two if the spike had counted


@sim_fields(bounce_time=BOUNCE, hold_time=1.0)
async def test_a_dropout_during_a_hold_does_not_split_it(gpio: SimGpio) -> None:
    pin = gpio.pin("pedal")
    events = gpio.pedal.presses()

    def hold_with_dropout() -> None:
        pin.drive_low()
        settle(gpio, True)
        pin.drive_high()  # the cable loses contact for a moment
        time.sleep(GLITCH)
        pin.drive_low()

    await finish(in_thread(hold_with_dropout))
    assert (await anext(events)).action is PedalAction.HOLD

    def let_go() -> None:
        pin.drive_high()
        settle(gpio, False)

    await finish(in_thread(let_go))
    gpio.pedal.close()
    assert await drain(events) == []


@sim_fields(bounce_time=0)
async def test_zero_bounce_time_counts_at_once(gpio: SimGpio) -> None:
    events = gpio.pedal.presses()
    gpio.press_pedal()
    assert (await anext(events)).action is PedalAction.PRESS


def test_a_pedal_down_at_start_is_not_a_press() -> None:
    level = [True]
    actions: list[PedalAction] = []
    switch = Switch(lambda: level[0], actions.append, bounce=0.0, hold=0.05, name="t")
    try:
        assert switch.down
        time.sleep(0.1)  # past hold_time: still no hold, the press began before us
        level[0] = False
        switch.edge()
        assert switch.wait_for(lambda: not switch.down, 5)
        level[0] = True
        switch.edge()
        assert switch.wait_for(lambda: switch.held, 5)
    finally:
        switch.close()
    assert actions == [PedalAction.HOLD]


# -- streams -----------------------------------------------------------------------------


async def test_every_stream_gets_every_event(gpio: SimGpio) -> None:
    first, second = gpio.pedal.presses(), gpio.pedal.presses()
    gpio.press_pedal()
    assert (await anext(first)).action is PedalAction.PRESS
    assert (await anext(second)).action is PedalAction.PRESS


async def test_a_press_before_listening_is_not_delivered(gpio: SimGpio) -> None:
    early = gpio.pedal.presses()
    gpio.press_pedal()
    await anext(early)
    late = gpio.pedal.presses()  # a later step must not see the earlier press
    gpio.pedal.close()
    assert await drain(late) == []


async def test_a_stream_left_stops_listening(gpio: SimGpio) -> None:
    async with gpio.pedal.presses() as events:
        gpio.press_pedal()
        await anext(events)
    gpio.press_pedal()
    with pytest.raises(StopAsyncIteration):
        await anext(events)

    async for _ in gpio.pedal.presses():
        break
    gc.collect()
    assert len(gpio.pedal._streams) == 0  # a dropped stream unsubscribes itself


async def test_close_ends_streams_after_queued_events(gpio: SimGpio) -> None:
    events = gpio.pedal.presses()
    gpio.press_pedal()
    await asyncio.to_thread(gpio.pedal._wait_for, lambda: gpio.pedal.is_pressed, 5)
    await asyncio.to_thread(gpio.pedal._wait_for, lambda: not gpio.pedal.is_pressed, 5)
    gpio.close()
    assert await drain(events) == [PedalAction.PRESS]
    assert await drain(gpio.pedal.presses()) == []  # after close: ends at once
    gpio.press_pedal()  # a no-op now


async def test_a_full_stream_keeps_the_newest(gpio: SimGpio) -> None:
    events = gpio.pedal.presses()
    for i in range(20):
        events._put(PedalEvent(PedalAction.PRESS, float(i)))
    assert [(await anext(events)).at for _ in range(16)] == [float(i) for i in range(4, 20)]


def test_events_after_the_loop_closed_are_dropped_quietly() -> None:
    loop = asyncio.new_event_loop()
    gpio = SimGpio(GpioConfig(pedal=PEDAL, bounce_time=0, hold_time=0.05), loop)
    loop.close()
    failures: list[threading.ExceptHookArgs] = []
    saved, threading.excepthook = threading.excepthook, failures.append
    try:
        pin = gpio.pin("pedal")
        pin.drive_low()
        assert gpio.pedal._wait_for(lambda: gpio.pedal.is_held, 5)
        pin.drive_high()
        assert gpio.pedal._wait_for(lambda: not gpio.pedal.is_pressed, 5)
        gpio.close()
    finally:
        threading.excepthook = saved
    assert failures == []
