"""What a reference-data source is, and the one read helper every source shares."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from bridge.state import StateRateLimited

log = logging.getLogger(__name__)

T = TypeVar("T")

# A 429 on one read is retried in place (after Retry-After) rather than failing the
# whole sync: starting over would spend the facility's GET budget on the reads that
# already succeeded. Past these bounds the 429 goes up to RefSync's loop.
RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER_S = 60.0


class RefSource(Protocol):
    """One state system's reads, mapped to ``canopy.refdata`` rows.

    ``provides`` names what ``fetch`` returns. A name a source does not provide
    is never published for that facility: a kiosk that finds no retained message
    for a name says "cannot be checked offline" instead of refusing everything
    against an empty list.
    """

    @property
    def provides(self) -> frozenset[str]: ...

    async def fetch(self) -> dict[str, list[Any]]:
        """Every provided name's rows, read now. Raises a ``bridge.state`` error."""
        ...


async def read_patiently(read: Callable[[], Awaitable[T]], what: str) -> T:
    """Run one state read, waiting out a 429's ``Retry-After`` a few times."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            return await read()
        except StateRateLimited as exc:
            if attempt == RATE_LIMIT_RETRIES or exc.retry_after > MAX_RETRY_AFTER_S:
                raise
            log.info("reading %s: rate limited, retrying in %.1f s", what, exc.retry_after)
            await asyncio.sleep(exc.retry_after)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
