"""Latest-value fan-out from the kiosk to its screens.

A screen needs what the kiosk looks like *now*, not every intermediate state: a
slow or stalled browser must never make the kiosk queue up snapshots. Each
subscriber holds at most one pending value per kind ("state", "weight"), newer
replacing older, delivered in the order the kinds first changed.
"""

from __future__ import annotations

import asyncio
from typing import Self


class Subscription:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._pending: dict[str, str] = {}
        self._ready = asyncio.Event()
        self._closed = False

    def _put(self, kind: str, data: str) -> None:
        self._pending.pop(kind, None)  # re-insert: order by this change
        self._pending[kind] = data
        self._ready.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> tuple[str, str]:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        kind = next(iter(self._pending))
        return kind, self._pending.pop(kind)

    def close(self) -> None:
        self._closed = True
        self._hub._subs.discard(self)
        self._ready.set()


class Hub:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._latest: dict[str, str] = {}

    def publish(self, kind: str, data: str) -> None:
        self._latest[kind] = data
        for sub in self._subs:
            sub._put(kind, data)

    def subscribe(self) -> Subscription:
        """A new subscription, primed with the latest value of every kind."""
        sub = Subscription(self)
        for kind, data in self._latest.items():
            sub._put(kind, data)
        self._subs.add(sub)
        return sub

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
