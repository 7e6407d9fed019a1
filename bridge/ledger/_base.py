"""What the bridge's ledger promises, whichever database holds it.

Each event id is stored exactly once. A repeated delivery of the same bytes is
a duplicate (answered "stored" again); the same id with different content is a
conflict, kept in quarantine, never allowed to overwrite what was stored.
Messages that break the contract are quarantined with the reason, never dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    id: str
    facility: str
    device: str
    seq: int
    type: str
    at: str
    payload: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that cannot be stored as an event, kept for inspection."""

    topic: str
    reason: str
    payload: bytes
    facility: str | None = None
    device: str | None = None
    event_id: str | None = None


@dataclass
class StoreResult:
    new: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    conflict: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    events: int
    quarantined: int


class Ledger(Protocol):
    """Both calls commit before they return; the caller acks only afterwards."""

    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult: ...

    async def counts(self) -> LedgerCounts: ...

    async def event_ids(self) -> list[str]: ...

    async def quarantined(self, limit: int = 100) -> list[Rejected]: ...

    async def close(self) -> None: ...


def conflict_reason(event_id: str) -> str:
    return f"conflicting duplicate: event {event_id} was already stored with different content"


def dedupe_batch(events: list[IncomingEvent]) -> tuple[list[IncomingEvent], list[IncomingEvent]]:
    """Split a batch into first occurrences and repeats of an id within the batch."""
    seen: dict[str, IncomingEvent] = {}
    repeats: list[IncomingEvent] = []
    for event in events:
        if event.id in seen:
            repeats.append(event)
        else:
            seen[event.id] = event
    return list(seen.values()), repeats
