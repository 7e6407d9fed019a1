"""The kiosk's durable outbox: every event is on disk before anyone hears "saved".

SQLite in WAL mode with ``synchronous=FULL`` (WAL+NORMAL may roll back the last
commits on power loss; reference/edge-anchors.md §5). An append is ONE
autocommit INSERT, so it is one trip to aiosqlite's thread and one fsync; the
caller gets the event back only after that commit.

States only move forward: pending → stored (the bridge committed it) →
accepted / rejected (the state system's answer). The bridge may also reject an
event straight from pending ("rejected: invalid"). Settled rows are pruned
after the retention period; nothing else is ever deleted or edited.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite
from pydantic import BaseModel

from canopy.events import MAX_EVENT_BYTES, Event, InvalidEvent, Payload, build_event
from canopy.ids import uuid7

log = logging.getLogger(__name__)

State = Literal["pending", "stored", "accepted", "rejected"]
_RANK: dict[str, int] = {"pending": 0, "stored": 1, "accepted": 2, "rejected": 2}

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,  -- the event's per-device seq, never reused
    id       TEXT    NOT NULL UNIQUE,            -- UUIDv7, the idempotency key
    type     TEXT    NOT NULL,
    payload  BLOB    NOT NULL,                   -- the exact bytes published
    created  INTEGER NOT NULL,                   -- unix ms, informational
    state    TEXT    NOT NULL DEFAULT 'pending'
             CHECK (state IN ('pending', 'stored', 'accepted', 'rejected')),
    changed  INTEGER NOT NULL,                   -- unix ms of the last state change
    message  TEXT                                -- why it was rejected, in the state's words
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_settled ON outbox(changed) WHERE state IN ('accepted', 'rejected');
"""


