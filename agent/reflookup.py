"""Reading the reference lists in force: what a scan, a room count or a tag check asks.

Small lists (and any v1 list) are answered from memory; a v2 plant list or tag
pool from SQLite, by one indexed read on the kiosk's reader connection, seeing
only the parts of the manifest in force (``ref_live``). Taking new copies in is
``agent.refcache``'s job, which is this class with the write side added.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from canopy import refdata
from canopy.refdata import Plant, RefManifest, TagRange

SCHEMA = """
CREATE TABLE IF NOT EXISTS ref (
    name     TEXT    PRIMARY KEY,
    at       TEXT    NOT NULL,   -- when the bridge read it from the state system
    received INTEGER NOT NULL,   -- unix ms when this kiosk got it
    payload  BLOB    NOT NULL    -- the whole list (v1) or the manifest in force (v2), as published
) STRICT;
-- v2: a manifest whose parts are still arriving.
CREATE TABLE IF NOT EXISTS ref_pending (
    name    TEXT PRIMARY KEY,
    payload BLOB NOT NULL
) STRICT;
-- v2: every part received (in force, pending, or arrived before its manifest).
CREATE TABLE IF NOT EXISTS ref_part (
    name TEXT    NOT NULL,
    part TEXT    NOT NULL,       -- its id: the hash of its payload
    rows INTEGER NOT NULL,       -- what it adds to the manifest's count
    PRIMARY KEY (name, part)
) STRICT, WITHOUT ROWID;
-- v2: the parts of the manifest in force; lookups see only these.
CREATE TABLE IF NOT EXISTS ref_live (
    name TEXT NOT NULL,
    part TEXT NOT NULL,
    PRIMARY KEY (name, part)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ref_row (
    name TEXT NOT NULL,
    key  TEXT NOT NULL,          -- a plant's tag; else the row's place in its part
    part TEXT NOT NULL,
    body TEXT NOT NULL,          -- the row as JSON
    loc   TEXT,                  -- a plant's location and phase, so a room's scan
    phase TEXT,                  -- counts by index, without reading every body
    PRIMARY KEY (name, key, part)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ref_row_loc ON ref_row (name, loc, phase) WHERE loc IS NOT NULL;
CREATE TABLE IF NOT EXISTS ref_range (
    name   TEXT    NOT NULL,
    prefix TEXT    NOT NULL,     -- the tag before its serial (canopy.refdata.split_tag)
    width  INTEGER NOT NULL,     -- digits in the serial; 0: a tag without one
    start  INTEGER NOT NULL,
    part   TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (name, prefix, width, start, part)
) STRICT, WITHOUT ROWID;
"""

_LIVE = "JOIN ref_live l ON l.name = r.name AND l.part = r.part"


@dataclass(frozen=True, slots=True)
class RefCopy:
    name: str
    at: datetime
    received_ms: int
    rows: Any  # None for a v2 plant list or tag pool: ask ``RefCache.plant``/``in_pool``
    payload: bytes
    version: str | None = None  # the v2 version in force (None: a whole v1 list)
    # A v1 plant list by tag, or a v1 tag pool as a set, for lookups.
    index: Mapping[str, Any] | frozenset[str] = field(default_factory=frozenset)


def range_key(r: TagRange) -> tuple[str, int, int]:
    """``(prefix, width, start)`` of a range as ``ref_range`` stores it."""
    parts = refdata.split_tag(r.first)
    if parts is None:
        return r.first, 0, 0
    prefix, serial, width = parts
    return prefix, width, serial


class RefLookups:
    def __init__(self, reader: sqlite3.Connection | None) -> None:
        self._reader = reader
        self._copies: dict[str, RefCopy] = {}
        self._pending: dict[str, RefManifest] = {}

    def rows(self, name: str) -> Any | None:
        copy = self._copies.get(name)
        return copy.rows if copy is not None else None

    def copy(self, name: str) -> RefCopy | None:
        return self._copies.get(name)

    def pending(self, name: str) -> RefManifest | None:
        """The manifest whose parts are still arriving, if any."""
        return self._pending.get(name)

    def plant(self, tag: str) -> Plant | None:
        """The plant ``tag`` in the list in force (one indexed read for a v2 list)."""
        copy = self._copies.get("plants")
        if copy is None:
            return None
        if copy.version is None:
            found: Plant | None = copy.index.get(tag) if isinstance(copy.index, Mapping) else None
            return found
        row = self._read(f"SELECT r.body FROM ref_row r {_LIVE} WHERE r.name = 'plants' AND r.key = ?"
                         " LIMIT 1", (tag,)).fetchone()
        return Plant.model_validate_json(row[0]) if row is not None else None

    def plant_tags(self) -> list[str]:
        copy = self._copies.get("plants")
        if copy is None:
            return []
        if copy.version is None:
            return list(copy.index)
        cursor = self._read(f"SELECT r.key FROM ref_row r {_LIVE} WHERE r.name = 'plants'", ())
        return [key for key, in cursor]

    def plants_at(self, location: str) -> list[Plant]:
        """The plants the list in force puts in ``location``."""
        copy = self._copies.get("plants")
        if copy is None:
            return []
        if copy.version is None:
            return [row for row in copy.rows if row.location == location]
        cursor = self._read(f"SELECT r.body FROM ref_row r {_LIVE} WHERE r.name = 'plants'"
                            " AND r.loc = ?", (location,))
        return [Plant.model_validate_json(body) for body, in cursor]

    def count_at(self, location: str, phases: Iterable[str]) -> int:
        """How many plants the list in force puts in ``location`` in one of ``phases``."""
        copy = self._copies.get("plants")
        if copy is None:
            return 0
        wanted = tuple(phases)
        if copy.version is None:
            return sum(1 for row in copy.rows if row.location == location and row.phase in wanted)
        marks = ", ".join("?" * len(wanted))
        row = self._read(f"SELECT count(*) FROM ref_row r {_LIVE} WHERE r.name = 'plants'"
                         f" AND r.loc = ? AND r.phase IN ({marks})", (location, *wanted)).fetchone()
        return int(row[0])

    def in_pool(self, name: str, tag: str) -> bool:
        """``tag`` is in the tag pool ``name`` in force (O(log n) for a v2 pool)."""
        copy = self._copies.get(name)
        if copy is None:
            return False
        if copy.version is None:
            return tag in copy.index
        prefix, width, serial = range_key(TagRange(first=tag, count=1))
        row = self._read(
            f"SELECT r.start, r.count FROM ref_range r {_LIVE} WHERE r.name = ? AND r.prefix = ?"
            " AND r.width = ? AND r.start <= ? ORDER BY r.start DESC LIMIT 1",
            (name, prefix, width, serial)).fetchone()
        return row is not None and serial < row[0] + row[1]

    def pool(self, name: str) -> Iterator[str]:
        """The tags of pool ``name`` in force, in order (lazily: a pool may hold many)."""
        copy = self._copies.get(name)
        if copy is None:
            return
        if copy.version is None:
            yield from sorted(copy.index)
            return
        cursor = self._read(f"SELECT r.prefix, r.width, r.start, r.count FROM ref_range r {_LIVE}"
                            " WHERE r.name = ? ORDER BY r.prefix, r.width, r.start", (name,))
        for prefix, width, start, count in cursor.fetchall():
            if width == 0:
                yield prefix
            else:
                yield from (f"{prefix}{n:0{width}d}" for n in range(start, start + count))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def _read(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        if self._reader is None:
            raise RuntimeError("RefCache needs a reader connection for lists kept on disk")
        return self._reader.execute(sql, params)

    def at_ms(self, name: str) -> int | None:
        copy = self._copies.get(name)
        return int(copy.at.timestamp() * 1000) if copy is not None else None

    def summary(self) -> dict[str, Any]:
        """For the status bar: the oldest list and what was never received."""
        ats = {name: copy.at for name, copy in self._copies.items()}
        missing = [name for name in refdata.REF_NAMES if name not in ats]
        oldest = min(ats.values()) if ats else None
        return {
            "oldest_at_ms": int(oldest.timestamp() * 1000) if oldest else None,
            "missing": missing,
            "lists": {name: int(at.timestamp() * 1000) for name, at in sorted(ats.items())},
        }
