"""The kiosk's copy of the reference data the bridge publishes (retained, per name).

Each ``canopy/v1/<facility>/ref/<name>`` message replaces the whole list for
that name. The last good copy of each is kept on disk, so the kiosk checks tags,
rooms, waste lists and scales with the network down, and knows (and shows) how
old each list is. A malformed or foreign message never replaces a good copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from pydantic import ValidationError

from canopy import refdata

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ref (
    name     TEXT    PRIMARY KEY,
    at       TEXT    NOT NULL,   -- when the bridge read it from the state system
    received INTEGER NOT NULL,   -- unix ms when this kiosk got it
    payload  BLOB    NOT NULL    -- the message exactly as published
) STRICT;
"""


@dataclass(frozen=True, slots=True)
class RefCopy:
    name: str
    at: datetime
    received_ms: int
    rows: Any
    payload: bytes


class RefRejected(ValueError):
    """A reference message that was not taken; the text says why (for the log)."""


#: ``check(rows)`` raises ``ValueError`` for rows the kiosk cannot use although the
#: contract's types accept them (e.g. a worker roster whose hashes cannot be checked).
RowCheck = Callable[[Any], None]


class RefCache:
    """The latest copy of each reference list, in memory and in one SQLite table."""

    def __init__(self, db: aiosqlite.Connection, facility: str,
                 checks: Mapping[str, RowCheck] | None = None) -> None:
        self._db = db
        self.facility = facility
        self._checks = dict(checks or {})
        self._copies: dict[str, RefCopy] = {}

    async def load(self) -> None:
        await self._db.executescript(SCHEMA)
        cursor = await self._db.execute("SELECT name, received, payload FROM ref")
        for name, received, payload in await cursor.fetchall():
            try:
                copy = self._decode(bytes(payload), received)
            except RefRejected as exc:
                log.warning("cached reference list %s ignored: %s", name, exc)
                continue
            self._copies[copy.name] = copy

    def _decode(self, payload: bytes, received_ms: int) -> RefCopy:
        try:
            message = refdata.decode(payload)
        except (ValidationError, ValueError) as exc:
            raise RefRejected(f"malformed reference message: {str(exc)[:200]}") from None
        if message.facility != self.facility:
            raise RefRejected(f"reference data for facility {message.facility!r}, this kiosk is"
                              f" {self.facility!r}")
        at = message.at if message.at.tzinfo is not None else message.at.replace(tzinfo=UTC)
        rows = message.rows()
        check = self._checks.get(message.name)
        if check is not None:
            try:
                check(rows)
            except ValueError as exc:
                raise RefRejected(f"{message.name}: {exc}") from None
        return RefCopy(message.name, at, received_ms, rows, payload)

    async def apply(self, name: str, payload: bytes) -> RefCopy | None:
        """Take a message for ``name``; the new copy, or None when nothing changed.

        Raises ``RefRejected`` for a message that must not replace the cached copy.
        """
        copy = self._decode(payload, int(time.time() * 1000))
        if copy.name != name:
            raise RefRejected(f"message on the {name!r} topic holds {copy.name!r}")
        current = self._copies.get(name)
        if current is not None:
            if current.payload == payload:
                return None  # the retained copy again, after a reconnect
            if copy.at < current.at:
                raise RefRejected(f"{name}: older than the cached copy ({copy.at} < {current.at})")
        await self._db.execute(
            "INSERT INTO ref (name, at, received, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at, received = excluded.received,"
            " payload = excluded.payload",
            (name, copy.at.isoformat(), copy.received_ms, payload),
        )
        await self._db.commit()
        self._copies[name] = copy
        return copy

    def rows(self, name: str) -> Any | None:
        copy = self._copies.get(name)
        return copy.rows if copy is not None else None

    def copy(self, name: str) -> RefCopy | None:
        return self._copies.get(name)

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
