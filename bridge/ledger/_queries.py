"""Ledger queries past ingest, written once for both databases.

Each backend supplies ``_fetch`` / ``_exec`` / ``_exec_many`` (one transaction
per call) taking SQL with ``?`` placeholders; PostgreSQL's turns them into
``%s``. Only ``store`` (the ingest hot path) is written per backend.

Status of an event in the ledger: ``stored`` (waiting for the state) →
``accepted`` / ``rejected`` with the state's message. ``answered`` records that
the final answer reached the broker for the kiosk (QoS 1 PUBACK), so an answer
lost in a crash is sent again.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class ToSubmit:
    id: str
    facility: str
    device: str
    seq: int
    type: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """The state's verdict on one event, as recorded and as told to its kiosk."""

    id: str
    status: str  # "accepted" | "rejected"
    message: str = ""


@dataclass(frozen=True, slots=True)
class Unanswered:
    id: str
    facility: str
    device: str
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class Outage:
    n: int
    facility: str
    started: int  # unix ms
    ended: int | None
    cause: str
    alerted: bool

    def hours(self, now: int | None = None) -> float:
        end = self.ended if self.ended is not None else (now or now_ms())
        return (end - self.started) / 3_600_000


@dataclass(frozen=True, slots=True)
class Attempt:
    at: int
    facility: str
    endpoint: str
    event_ids: list[str]
    outcome: str
    http_status: int | None
    detail: str