class OutboxFault(Exception):
    """The kiosk cannot save: the message is for the worker and IT, as is."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class RecordRow:
    seq: int
    id: str
    type: str
    state: State
    created: int
    changed: int
    message: str | None


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_pending_ms: int | None  # unix ms of the oldest unsent event
    stored: int
    accepted: int
    rejected: int

    def oldest_age_s(self, now_ms: int | None = None) -> float | None:
        if self.oldest_pending_ms is None:
            return None
        now_ms = now_ms if now_ms is not None else _now_ms()
        return max(0.0, (now_ms - self.oldest_pending_ms) / 1000)


@dataclass(frozen=True, slots=True)
class Settlement:
    id: str
    state: State
    message: str | None = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _fault(exc: sqlite3.Error, consequence: str) -> OutboxFault:
    """Map SQLite errors to what a person can act on (one place for all of them).

    ``consequence`` says what did not happen, e.g. "this record was NOT saved".
    """
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith("SQLITE_FULL"):
        text = f"Kiosk storage is full: {consequence}. Free space or call IT."
    elif name.startswith("SQLITE_READONLY") or "readonly" in str(exc):
        text = f"Kiosk storage is read-only: {consequence}. Call IT (the disk may be failing)."
    elif name.startswith(("SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTADB")):
        text = f"Kiosk storage error: {consequence}. Call IT ({name})."
    elif name.startswith("SQLITE_CANTOPEN"):
        text = f"Kiosk storage cannot be opened: {consequence}. Call IT."
    else:
        text = f"Kiosk storage problem: {consequence} ({exc})."
    return OutboxFault(text)


class Outbox:
    """Append, read for sending, settle by acks, prune. One writer per file."""

    def __init__(self, db: aiosqlite.Connection, path: Path, facility: str, device: str) -> None:
        self._db = db
        self.path = path
        self.facility = facility
        self.device = device
        self._lock = asyncio.Lock()
        self._next_seq = 1
        self._appended = asyncio.Event()

    @classmethod
    async def open(cls, path: Path, *, facility: str, device: str) -> Outbox:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxFault(f"Kiosk storage cannot be opened at {path}: {exc}. Call IT.") from None
        outbox = cls(db, path, facility, device)
        try:
            await outbox._prepare()
        except sqlite3.Error as exc:
            await db.close()
            raise _fault(exc, "the outbox cannot be opened") from None
        return outbox

    async def _prepare(self) -> None:
        db = self._db
        check = await (await db.execute("PRAGMA quick_check")).fetchone()
        if check is None or check[0] != "ok":
            raise OutboxFault(
                f"Kiosk outbox {self.path} is damaged ({check[0] if check else '?'}). "
                "Do not delete it: call IT to move it aside and recover unsent events."
            )
        # auto_vacuum only takes effect before the first table is created.
        await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = FULL")
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.execute("PRAGMA journal_size_limit = 16777216")
        version = (await (await db.execute("PRAGMA user_version")).fetchone() or (0,))[0]
        if version > SCHEMA_VERSION:
            raise OutboxFault(
                f"Kiosk outbox {self.path} was written by a newer Canopy (v{version}); upgrade."
            )
        await db.executescript(_SCHEMA)
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # seq continues after pruning: AUTOINCREMENT remembers the highest ever used.
        row = await (
            await db.execute(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
                " coalesce((SELECT max(seq) FROM outbox), 0))"
            )
        ).fetchone()
        self._next_seq = (row[0] if row else 0) + 1

    async def close(self) -> None:
        await self._db.close()

    # --- writing --------------------------------------------------------------

    async def append(
        self,
        data: Payload | str,
        body: BaseModel | dict[str, Any] | None = None,
        *,
        user: str,
        witness: str | None = None,
        corrects: str | None = None,
        at: datetime | None = None,
    ) -> Event:
        """Make the event, commit it, and only then return it.

        ``data`` is the payload, which names its type (``append(PlantMoved(...))``);
        tools and tests may instead give the type's name and a ``body`` to validate.

        Raises ``InvalidEvent`` (bad data: nothing saved) or ``OutboxFault``
        (storage problem: nothing saved, everything saved before is intact).
        """
        async with self._lock:
            seq = self._next_seq
            type_, content = (data.type_name, data) if isinstance(data, Payload) else (data, body or {})
            event = build_event(
                type_,
                content,
                id=uuid7(),
                facility=self.facility,
                device=self.device,
                user=user,
                at=at or datetime.now(UTC),
                seq=seq,
                witness=witness,
                corrects=corrects,
            )
            payload = event.to_json()
            if len(payload) > MAX_EVENT_BYTES:
                raise InvalidEvent(
                    f"event too large to send ({len(payload)} bytes, limit {MAX_EVENT_BYTES})"
                )
            now = _now_ms()
            try:
                # One autocommit statement: one fsync, atomic, durable on return.
                await self._db.execute(
                    "INSERT INTO outbox (seq, id, type, payload, created, changed)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (seq, event.id, event.type, payload, now, now),
                )
            except sqlite3.Error as exc:
                raise _fault(exc, "this record was NOT saved") from None
            self._next_seq = seq + 1
        self._appended.set()
        return event

    async def settle(self, settlements: Iterable[Settlement]) -> int:
        """Apply acks in one transaction; states only move forward. Returns rows changed."""
        rows = [
            (s.state, _now_ms(), s.message, s.id, _RANK[s.state]) for s in settlements
        ]
        if not rows:
            return 0
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = await self._db.executemany(
                    "UPDATE outbox SET state = ?, changed = ?, message = ? WHERE id = ? AND"
                    " (CASE state WHEN 'pending' THEN 0 WHEN 'stored' THEN 1 ELSE 2 END) < ?",
                    rows,
                )
                changed = cursor.rowcount
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _fault(exc, "the bridge's acknowledgement was not recorded") from None
        return changed

    async def prune(self, retention_s: float, *, batch: int = 500) -> int:
        """Delete settled rows older than the retention, a batch at a time."""
        cutoff = _now_ms() - int(retention_s * 1000)
        total = 0
        try:
            while True:
                cursor = await self._db.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
                    " WHERE state IN ('accepted', 'rejected') AND changed < ? LIMIT ?)",
                    (cutoff, batch),
                )
                total += cursor.rowcount
                if cursor.rowcount < batch:
                    break
                await asyncio.sleep(0)  # let scans in between batches
            if total:
                await self._db.execute("PRAGMA incremental_vacuum")
        except sqlite3.Error as exc:
            log.warning("pruning the outbox failed: %s", exc)
        return total

    # --- reading --------------------------------------------------------------

    async def wait_appended(self) -> None:
        """Wait until something was appended since the last call."""
        await self._appended.wait()
        self._appended.clear()

    async def pending_after(self, seq: int, limit: int) -> list[OutboxRow]:
        cursor = await self._db.execute(
            "SELECT seq, id, payload FROM outbox WHERE state = 'pending' AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [OutboxRow(r[0], r[1], r[2]) for r in await cursor.fetchall()]

    async def pending_by_id(self, ids: Sequence[str]) -> list[OutboxRow]:
        """Rows among ``ids`` still waiting for the bridge (for republishing)."""
        found: list[OutboxRow] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = await self._db.execute(
                f"SELECT seq, id, payload FROM outbox WHERE state = 'pending' AND id IN ({marks})"
                " ORDER BY seq",
                chunk,
            )
            found.extend(OutboxRow(r[0], r[1], r[2]) for r in await cursor.fetchall())
        return found

    async def backlog(self) -> Backlog:
        cursor = await self._db.execute(
            "SELECT"
            " (SELECT count(*) FROM outbox WHERE state = 'pending'),"
            " (SELECT min(created) FROM outbox WHERE state = 'pending'),"
            " (SELECT count(*) FROM outbox WHERE state = 'stored'),"
            " (SELECT count(*) FROM outbox WHERE state = 'accepted'),"
            " (SELECT count(*) FROM outbox WHERE state = 'rejected')"
        )
        row = await cursor.fetchone()
        assert row is not None
        return Backlog(row[0], row[1], row[2], row[3], row[4])

    async def unsent(self) -> tuple[int, int | None]:
        """Pending count and the oldest pending time (ms), from the partial index only."""
        cursor = await self._db.execute(
            "SELECT count(*), min(created) FROM outbox WHERE state = 'pending'"
        )
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), row[1]

    async def recent(self, limit: int = 50) -> list[RecordRow]:
        cursor = await self._db.execute(
            "SELECT seq, id, type, state, created, changed, message FROM outbox"
            " ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [RecordRow(*r) for r in await cursor.fetchall()]

    async def states(self) -> dict[str, State]:
        """Every row's state by id (tests and ``canopy doctor``)."""
        cursor = await self._db.execute("SELECT id, state FROM outbox")
        return {r[0]: r[1] for r in await cursor.fetchall()}
