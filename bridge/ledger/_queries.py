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
class Timing:
    """What the bridge knows about when an event happened (bridge/vetting.py)."""

    received: int  # unix ms at the bridge
    previous_at: str | None  # the same device's previous event (by seq) that is not held
    confirmed_at: str | None  # the time a person confirmed for a held event


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
        """(id, facility, device, seq, type, at, message) of every rejected event."""
        where, params = ("AND facility = ?", [facility]) if facility else ("", [])
        return await self._fetch(
            "SELECT id, facility, device, seq, type, at, coalesce(message, '') FROM events"
            f" WHERE status = 'rejected' {where} ORDER BY at, device, seq", params,
        )

    async def activity(self, tag: str) -> list[tuple[Any, ...]]:
        """(id, facility, device, seq, type, at, status, message) of events naming a tag."""
        return await self._fetch(
            "SELECT id, facility, device, seq, type, at, status, coalesce(message, '') FROM events"
            " WHERE tags LIKE ? ORDER BY at, device, seq",
            (f"% {tag} %",),
        )

    # --- time that needs a person -------------------------------------------------

    async def timing(self, event_id: str) -> Timing | None:
        rows = await self._fetch(
            "SELECT e.received, (SELECT coalesce(pc.at, p.at) FROM events p LEFT JOIN confirmations"
            " pc ON pc.event_id = p.id WHERE p.facility = e.facility AND p.device = e.device"
            " AND p.seq < e.seq AND p.status != 'held' ORDER BY p.seq DESC LIMIT 1), c.at"
            " FROM events e LEFT JOIN confirmations c ON c.event_id = e.id WHERE e.id = ?",
            (event_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return Timing(int(r[0]), None if r[1] is None else str(r[1]), None if r[2] is None else str(r[2]))

    async def held(self, facility: str | None = None) -> list[tuple[Any, ...]]:
        """(id, facility, device, seq, type, at, received, message) of every held event."""
        where, params = ("AND facility = ?", [facility]) if facility else ("", [])
        return await self._fetch(
            "SELECT id, facility, device, seq, type, at, received, coalesce(message, '') FROM events"
            f" WHERE status = 'held' {where} ORDER BY facility, device, seq", params,
        )

    async def confirm(self, event_id: str, at: str | None, by: str) -> str:
        """Release a held event to be reported at ``at`` (None: as recorded); records who
        and when. Returns the time it will be reported with; ``KeyError`` if not held."""
        rows = await self._fetch(
            "SELECT at, coalesce(message, '') FROM events WHERE id = ? AND status = 'held'", (event_id,))
        if not rows:
            raise KeyError(event_id)
        when = at or str(rows[0][0])
        await self._exec(
            "INSERT INTO confirmations (event_id, at, by_whom, confirmed, held_for) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (event_id) DO UPDATE SET at = excluded.at, by_whom = excluded.by_whom,"
            " confirmed = excluded.confirmed, held_for = excluded.held_for",
            (event_id, when, by, self.clock(), str(rows[0][1])),
        )
        await self._exec("UPDATE events SET status = 'stored', message = NULL, settled = NULL"
                         " WHERE id = ? AND status = 'held'", (event_id,))
        return when

    async def confirmations(self) -> list[tuple[Any, ...]]:
        """(event_id, at, by_whom, confirmed, held_for) of every confirmed hold."""
        return await self._fetch(
            "SELECT event_id, at, by_whom, confirmed, held_for FROM confirmations ORDER BY confirmed")

    async def quarantine_counts(self) -> dict[tuple[str, str], tuple[int, int, int]]:
        """(kept rows, kept bytes, counted but not kept) per (facility, device)."""
        rows = await self._fetch("SELECT facility, device, kept, bytes, dropped FROM quarantine_counts")
        return {(str(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4])) for r in rows}

    async def recent_times(self, since_ms: int,
                           per_device: int = 20) -> dict[tuple[str, str], list[tuple[str, int]]]:
        """(at, received) of each device's latest events received since ``since_ms``:
        what tells a kiosk whose clock is off (bridge/fleet.py)."""
        rows = await self._fetch(
            "SELECT facility, device, at, received FROM (SELECT facility, device, at, received,"
            " row_number() OVER (PARTITION BY facility, device ORDER BY seq DESC) AS r FROM events"
            " WHERE received >= ?) AS t WHERE r <= ?", (since_ms, per_device))
        out: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for r in rows:
            out.setdefault((str(r[0]), str(r[1])), []).append((str(r[2]), int(r[3])))
        return out
