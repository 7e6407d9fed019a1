"""The foot pedal: debounced presses and holds, delivered into asyncio."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import gpiozero

from drivers.gpio._config import GpioConfig
from drivers.gpio._errors import device_errors
from drivers.gpio._switch import PedalAction, Switch

log = logging.getLogger(__name__)

DEVICE = "foot pedal"
#: Per stream. Presses are human-paced; a stream nobody reads keeps only the newest.
_BACKLOG = 16


@dataclass(frozen=True, slots=True)
class PedalEvent:
    action: PedalAction
    at: float  # time.monotonic() when it was recognised


class PedalStream:
    """Pedal events from the moment ``Pedal.presses()`` made it; ends when the pedal closes.

    ``async for event in pedal.presses(): ...``, or ``async with pedal.presses() as
    events:`` to stop listening at a known point. A stream that is dropped stops
    listening too, so a press made while nobody waits never confirms a later step.
    """

    def __init__(self, unsubscribe: Callable[[PedalStream], None]) -> None:
        self._queue: asyncio.Queue[PedalEvent | None] = asyncio.Queue(maxsize=_BACKLOG)
        self._unsubscribe = unsubscribe
        self._done = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> PedalEvent:
        if self._done:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._done = True
            raise StopAsyncIteration
        return event

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening; events already queued are dropped."""
        self._done = True
        self._unsubscribe(self)

    def _put(self, event: PedalEvent | None) -> None:  # event-loop thread only
        if self._done:
            return
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(event)


class Pedal:
    """A foot pedal (or any push button) on one pin.

    gpiozero reports edges from its own threads (from the caller's thread on
    MockFactory); the switch settles them in its thread; events reach asyncio only
    through ``loop.call_soon_threadsafe``. Not fitted: streams stay empty until close.
    """

    def __init__(
        self,
        device: Any | None,
        loop: asyncio.AbstractEventLoop,
        *,
        bounce: float,
        hold: float,
    ) -> None:
        self._device = device
        self._loop = loop
        self._streams: weakref.WeakSet[PedalStream] = weakref.WeakSet()
        self._closed = False
        self._switch: Switch | None = None
        if device is not None:
            self._switch = Switch(
                lambda: bool(device.is_active),
                self._report,
                bounce=bounce,
                hold=hold,
                name=f"canopy-{DEVICE}",
            )
            device.when_activated = self._switch.edge
            device.when_deactivated = self._switch.edge

    @property
    def fitted(self) -> bool:
        return self._device is not None

    @property
    def is_pressed(self) -> bool:
        """Down, as settled (chatter and spikes filtered)."""
        return self._switch is not None and self._switch.down

    @property
    def is_held(self) -> bool:
        return self._switch is not None and self._switch.held

    def presses(self) -> PedalStream:
        """A new stream of what the pedal does from now on. Call it on the event loop."""
        stream = PedalStream(self._streams.discard)
        if self._closed:
            stream._put(None)
        else:
            self._streams.add(stream)
        return stream

    def close(self) -> None:
        """Stop watching the pin, release it, and end every stream (after queued events)."""
        if self._closed:
            return
        self._closed = True
        if self._switch is not None:
            self._switch.close()
        if self._device is not None:
            with device_errors(DEVICE):
                self._device.close()
        self._call_in_loop(self._end_streams)

    def _wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """For the sim's foot: block until the settled state satisfies ``predicate``."""
        return self._switch is not None and self._switch.wait_for(predicate, timeout)

    def _report(self, action: PedalAction) -> None:  # switch thread
        log.debug("%s: %s", DEVICE, action)
        self._call_in_loop(self._broadcast, PedalEvent(action, time.monotonic()))

    def _call_in_loop(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            if self._loop.is_closed():  # shutting down: nobody is listening any more
                log.debug("%s: event loop closed, %s dropped", DEVICE, args or callback)
            else:  # keep the switch thread alive whatever happened
                log.exception("%s: could not hand %s to the event loop", DEVICE, args)

    def _broadcast(self, event: PedalEvent) -> None:
        for stream in list(self._streams):
            stream._put(event)

    def _end_streams(self) -> None:
        for stream in list(self._streams):
            stream._put(None)
        self._streams.clear()


def build_pedal(config: GpioConfig, factory: Any, loop: asyncio.AbstractEventLoop) -> Pedal:
    bounce, hold = config.bounce_time, config.hold_time
    if config.pedal is None:
        return Pedal(None, loop, bounce=bounce, hold=hold)
    with device_errors(DEVICE):
        # bounce_time stays None here: the Switch debounces (see _switch.py).
        device = gpiozero.DigitalInputDevice(
            config.pedal, pull_up=config.pull_up, bounce_time=None, pin_factory=factory
        )
    try:
        return Pedal(device, loop, bounce=bounce, hold=hold)
    except BaseException:
        device.close()
        raise
