"""What the bridge's ledger promises, whichever database holds it.

Each event id is stored exactly once. A repeated delivery of the same bytes is
a duplicate (answered "stored" again); the same id with different content is a
conflict, kept in quarantine, never allowed to overwrite what was stored.
Messages that break the contract are quarantined with the reason, never dropped.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from dataclasses import dataclass, field

from bridge.ledger._queries import LedgerQueries


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    id: str
    facility: str
    device: str
    seq: int
    type: str
    at: str
    payload: bytes
    tags: str = ""  # " TAG1 TAG2 ": the tags it names, for the activity-per-tag report
    # More keys it is found by in the activity report: batch names, ``corrects:<id>``.
    names: tuple[str, ...] = ()

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


class Ledger(LedgerQueries):
    """Every call commits before it returns; the caller acks only afterwards."""

    @abstractmethod
    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult: ...

    @abstractmethod
    async def counts(self) -> LedgerCounts: ...

    @abstractmethod
    async def event_ids(self) -> list[str]: ...

    @abstractmethod
    async def quarantined(self, limit: int = 100) -> list[Rejected]: ...

    @abstractmethod
    async def close(self) -> None: ...


def conflict_reason(event_id: str) -> str:
    return f"conflicting duplicate: event {event_id} was already stored with different content"


def event_tag_rows(events: list[IncomingEvent]) -> list[tuple[str, str]]:
    """``(tag, event id)`` for every tag each event names, for the ``event_tags`` index."""
    return [(key, e.id) for e in events for key in dict.fromkeys([*e.tags.split(), *e.names])]


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
