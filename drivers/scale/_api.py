"""The one interface the agent programs against, whatever scale is behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol

from drivers.faults import DeviceFault
from drivers.scale._config import ScaleIdentity
from drivers.scale._reading import Reading, utc_now


class LinkState(Enum):
    CONNECTING = "connecting"  # opened, first attempt not finished yet
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # port gone or unreadable; reconnecting
    CLOSED = "closed"  # aclose() called


@dataclass(frozen=True, slots=True)
class ScaleStatus:
    """Connection state plus the latest problem, for the screen and ``canopy doctor``.

    ``fault`` is set while something is wrong (port missing, scale not
    answering, unreadable frames) and cleared by the next good frame.
    """

    link: LinkState
    fault: DeviceFault | None = None
    at: datetime = field(default_factory=utc_now)

    @property
    def connected(self) -> bool:
        return self.link is LinkState.CONNECTED


StateCallback = Callable[[ScaleStatus], None]


class Scale(Protocol):
    """A certified scale. Implementations: the serial driver and ``SimScale``.

    Only ``STABLE`` readings are ever returned as a weight by ``weigh()`` and
    ``next_stable()``; every failure is a ``DeviceFault`` worded for the floor.
    """

    on_state: StateCallback | None

    @property
    def identity(self) -> ScaleIdentity: ...

    @property
    def connected(self) -> bool: ...

    @property
    def status(self) -> ScaleStatus: ...

    def readings(self) -> AsyncIterator[Reading]:
        """Every reading from now on, for a live display. Long-lived: survives
        unplug/replug and ends only at ``aclose()``. Polling scales are polled
        while at least one iterator (or ``next_stable``) is listening."""
        ...

    async def weigh(self, *, immediate: bool = False) -> Reading:
        """A stable weight (the scale's own stable command where it has one), or
        with ``immediate`` whatever the scale shows now, in any state."""
        ...

    async def next_stable(self, timeout: float) -> Reading:
        """The next stable reading, confirmed ``stable_repeats`` times in a row."""
        ...

    async def legal_for_trade(self) -> bool | None:
        """True when the scale reports legal-for-trade mode (Ohaus ``PV``: ``LFT ON``), False
        when it reports otherwise, None where the protocol or the scale cannot say."""
        ...

    async def tare(self) -> None: ...

    async def zero(self) -> None: ...

    async def wait_connected(self, timeout: float) -> None:
        """Return once connected; DeviceFault "scale disconnected" after ``timeout``."""
        ...

    async def aclose(self) -> None: ...
