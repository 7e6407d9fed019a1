"""What this kiosk recorded that its reference copy does not show yet.

The bridge's lists lag the floor: a plant moved here offline is still in its old
room in the cached ``plants`` list until the state has the move and the bridge
publishes again. So every saved event also leaves a *fact* (plant X is now in
room B; tag T is used; lot L has 12 plants left), and lookups read facts over
the reference copy. A fact is dropped once its event is settled (accepted or
rejected by the state) and a reference list read after it has arrived: from then
on the list is the truth, whichever way the state decided.

The journal keeps a one-line summary per event for the Records screen (the
outbox keeps the exact payload and its delivery state).

Both live in the kiosk's floor database, next to the reference copy. It is a
cache: losing it loses no record, only these hints until the next sync.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS fact (
    kind  TEXT    NOT NULL,   -- plant | batch | harvest | label
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,   -- JSON object
    at    INTEGER NOT NULL,   -- unix ms of the latest event behind it
    event TEXT,               -- that event's id
    PRIMARY KEY (kind, key)
) STRICT;
CREATE TABLE IF NOT EXISTS journal (
    id      TEXT    PRIMARY KEY,
    type    TEXT    NOT NULL,
    summary TEXT    NOT NULL,
    user    TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    corrects TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS journal_corrects ON journal(corrects) WHERE corrects IS NOT NULL;
"""

# Which reference list makes a kind of fact obsolete.
REF_FOR_KIND = {"plant": "plants", "batch": "plant_batches", "harvest": "harvests"}
JOURNAL_KEEP = 2000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Fact:
    value: dict[str, Any]
    at: int
    event: str | None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: str
    type: str
    summary: str
    user: str
    at: int
    corrects: str | None


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

    async def drop_settled(self, ref_name: str, ref_at_ms: int, settled: set[str]) -> int:
        """Forget facts the reference list ``ref_name`` (read at ``ref_at_ms``) now covers."""
        kinds = {k for k, name in REF_FOR_KIND.items() if name == ref_name}
        stale = [
            key for key, fact in self._facts.items()
            if key[0] in kinds and fact.at < ref_at_ms and (fact.event is None or fact.event in settled)
        ]
        for kind, key in stale:
            await self._db.execute("DELETE FROM fact WHERE kind = ? AND key = ?", (kind, key))
            del self._facts[(kind, key)]
        if stale:
            await self._db.commit()
        return len(stale)

    async def forget_event(self, event_id: str) -> int:
        """Drop the facts a corrected event left (what the kiosk believes falls back to the list)."""
        stale = [key for key, fact in self._facts.items() if fact.event == event_id]
        for kind, key in stale:
            await self._db.execute("DELETE FROM fact WHERE kind = ? AND key = ?", (kind, key))
            del self._facts[(kind, key)]
        if stale:
            await self._db.commit()
        return len(stale)

    # --- journal ---------------------------------------------------------------

    async def journal(self, entry: JournalEntry) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO journal (id, type, summary, user, at, corrects)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (entry.id, entry.type, entry.summary, entry.user, entry.at, entry.corrects),
        )
        await self._db.commit()

    async def entries(self, ids: list[str]) -> dict[str, JournalEntry]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        cursor = await self._db.execute(
            f"SELECT id, type, summary, user, at, corrects FROM journal WHERE id IN ({marks})", ids
        )
        return {r[0]: JournalEntry(*r) for r in await cursor.fetchall()}

    async def corrections_of(self, ids: list[str]) -> dict[str, str]:
        """Old event id -> the id of the event that corrects it."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        cursor = await self._db.execute(
            f"SELECT corrects, id FROM journal WHERE corrects IN ({marks})", ids
        )
        return {r[0]: r[1] for r in await cursor.fetchall()}

    async def prune_journal(self, keep: int = JOURNAL_KEEP) -> None:
        await self._db.execute(
            "DELETE FROM journal WHERE id NOT IN (SELECT id FROM journal ORDER BY at DESC LIMIT ?)",
            (keep,),
        )
        await self._db.commit()
