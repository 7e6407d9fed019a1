"""Debounce and hold timing for a foot switch, the same on every pin factory.

gpiozero leaves debouncing to the pin library, and each does it differently:
RPi.GPIO and gpiozero's native pins drop edges for ``bounce`` after one (a lockout,
so a spike still counts), lgpio waits for the level to be stable, and gpiozero's
MockPin ignores ``bounce`` altogether ("XXX Need to implement this"). A pedal that
confirms a weight must not fire twice or on a spike from the room's ballasts, on
every board and in the sim, so the pin delivers raw edges and this class decides:
a level counts once it has held for ``bounce`` seconds; a press is a settled
down -> up that did not last ``hold`` seconds, a hold is a settled down that did.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

log = logging.getLogger(__name__)


class PedalAction(StrEnum):
    PRESS = "press"  # down and up again before hold_time: reported on release
    HOLD = "hold"  # down for hold_time: reported then, and its release is silent


class Switch:
    """Settles raw edges in one thread of its own and calls ``report`` from there."""

    def __init__(
        self,
        read_down: Callable[[], bool],
        report: Callable[[PedalAction], None],
        *,
        bounce: float,
        hold: float,
        name: str,
    ) -> None:
        self._read_down = read_down
        self._report = report
        self._bounce = bounce
        self._hold = hold
        self._cond = threading.Condition()
        self._edge_at: float | None = None  # an edge waiting to settle
        self._down = read_down()
        self._down_at = 0.0
        # Down already at start: a foot that was there before us is not a press.
        self._held = self._down
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def down(self) -> bool:
        return self._down

    @property
    def held(self) -> bool:
        return self._down and self._held

    def edge(self) -> None:
        """The pin changed (any thread, e.g. gpiozero's callback thread)."""
        with self._cond:
            self._edge_at = time.monotonic()
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` holds (checked after each settled change)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed or predicate(), timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                wake = self._step(now)
                if wake is None or wake > now:
                    self._cond.wait(None if wake is None else wake - now)

    def _step(self, now: float) -> float | None:
        """Act on what is due at ``now``; return when to look again (None: at an edge)."""
        if self._edge_at is not None:
            settles = self._edge_at + self._bounce
            if now < settles:
                return settles
            edge_at, self._edge_at = self._edge_at, None
            try:
                down = self._read_down()
            except Exception:  # pin closed under us: close() is on its way
                log.debug("pedal read failed", exc_info=True)
                return None
            if down != self._down:
                self._settle(down, edge_at)
            return now
        if self._down and not self._held:
            due = self._down_at + self._hold
            if now < due:
                return due
            self._held = True
            self._cond.notify_all()
            self._report(PedalAction.HOLD)
        return None

    def _settle(self, down: bool, at: float) -> None:
        self._down = down
        self._cond.notify_all()
        if down:
            self._down_at, self._held = at, False
        elif not self._held:
            self._report(PedalAction.PRESS)
