"""What this kiosk recorded that its reference copy does not show yet.

The bridge's lists lag the floor: a plant moved here offline is still in its old
room in the cached ``plants`` list until the state has the move and the bridge
publishes again. So every saved event also leaves a *fact* (plant X is now in
room B; tag T is used; lot L has 12 plants left), and lookups read facts over
the reference copy. A fact is dropped once its event is settled (accepted or
rejected by the state) and a reference list read after it has arrived: from then
on the list is the truth, whichever way the state decided.

What each event type leaves is ``agent.projection``; ``Floor.remember`` applies
it after the event is saved, and flows read facts only through the ``Floor``.

Facts live in the kiosk's floor database (``agent.cachedb``), next to the
reference copy and the journal. It is a cache: losing it loses no record, only
these hints until the next sync.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS fact (
    kind  TEXT    NOT NULL,   -- plant | batch | harvest | label | hold | scale_check
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,   -- JSON object
    at    INTEGER NOT NULL,   -- unix ms of the latest event behind it
    event TEXT,               -- that event's id
    PRIMARY KEY (kind, key)
) STRICT;
"""

# Which reference list makes a kind of fact obsolete.
REF_FOR_KIND = {"plant": "plants", "batch": "plant_batches", "harvest": "harvests",
                "package": "package_tags"}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Fact:
    value: dict[str, Any]
    at: int
    event: str | None


@dataclass(frozen=True, slots=True)
class Merge:
    """Set ``fields`` of one fact and add ``add`` to its counters; other fields are kept."""

    kind: str
    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Forget:
    """Drop the facts ``event`` left (it was corrected): the kiosk falls back to the lists."""

    event: str


FactChange = Merge | Forget


class LocalFacts:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._facts: dict[tuple[str, str], Fact] = {}

    async def load(self) -> None:
        await self._db.executescript(SCHEMA)
        cursor = await self._db.execute("SELECT kind, key, value, at, event FROM fact")
        for kind, key, value, at, event in await cursor.fetchall():
            self._facts[(kind, key)] = Fact(json.loads(value), at, event)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        fact = self._facts.get((kind, key))
        return fact.value if fact is not None else None

    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(key, fact.value) for (k, key), fact in self._facts.items() if k == kind]

    async def merge(self, kind: str, key: str, event: str | None, **fields: Any) -> dict[str, Any]:
        """Update the fact with ``fields`` (other fields kept); returns the new value."""
        old = self._facts.get((kind, key))
        value = {**(old.value if old else {}), **fields}
        fact = Fact(value, _now_ms(), event)
        await self._db.execute(
            "INSERT INTO fact (kind, key, value, at, event) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, at = excluded.at,"
            " event = excluded.event",
            (kind, key, json.dumps(value, separators=(",", ":")), fact.at, event),
        )
        await self._db.commit()
        self._facts[(kind, key)] = fact
        return value

    async def apply(self, event_id: str, changes: Iterable[FactChange]) -> None:
        """Take what one saved event means here (``agent.projection``), in order."""
        for change in changes:
            if isinstance(change, Forget):
                await self.forget_event(change.event)
                continue
            old = self.get(change.kind, change.key) or {}
            counts = {name: int(old.get(name, 0)) + n for name, n in change.add.items()}
            await self.merge(change.kind, change.key, event_id, **change.fields, **counts)

    async def drop_settled(self, ref_name: str, ref_at_ms: int, settled: set[str]) -> int:
        """Forget facts the reference list ``ref_name`` (read at ``ref_at_ms``) now covers."""
        kinds = {k for k, name in REF_FOR_KIND.items() if name == ref_name}
        stale = [
            key for key, fact in self._facts.items()
            if key[0] in kinds and fact.at < ref_at_ms and (fact.event is None or fact.event in settled)
        ]
        return await self._delete(stale)

    async def forget_event(self, event_id: str) -> int:
        """Drop the facts a corrected event left (what the kiosk believes falls back to the list)."""
        stale = [key for key, fact in self._facts.items() if fact.event == event_id]
        return await self._delete(stale)

    async def _delete(self, stale: list[tuple[str, str]]) -> int:
        """Delete these facts from the file and from memory, in one commit."""
        for kind, key in stale:
            await self._db.execute("DELETE FROM fact WHERE kind = ? AND key = ?", (kind, key))
            del self._facts[(kind, key)]
        if stale:
            await self._db.commit()
        return len(stale)