class LedgerQueries(ABC):
    # Wall clock in unix ms; tests replace it to let days of outage pass in seconds.
    clock: Callable[[], int] = staticmethod(now_ms)

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    @abstractmethod
    async def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    # --- submission -----------------------------------------------------------

    async def to_submit(self, facility: str, limit: int) -> list[ToSubmit]:
        """Events waiting for the state, oldest first, each kiosk in its own order."""
        rows = await self._fetch(
            "SELECT id, facility, device, seq, type, payload FROM events"
            " WHERE facility = ? AND status = 'stored' ORDER BY received, device, seq LIMIT ?",
            (facility, limit),
        )
        return [ToSubmit(str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), bytes(r[5]))
                for r in rows]

    async def settle(self, answers: Sequence[Answer]) -> None:
        """Record verdicts; an event already settled keeps its first verdict."""
        if answers:
            await self._exec_many(
                "UPDATE events SET status = ?, message = ?, settled = ?, answered = 0"
                " WHERE id = ? AND status = 'stored'",
                [(a.status, a.message, self.clock(), a.id) for a in answers],
            )

    async def keep_readback(self, event_id: str, picture: str) -> None:
        """Keep what the read-back of ``event_id`` must compare with (JSON), replacing
        an older picture: it is taken again before every send. Pictures of settled
        events are dropped here, on this rare path, not on every settle."""
        await self._exec("DELETE FROM readbacks WHERE event_id IN (SELECT id FROM events"
                         " WHERE id IN (SELECT event_id FROM readbacks) AND status != 'stored')")
        await self._exec(
            "INSERT INTO readbacks (event_id, at, picture) VALUES (?, ?, ?) ON CONFLICT (event_id)"
            " DO UPDATE SET at = excluded.at, picture = excluded.picture",
            (event_id, self.clock(), picture),
        )

    async def readback(self, event_id: str) -> str | None:
        rows = await self._fetch("SELECT picture FROM readbacks WHERE event_id = ?", (event_id,))
        return str(rows[0][0]) if rows else None

    async def unanswered(self, limit: int = 1000) -> list[Unanswered]:
        rows = await self._fetch(
            "SELECT id, facility, device, status, coalesce(message, '') FROM events"
            " WHERE answered = 0 AND status IN ('accepted', 'rejected') ORDER BY settled LIMIT ?",
            (limit,),
        )
        return [Unanswered(*(str(v) for v in r)) for r in rows]

    async def mark_answered(self, ids: Sequence[str]) -> None:
        if ids:
            await self._exec_many("UPDATE events SET answered = 1 WHERE id = ?", [(i,) for i in ids])

    async def status_of(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._fetch(
                f"SELECT id, status, coalesce(message, '') FROM events WHERE id IN ({marks})", chunk
            )
            found.update({str(r[0]): (str(r[1]), str(r[2])) for r in rows})
        return found

    async def record_attempt(self, facility: str, endpoint: str, event_ids: Sequence[str],
                             outcome: str, http_status: int | None, detail: str) -> None:
        await self._exec(
            "INSERT INTO attempts (at, facility, endpoint, event_ids, outcome, http_status, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.clock(), facility, endpoint, json.dumps(list(event_ids)), outcome, http_status,
             detail[:2000]),
        )

    async def uncertain_ids(self, facility: str) -> set[str]:
        """Events still waiting whose last attempt may have been applied (read back first)."""
        rows = await self._fetch(
            "SELECT event_ids FROM attempts WHERE facility = ? AND outcome = 'uncertain'", (facility,)
        )
        ids = {i for r in rows for i in json.loads(r[0])}
        waiting = await self.status_of(sorted(ids))
        return {i for i, (status, _) in waiting.items() if status == "stored"}

    async def attempts(self, facility: str | None = None) -> list[Attempt]:
        where, params = ("WHERE facility = ?", [facility]) if facility else ("", [])
        rows = await self._fetch(
            "SELECT at, facility, endpoint, event_ids, outcome, http_status, detail FROM attempts"
            f" {where} ORDER BY n", params,
        )
        return [Attempt(int(r[0]), str(r[1]), str(r[2]), json.loads(r[3]), str(r[4]),
                        None if r[5] is None else int(r[5]), str(r[6])) for r in rows]

    # --- loss of access ---------------------------------------------------------

    async def outage_begins(self, facility: str, cause: str) -> bool:
        """Open an outage for the licence unless one is open; True if this opened it."""
        open_ = await self._fetch(
            "SELECT n FROM outages WHERE facility = ? AND ended IS NULL", (facility,)
        )
        if open_:
            return False
        await self._exec(
            "INSERT INTO outages (facility, started, cause, alerted) VALUES (?, ?, ?, 0)",
            (facility, self.clock(), cause[:500]),
        )
        return True

    async def outage_ends(self, facility: str) -> bool:
        return await self._exec(
            "UPDATE outages SET ended = ? WHERE facility = ? AND ended IS NULL", (self.clock(), facility)
        ) > 0

    async def mark_alerted(self, n: int) -> None:
        await self._exec("UPDATE outages SET alerted = 1 WHERE n = ?", (n,))

    async def outages(self, facility: str | None = None, *, open_only: bool = False) -> list[Outage]:
        clauses, params = [], []
        if facility:
            clauses.append("facility = ?")
            params.append(facility)
        if open_only:
            clauses.append("ended IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._fetch(
            f"SELECT n, facility, started, ended, cause, alerted FROM outages {where} ORDER BY n",
            params,
        )
        return [Outage(int(r[0]), str(r[1]), int(r[2]), None if r[3] is None else int(r[3]),
                       str(r[4]), bool(r[5])) for r in rows]

    # --- reports ----------------------------------------------------------------

    async def rejections(self, facility: str | None = None) -> list[tuple[Any, ...]]:
        """(id, facility, device, seq, type, at, message, payload) of every rejected event."""
        where, params = ("AND facility = ?", [facility]) if facility else ("", [])
        return await self._fetch(
            "SELECT id, facility, device, seq, type, at, coalesce(message, ''), payload FROM events"
            f" WHERE status = 'rejected' {where} ORDER BY at, device, seq", params,
        )

    async def activity(self, key: str, facility: str | None = None) -> list[tuple[Any, ...]]:
        """(id, facility, device, seq, type, at, status, message, payload) of the events
        naming ``key`` (a tag, a batch name, ``corrects:<id>``), found literally by index."""
        where, params = (" AND e.facility = ?", [key, facility]) if facility else ("", [key])
        return await self._fetch(
            "SELECT e.id, e.facility, e.device, e.seq, e.type, e.at, e.status,"
            " coalesce(e.message, ''), e.payload"
            " FROM event_tags t JOIN events e ON e.id = t.event_id"
            f" WHERE t.tag = ?{where} ORDER BY e.at, e.device, e.seq",
            params,
        )

    async def keyed(self, keys: Sequence[str]) -> dict[str, str]:
        """For each index key that some event names, the first such event's id."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            rows = await self._fetch(
                "SELECT tag, min(event_id) FROM event_tags"
                f" WHERE tag IN ({','.join('?' * len(chunk))}) GROUP BY tag", chunk)
            found.update({str(r[0]): str(r[1]) for r in rows})
        return found
