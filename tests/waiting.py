"""The tests' one way to wait for something another task, thread or process does.

A condition is polled, never slept on: a test waits exactly as long as the
thing takes, and the bound only turns a hang into a clear failure that says
what was awaited (and, with ``detail``, what the processes involved last said).
Where the product exposes a signal (``MqttConnection.wait_subscribed``, a
process that prints that it is ready), wait on that instead.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Check = Callable[[], bool | Awaitable[bool]]


async def until(check: Check, what: str = "the condition", timeout: float = 10.0, *,
                detail: Callable[[], str] | None = None, interval: float = 0.02) -> None:
    """Return as soon as ``check()`` is true (it may be a coroutine function)."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            more = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{more}")
        await asyncio.sleep(interval)


def wait_until(check: Callable[[], bool], what: str = "the condition", timeout: float = 10.0, *,
               interval: float = 0.005) -> None:
    """``until`` for a test that runs no event loop (a background thread's effect)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
