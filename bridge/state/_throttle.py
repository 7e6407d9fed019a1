"""One licence's pace with its state system, shared by everything that talks to it.

Reference sync, mapping reads, read-backs and writes for one licence all go
through one client, and that client through one ``Throttle`` (state-apis.md
§2.7, "Throttle centrally per license and per vendor key"):

- a ``Retry-After`` (a 429, or a 503 that names one) pauses *every* call of the
  licence, reads and writes, until it has passed; other licences keep going;
- reads take a slot of the licence's GET budget and of its vendor key's (Metrc
  limits GETs per facility and per integrator key, rate and concurrency);
- writes never wait for a GET slot (Metrc limits GETs only), only for the
  licence's own write pace;
- every call's outcome goes to the licence's ``CallWatch``: a call the state
  did not answer (unreachable, 5xx, credentials refused) opens the outage
  record, the next answered call closes it, whichever part of the bridge made it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Literal, Protocol

from bridge.state._errors import (
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateUnavailable,
)

log = logging.getLogger(__name__)

Kind = Literal["read", "write"]

#: A Retry-After longer than this is taken as this: a header saying "come back
#: tomorrow" must not silence a licence without anyone retrying for a day.
MAX_PAUSE_S = 900.0


class CallWatch(Protocol):
    """Told how each state call of one licence ended (the outage record)."""

    async def failed(self, cause: str) -> None:
        """The state did not answer (or refused our credentials)."""
        ...

    async def answered(self) -> None:
        """The state answered (a success or a refusal of the request itself)."""
        ...


class _Spacing:
    """At most ``rate`` starts a second: each start is 1/rate after the previous."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        if rate <= 0:
            raise ValueError("a rate must be positive")
        self._gap = 1.0 / rate
        self._next = 0.0
        self._clock = clock

    async def wait(self) -> None:
        now = self._clock()
        start = max(now, self._next)
        self._next = start + self._gap
        if start > now:
            await asyncio.sleep(start - now)


class ReadBudget:
    """A GET budget: ``per_s`` starts a second and ``at_once`` in flight.

    One per licence, and one per vendor key shared by every licence that uses it.
    """

    def __init__(self, per_s: float, at_once: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if at_once < 1:
            raise ValueError("at_once must be at least 1")
        self.per_s = per_s
        self.at_once = at_once
        self._spacing = _Spacing(per_s, clock)
        self._slots = asyncio.Semaphore(at_once)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            await self._spacing.wait()
            yield


class Throttle:
    """The gate every call of one licence passes (see the module's docstring).

    ``reads`` is the licence's GET budget, ``vendor`` its vendor key's (shared);
    either may be None where the state sets no such limit. ``watch`` is set by
    whoever keeps the outage record (the bridge: the ledger).
    """

    def __init__(
        self,
        licence: str,
        *,
        writes_per_s: float,
        reads: ReadBudget | None = None,
        vendor: ReadBudget | None = None,
        watch: CallWatch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.licence = licence
        self.reads = reads
        self.vendor = vendor
        self.watch = watch
        self._writes = _Spacing(writes_per_s, clock)
        self._clock = clock
        self._not_before = 0.0
        self._passive = False

    @classmethod
    def passive(cls, licence: str) -> Throttle:
        """A gate that holds nothing back: for a bare client whose caller paces it
        (tests, benchmarks). It ignores Retry-After and reports to no one."""
        throttle = cls(licence, writes_per_s=math.inf)
        throttle._passive = True
        return throttle

    @property
    def paused_for(self) -> float:
        """Seconds until the last Retry-After has passed (0 when none is pending)."""
        return max(0.0, self._not_before - self._clock())

    def pause(self, seconds: float) -> None:
        """Nothing of this licence goes out for ``seconds`` (a Retry-After)."""
        if self._passive:
            return
        until = self._clock() + min(max(0.0, seconds), MAX_PAUSE_S)
        if until > self._not_before:
            self._not_before = until
            log.info("%s: the state asked us to wait %.1f s; reads and writes pause", self.licence, seconds)

    @asynccontextmanager
    async def call(self, kind: Kind) -> AsyncIterator[None]:
        """Around one state call: wait its turn, then learn how it ended."""
        async with AsyncExitStack() as stack:
            await self._sit_out_pause()
            if kind == "read":
                for budget in (self.reads, self.vendor):
                    if budget is not None:
                        await stack.enter_async_context(budget.slot())
            else:
                await self._writes.wait()
            try:
                yield
            except StateApiError as exc:
                await self._ended(exc)
                raise
            await self._ended(None)

    async def _sit_out_pause(self) -> None:
        wait = self.paused_for
        while wait > 0:  # a later Retry-After may lengthen the pause while we wait
            await asyncio.sleep(wait)
            wait = self.paused_for

    async def _ended(self, exc: StateApiError | None) -> None:
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, int | float) and hint > 0:
            self.pause(float(hint))
        if self.watch is None or isinstance(exc, StateRateLimited):
            return  # a 429 is an answer about pace, not about access
        if isinstance(exc, StateAuthError):
            await self.watch.failed(f"credentials refused: {exc.message}")
        elif isinstance(exc, StateUnavailable):
            await self.watch.failed(f"unavailable: {exc.message}")
        else:  # success, or the state refused the request itself: it answers
            await self.watch.answered()
