"""The Records screen's journal: one line in the worker's words per event this kiosk saved.

The outbox keeps the exact payload and its delivery state; the journal keeps
what to show for it (who, what, which record it corrects). It lives in the
floor database (``agent.cachedb``): a cache, so a lost line only shows the bare
event type.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

SCHEMA = """
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
JOURNAL_KEEP = 2000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: str
    type: str
    summary: str
    user: str
    at: int
    corrects: str | None


class Journal:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def load(self) -> None:
        await self._db.executescript(SCHEMA)

    async def add(self, entry: JournalEntry) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO journal (id, type, summary, user, at, corrects)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (entry.id, entry.type, entry.summary, entry.user, entry.at, entry.corrects),
        )
        await self._db.commit()

    async def entries(self, ids: list[str]) -> dict[str, JournalEntry]:
        rows = await self._where_in("id, type, summary, user, at, corrects", "id", ids)
        return {r[0]: JournalEntry(*r) for r in rows}

    async def corrections_of(self, ids: list[str]) -> dict[str, str]:
        """Old event id -> the id of the event that corrects it."""
        return {r[0]: r[1] for r in await self._where_in("corrects, id", "corrects", ids)}

    async def _where_in(self, columns: str, key: str, ids: list[str]) -> list[aiosqlite.Row]:
        """``columns`` of the journal rows whose ``key`` is one of ``ids`` (none asked: no query)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        cursor = await self._db.execute(f"SELECT {columns} FROM journal WHERE {key} IN ({marks})", ids)
        return list(await cursor.fetchall())

    async def prune(self, keep: int = JOURNAL_KEEP) -> None:
        await self._db.execute(
            "DELETE FROM journal WHERE id NOT IN (SELECT id FROM journal ORDER BY at DESC LIMIT ?)",
            (keep,),
        )
        await self._db.commit()
