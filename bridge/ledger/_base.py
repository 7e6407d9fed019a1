"""What the bridge's ledger promises, whichever database holds it.

Each event id is stored exactly once. A repeated delivery of the same bytes is
a duplicate (answered "stored" again); the same id with different content is a
conflict, kept in quarantine, never allowed to overwrite what was stored.
Messages that break the contract are quarantined with the reason, never dropped.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bridge.ledger._chain import EVENT, Entry, Tx, append, event_digest, locked_head
from bridge.ledger._queries import LAST_SEQ, Fence, LedgerQueries, now_ms

# Columns the attempts table gained with the write-ahead intents, added to older ledgers.
ATTEMPT_COLUMNS = {"bridge": "TEXT NOT NULL DEFAULT ''", "digest": "TEXT NOT NULL DEFAULT ''"}


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
    # sha256 of the payload, computed once: the store reads it for the row, the chain
    # entry and the duplicate check.
    digest: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", hashlib.sha256(self.payload).hexdigest())


# What ingest writes of a new event (the verdict columns keep their defaults until settled).
STORED_COLUMNS = ("id", "facility", "device", "seq", "type", "at", "received", "digest", "payload", "tags")


def stored_row(e: IncomingEvent, received: int) -> tuple[str, str, str, int, str, str, int, str, bytes, str]:
    """``e``'s row in ``events`` (``STORED_COLUMNS``), received at ``received`` (unix ms)."""
    return (e.id, e.facility, e.device, e.seq, e.type, e.at, received, e.digest, e.payload, e.tags)


def stored_entry(e: IncomingEvent, received: int) -> Entry:
    """``e``'s entry in its facility's chain, as stored at ``received``."""
    return Entry(e.facility, EVENT, e.id, event_digest(e.id, e.facility, e.device, e.seq, e.type, e.at,
                                                       received, e.digest, e.tags))


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
    # Quarantine records over their device's bound: counted in the ledger, not kept.
    not_kept: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QuarantineBound:
    """How much quarantine one device (one facility/device pair; messages off kiosk
    topics share one) may fill: a flood of garbage from one login must not fill
    the ledger's disk, nor push out another kiosk's records."""

    rows: int = 1000
    bytes: int = 16 * 1024 * 1024


# (kept rows, kept bytes, not kept) per (facility, device): the ledger's counter rows.
QuarantineCounts = dict[tuple[str, str], tuple[int, int, int]]


def quarantine_key(record: Rejected) -> tuple[str, str]:
    return (record.facility or "", record.device or "")


def bound_quarantine(records: list[Rejected], counts: QuarantineCounts,
                     bound: QuarantineBound) -> tuple[list[Rejected], list[Rejected], QuarantineCounts]:
    """Split ``records`` into those kept and those only counted, and the new counters."""
    totals = dict(counts)
    kept: list[Rejected] = []
    dropped: list[Rejected] = []
    for record in records:
        key = quarantine_key(record)
        rows, size, over = totals.get(key, (0, 0, 0))
        if rows + 1 <= bound.rows and size + len(record.payload) <= bound.bytes:
            kept.append(record)
            totals[key] = (rows + 1, size + len(record.payload), over)
        else:
            dropped.append(record)
            totals[key] = (rows, size, over + 1)
    return kept, dropped, totals


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    events: int
    quarantined: int


class Ledger(LedgerQueries):
    """Every call commits before it returns; the caller acks only afterwards."""

    # Set by ingest from its settings; the default holds for tools that only read.
    quarantine_bound: QuarantineBound = QuarantineBound()
    # What opening it changed to bring an older ledger's schema to this version's.
    upgraded: Sequence[str] = ()

    async def complete_schema(self) -> list[str]:
        """What ``open`` may leave to another process (PostgreSQL's late indexes), done now
        (`canopy bridge migrate`); what this call did."""
        return []

    @abstractmethod
    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult: ...

    async def store_first(self, key: str, facility: str, device: str,
                          make: Callable[[int], IncomingEvent]) -> str | None:
        """Store the event ``make(seq)`` builds (``seq``: the device's next at the facility)
        unless an event already names ``key``: then that event's id, and nothing stored.
        The look, the seq and the write are one transaction holding the facility's chain
        head, so callers racing on one key (two console processes, say) store one event
        between them, and never two with one seq."""
        found: list[str] = []

        async def work(tx: Tx) -> None:
            found.clear()  # a transaction run again on a new connection starts afresh
            await locked_head(tx, facility)
            [(named,)] = await tx.fetch("SELECT min(event_id) FROM event_tags WHERE tag = ?", (key,))
            if named is not None:
                found.append(str(named))
                return
            [(last,)] = await tx.fetch(LAST_SEQ, (facility, device))
            event, now = make(int(last or 0) + 1), now_ms()
            await tx.insert_rows("events", STORED_COLUMNS, [stored_row(event, now)])
            await tx.insert_rows("event_tags", TAG_COLUMNS, event_tag_rows([event]))
            await append(tx, [stored_entry(event, now)])

        await self._in_tx(work)
        return found[0] if found else None

    @abstractmethod
    async def counts(self) -> LedgerCounts: ...

    @abstractmethod
    async def event_ids(self) -> list[str]: ...

    @abstractmethod
    async def quarantined(self, limit: int = 100) -> list[Rejected]: ...

    @abstractmethod
    async def close(self) -> None: ...

    # --- who submits which licence ----------------------------------------------
    # A SQLite ledger serves one bridge process (``claim_submitting`` refuses a
    # second), which then holds every licence; PostgreSQL keeps a lease per licence.

    @abstractmethod
    async def claim_submitting(self, bridge: str) -> None:
        """Called once before submitting; raises ``UserError`` if this ledger cannot
        have another bridge submitting from it."""

    async def bridges_alive(self, bridge: str, ttl_s: float) -> int:
        """Say this bridge is alive; how many bridges are (this one included)."""
        return 1

    async def acquire_lease(self, facility: str, holder: str, ttl_s: float, *,
                            reclaim: bool = False) -> int | None:
        """The fencing token if this bridge now holds the licence's lease, else None.
        ``reclaim``: take it back from an earlier process of the same bridge id."""
        return 1

    async def renew_leases(self, fences: list[Fence], ttl_s: float) -> set[str]:
        """Extend the leases still held; the licences among ``fences`` still held."""
        return {f.facility for f in fences}

    async def release_lease(self, fence: Fence) -> None:
        return None

    async def lease_holders(self) -> dict[str, str]:
        """Licence → the bridge holding its lease now (unexpired leases only)."""
        return {}


def conflict_reason(event_id: str) -> str:
    return f"conflicting duplicate: event {event_id} was already stored with different content"


# An ``event_tags`` row: the key, the event, and the event's time (``events.at``), so a
# key's period is read by the (tag, at) index, not its whole history.
TAG_COLUMNS = ("tag", "event_id", "at")
# Its index on SQLite: (name, definition); it holds event_id too (a WITHOUT ROWID table's key
# is in each of its indexes). PostgreSQL's names event_id itself (``_postgres.py``).
TAG_TIME_INDEX = ("event_tags_at", "event_tags(tag, at)")


def event_tag_rows(events: list[IncomingEvent]) -> list[tuple[str, str, str]]:
    """``TAG_COLUMNS`` for every key each event names, for the ``event_tags`` index."""
    return [(key, e.id, e.at) for e in events for key in dict.fromkeys([*e.tags.split(), *e.names])]


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
