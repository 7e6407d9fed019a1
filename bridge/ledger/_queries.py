"""Ledger queries past ingest, written once for both databases.

Each backend supplies ``_fetch`` / ``_exec`` / ``_exec_steps`` (one transaction
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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.ledger._chain import ANSWER, Entry, Tx, answer_digest, append
from bridge.ledger._console import ConsoleRecords
from canopy.payload import json_object

# The index key prefix of a worker's records (``bridge.ingest.worker_key`` writes them).
WORKER_KEY = "worker:"

# The backfill (row of ``backfills``) giving ``event_tags`` rows of an older version their
# event's time; and its rows per transaction on PostgreSQL, where it locks only the rows
# it updates, which no writer touches (new events add rows): about 60 ms each.
TAG_TIMES = "event_tags.at"
# A device's highest seq at a facility (NULL: none), by the (facility, device, seq) index.
LAST_SEQ = "SELECT max(seq) FROM events WHERE facility = ? AND device = ?"
BACKFILL_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Backfilled:
    """How far ``backfill_tag_times`` got: index rows walked past, given their time,
    in how many transactions, whether none is left, and in how long."""

    walked: int
    given: int
    batches: int
    done: bool
    seconds: float

    @property
    def rows_per_s(self) -> int:
        """Index rows walked per second so far."""
        return round(self.walked / self.seconds) if self.seconds > 0 else 0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def in_device_order(waiting: list[ToSubmit]) -> list[ToSubmit]:
    """Keep the arrival order between kiosks, but each kiosk's events in ``seq`` order."""
    by_device: dict[str, list[ToSubmit]] = {}
    for item in waiting:
        by_device.setdefault(item.device, []).append(item)
    queues = {device: iter(sorted(items, key=lambda i: i.seq)) for device, items in by_device.items()}
    return [next(queues[item.device]) for item in waiting]


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
    bridge: str = ""
    digest: str = ""


def verdict_entry(facility: str, answer: Answer, settled: int) -> Entry:
    """The chain entry of ``answer`` recorded at ``settled`` (unix ms) for an event of ``facility``."""
    digest = answer_digest(answer.id, answer.status, answer.message, settled)
    return Entry(facility, ANSWER, answer.id, digest)


# The columns a register reads of an event, in this order (``e`` is ``events``).
EVENT_ROW = ("e.id, e.facility, e.device, e.seq, e.type, e.at, e.status, coalesce(e.message, ''),"
             " e.payload")


@dataclass(frozen=True)
class Cover:
    """Event types whose rows an index keeps whole, and how ``of_types`` reads them: one part
    per clause (`` AND …``, together holding each such row exactly once), so that the part
    the index covers reads its pages in order instead of one table page a row."""

    types: frozenset[str]
    parts: tuple[str, ...]
    # What the covered parts read from: SQLite names its index (``INDEXED BY``), as its
    # planner took the table's ``events_type`` for a month of four types sorted by time.
    source: str = "events e"


# The event types the registers read by type (bridge.reports: waste, corrections, harvests,
# scales, tags). Their rows are kept whole in ``events_register`` (both databases): a
# facility's month of them is then a few consecutive index pages, where through ``events_type``
# each row was a table page of its own, read from disk on a ledger larger than memory (most
# of a register's time).
REGISTER_TYPES = ("plant.destroyed", "plant.destroy_completed", "harvest.waste", "record.corrected",
                  "plant.harvested", "plant.manicured", "plant.cured", "scale.checked", "tags.received",
                  "plant.phase_changed")

# How long an event waits for its kiosk's previous event to reach the ledger (real time:
# it covers two bridges storing one kiosk's events a moment apart).
GAP_WAIT_MS = 5_000

# A waiting event's columns, and whether it may go: its kiosk's previous event is in
# the ledger, or it is the first, or it has waited ``GAP_WAIT_MS`` (the one ``?``).
_WAITING = "e.id, e.facility, e.device, e.seq, e.type, e.payload"
_READY = ("(e.seq <= 1 OR e.received < ? OR EXISTS (SELECT 1 FROM events p WHERE p.facility = e.facility"
          " AND p.device = e.device AND p.seq = e.seq - 1))")


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_SETTLE = ("UPDATE events SET status = ?, message = ?, settled = ?, answered = 0"
           " WHERE id = ? AND status = 'stored'")

# The outcome of an attempt written before its request leaves (write-ahead intent).
SENDING = "sending"
# Outcomes after which the request may or may not have been applied: its events
# are read back (Metrc) or their nonce replayed (BioTrack) before any is sent again.
# "sending" left behind means the bridge died or was killed mid-call; "abandoned"
# that it was stopped (SIGTERM, a lost lease) while waiting for the answer.
AMBIGUOUS = (SENDING, "uncertain", "abandoned")


@dataclass(frozen=True, slots=True)
class Fence:
    """The lease under which a bridge submits for one licence (see ``_postgres.py``).

    Every intent and verdict it writes is checked against the lease's current token
    in the same transaction, so a bridge that lost its lease writes nothing more.
    ``guard_ms``: an intent is written only while the lease has at least this long
    to run, so a call cannot outlive its lease (the call's own timeout)."""

    facility: str
    holder: str
    token: int
    guard_ms: int = 0


class LeaseLost(RuntimeError):
    """This bridge no longer holds the licence's lease: another bridge submits it now."""


class LedgerUnreachable(ConnectionError):
    """The ledger's database cannot be reached now (PostgreSQL restarting, failing over, a
    dropped connection). The call may or may not have committed if the connection dropped
    during its COMMIT, so a caller acts on what the ledger says once it is back: ingest
    stores the batch again (each id once), the submitter reads its intents again.
    ``retry_in_s``: when the ledger will next try to connect."""

    def __init__(self, message: str, retry_in_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_in_s = retry_in_s


def within(alias: str, facility: str | None, since: str | None, until: str | None
           ) -> tuple[str, list[Any]]:
    """`` AND …`` clauses (and their parameters) keeping one facility's events recorded from
    ``since`` and before ``until``: times as stored, RFC 3339 UTC with milliseconds, which
    sort as text (``canopy.events.format_utc``)."""
    clauses = [(f"{alias}.facility = ?", facility), (f"{alias}.at >= ?", since), (f"{alias}.at < ?", until)]
    kept = [(sql, value) for sql, value in clauses if value]
    return "".join(f" AND {sql}" for sql, _ in kept), [value for _, value in kept]


class LedgerQueries(ConsoleRecords, ABC):
    # Wall clock in unix ms; tests replace it to let days of outage pass in seconds.
    clock: Callable[[], int] = staticmethod(now_ms)
    # Index rows per backfill transaction (``backfill_tag_times``).
    backfill_batch = BACKFILL_BATCH

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    async def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]],
                         fence: Fence | None = None) -> None:
        await self._exec_steps([(sql, rows)], fence)

    @abstractmethod
    async def _exec_steps(self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]],
                          fence: Fence | None = None) -> None:
        """Each (sql, rows) executed for all its rows, all in one transaction."""

    async def _fetch_scattered(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """``_fetch`` of rows found by id, a table page each (``activity``: a key's events
        among years of others): PostgreSQL reads them so that those pages are prefetched."""
        return await self._fetch(sql, params)

    @abstractmethod
    async def _fetch_fenced(self, sql: str, params: Sequence[Any], fence: Fence | None
                            ) -> list[tuple[Any, ...]]:
        """``_fetch`` in one transaction with the lease check (a no-op without a fence)."""

    @abstractmethod
    async def _in_tx(self, work: Callable[[Tx], Awaitable[None]], fence: Fence | None = None) -> None:
        """Run ``work`` in one transaction (after the lease check, with a fence)."""

    async def _settle_in(self, tx: Tx, answers: Sequence[Answer]) -> None:
        """Record verdicts and chain each one that is recorded (the first per waiting event)."""
        now = self.clock()
        first: dict[str, Answer] = {}
        for answer in answers:
            first.setdefault(answer.id, answer)
        waiting: list[tuple[Any, ...]] = []
        ids = list(first)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            waiting += await tx.fetch(
                f"SELECT id, facility FROM events WHERE id IN ({','.join('?' * len(chunk))})"
                f" AND status = 'stored' ORDER BY id{tx.for_update}", chunk)
        await tx.exec_many(_SETTLE, [(a.status, a.message, now, a.id) for a in answers])
        await append(tx, [verdict_entry(str(r[1]), first[str(r[0])], now) for r in waiting])

    # --- submission -----------------------------------------------------------

    async def to_submit(self, facility: str, limit: int) -> list[ToSubmit]:
        """Events waiting for the state, oldest first, each kiosk in its own ``seq`` order.

        Several bridges share ingest, so a kiosk's event 7 may reach the ledger
        (through another bridge) before its event 6, and event 6 may arrive long
        after a window of ``limit`` later arrivals. An event whose predecessor is not
        in the ledger at all waits up to ``GAP_WAIT_MS`` for it (another bridge may be
        storing it); a gap that stays (the predecessor was quarantined) holds nothing
        up for longer. A kiosk's events go only behind all its earlier waiting ones:
        those that arrived after the window are fetched with it, and one still
        waiting for its own predecessor holds back every later event of its kiosk.
        The places a kiosk's events take in the arrival order are refilled with
        them in ``seq`` order."""
        since = now_ms() - GAP_WAIT_MS
        rows = await self._fetch(
            f"SELECT {_WAITING}, {_READY} AS ready FROM events e WHERE facility = ? AND status = 'stored'"
            " ORDER BY received, device, seq LIMIT ?",
            (since, facility, limit),
        )
        if not rows:
            return []
        # Each kiosk's earlier waiting events that are not in the window (few, by index).
        top: dict[str, int] = {}
        for r in rows:
            top[str(r[2])] = max(top.get(str(r[2]), 0), int(r[3]))
        seen = {str(r[0]) for r in rows}
        for devices in _chunks(sorted(top), 200):
            rows += [r for r in await self._fetch(
                f"SELECT {_WAITING}, {_READY} AS ready FROM events e WHERE facility = ?"
                " AND status = 'stored' AND ("
                + " OR ".join("(device = ? AND seq < ?)" for _ in devices) + ")",
                (since, facility, *(v for d in devices for v in (d, top[d]))),
            ) if str(r[0]) not in seen]
        by_device: dict[str, list[tuple[Any, ...]]] = {}
        for r in rows:
            by_device.setdefault(str(r[2]), []).append(r)
        behind: set[str] = set()  # an event still waiting for its predecessor, and all after it
        for items in by_device.values():
            items.sort(key=lambda r: int(r[3]))
            blocked = next((i for i, r in enumerate(items) if not r[6]), None)
            if blocked is not None:
                behind.update(str(r[0]) for r in items[blocked:])
        waiting = [ToSubmit(str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), bytes(r[5]))
                   for r in rows if str(r[0]) not in behind]
        return in_device_order(waiting)

    async def settle(self, answers: Sequence[Answer], fence: Fence | None = None) -> None:
        """Record verdicts; an event already settled keeps its first verdict."""
        if answers:
            async def work(tx: Tx) -> None:
                await self._settle_in(tx, answers)
            await self._in_tx(work, fence)

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
                             outcome: str, http_status: int | None, detail: str, bridge: str = "") -> None:
        await self._exec(
            "INSERT INTO attempts (at, facility, endpoint, event_ids, outcome, http_status, detail, bridge)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.clock(), facility, endpoint, json.dumps(list(event_ids)), outcome, http_status,
             detail[:2000], bridge),
        )

    async def begin_attempt(self, facility: str, endpoint: str, event_ids: Sequence[str], digest: str,
                            bridge: str, fence: Fence | None = None) -> int:
        """The write-ahead intent: recorded (committed) before the request leaves. Until
        ``end_attempt`` writes its outcome the attempt counts as ambiguous, so a bridge
        that dies mid-call leaves its events to be read back, never blindly resent."""
        rows = await self._fetch_fenced(
            "INSERT INTO attempts (at, facility, endpoint, event_ids, outcome, http_status, detail,"
            " bridge, digest) VALUES (?, ?, ?, ?, ?, NULL, '', ?, ?) RETURNING n",
            (self.clock(), facility, endpoint, json.dumps(list(event_ids)), SENDING, bridge, digest),
            fence,
        )
        return int(rows[0][0])

    async def end_attempt(self, n: int, outcome: str, http_status: int | None, detail: str,
                          fence: Fence | None = None, answers: Sequence[Answer] = ()) -> None:
        """The call's outcome and the verdicts it gives, in one transaction: a bridge
        killed between the two must not leave an answered call with unsettled events
        (they would look untried, and be sent again)."""
        async def work(tx: Tx) -> None:
            await tx.exec_many("UPDATE attempts SET outcome = ?, http_status = ?, detail = ? WHERE n = ?",
                               [(outcome, http_status, detail[:2000], n)])
            if answers:
                await self._settle_in(tx, answers)
        await self._in_tx(work, fence)

    async def last_unanswered(self, facility: str) -> int | None:
        """When (unix ms) the latest call began that a process left behind unanswered
        (killed, or stopped while waiting: the request may still be on its way)."""
        rows = await self._fetch("SELECT max(at) FROM attempts WHERE facility = ?"
                                 " AND outcome IN (?, 'abandoned')", (facility, SENDING))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    async def uncertain_ids(self, facility: str) -> set[str]:
        """Events still waiting that were in an attempt which may have been applied
        (no recorded outcome, a lost answer, a call abandoned): read back first."""
        marks = ",".join("?" * len(AMBIGUOUS))
        rows = await self._fetch(
            f"SELECT event_ids FROM attempts WHERE facility = ? AND outcome IN ({marks})",
            (facility, *AMBIGUOUS),
        )
        ids = {i for r in rows for i in json.loads(r[0])}
        waiting = await self.status_of(sorted(ids))
        return {i for i, (status, _) in waiting.items() if status == "stored"}

    async def attempts(self, facility: str | None = None) -> list[Attempt]:
        where, params = ("WHERE facility = ?", [facility]) if facility else ("", [])
        rows = await self._fetch(
            "SELECT at, facility, endpoint, event_ids, outcome, http_status, detail, bridge, digest"
            f" FROM attempts {where} ORDER BY n", params,
        )
        return [Attempt(int(r[0]), str(r[1]), str(r[2]), json.loads(r[3]), str(r[4]),
                        None if r[5] is None else int(r[5]), str(r[6]), str(r[7]), str(r[8]))
                for r in rows]

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

    async def rejections(self, facility: str | None = None, since: str | None = None,
                         until: str | None = None) -> list[tuple[Any, ...]]:
        """(id, facility, device, seq, type, at, message, payload) of every rejected event
        (recorded from ``since`` and before ``until``, RFC 3339 UTC, when given)."""
        where, params = within("e", facility, since, until)
        return await self._fetch(
            "SELECT id, facility, device, seq, type, at, coalesce(message, ''), payload FROM events e"
            f" WHERE status = 'rejected'{where} ORDER BY at, device, seq", params,
        )

    async def activity(self, key: str | Sequence[str], facility: str | None = None,
                       since: str | None = None, until: str | None = None, *,
                       device: str | None = None, places: Sequence[str] | None = None
                       ) -> list[tuple[Any, ...]]:
        """``EVENT_ROW`` of the events naming ``key`` (a tag, a batch name, ``corrects:<id>``,
        ``worker:<facility>/<id>``; or any of several keys), found literally by index; with
        ``device``, also every event recorded at that kiosk (of ``places`` if given, else of
        ``facility``, or of any)."""
        keys = [key] if isinstance(key, str) else list(dict.fromkeys(key))
        where, more = within("e", facility, since, until)
        parts, params = [], []
        if keys:
            # With a period, only its keys by the (tag, at) index, and apart (a UNION, not an
            # OR: each part is one index range) the rows an older version wrote without their
            # time, until the backfill gives it (``backfill_tag_times``).
            named = f"t.tag IN ({','.join('?' * len(keys))})"
            period, bounds = within("t", None, since, until)
            naming = [(f"{named}{period}", [*keys, *bounds])]
            if period:
                naming.append((f"{named} AND t.at = ''", list(keys)))
            found, values = await self._named(naming, where, more)
            parts += found
            params += values
        if device is not None:
            # The (facility, device, at) index, one facility at a time.
            if places is None:
                places = [facility] if facility else await self.facilities()
            for place in places:
                at, bounds = within("e", None, since, until)
                parts.append(f"SELECT {EVENT_ROW} FROM events e WHERE e.facility = ? AND e.device = ?{at}")
                params += [place, device, *bounds]
        if not parts:
            return []
        return await self._fetch_scattered(f"{' UNION '.join(parts)} ORDER BY 6, 2, 3, 4", params)

    async def _named(self, naming: Sequence[tuple[str, Sequence[Any]]], where: str, more: Sequence[Any]
                     ) -> tuple[list[str], list[Any]]:
        """Parts of ``activity``'s query, and their parameters: ``EVENT_ROW`` of the events
        with an ``event_tags`` row (``t``) that one of the ``naming`` conditions holds for,
        and ``where`` (``e``). From the keys to their events: CROSS JOIN keeps SQLite to that
        order (starting from the facility's rows instead read all of them for a worker's month)."""
        parts = [f"SELECT DISTINCT {EVENT_ROW} FROM event_tags t CROSS JOIN events e"
                 f" WHERE e.id = t.event_id AND {condition}{where}" for condition, _ in naming]
        return parts, [v for _, values in naming for v in (*values, *more)]

    async def index_workers(self, batch: int = 5000) -> int:
        """Give events stored before worker keys existed their ``worker:<facility>/<id>``
        key (read from the stored bytes; a record without a worker gets none), once, when
        an older ledger is first opened. Returns how many events have one (new or not)."""
        added, last = 0, ""
        while True:
            rows = await self._fetch("SELECT id, facility, at, payload FROM events WHERE id > ?"
                                     " ORDER BY id LIMIT ?", (last, batch))
            if not rows:
                return added
            keys = []
            for event_id, facility, at, payload in rows:
                user = (json_object(bytes(payload)) or {}).get("user")
                if isinstance(user, str) and user:
                    keys.append((f"{WORKER_KEY}{facility}/{user}", str(event_id), str(at)))
            await self._exec_many("INSERT INTO event_tags (tag, event_id, at) VALUES (?, ?, ?)"
                                  " ON CONFLICT (tag, event_id) DO NOTHING", keys)
            added += len(keys)
            last = str(rows[-1][0])

    async def has_worker_keys(self) -> bool:
        """Whether any event has its worker key (an older ledger's first open gives them)."""
        rows = await self._fetch("SELECT EXISTS (SELECT 1 FROM event_tags WHERE substr(tag, 1, ?) = ?)",
                                 (len(WORKER_KEY), WORKER_KEY))
        return bool(rows[0][0])

    async def backfill_pending(self) -> bool:
        """Whether index rows written before ``event_tags.at`` still wait for their time."""
        rows = await self._fetch("SELECT done FROM backfills WHERE name = ?", (TAG_TIMES,))
        return bool(rows) and not rows[0][0]

    async def backfill_tag_times(self, batch: int | None = None,
                                 progress: Callable[[Backfilled], None] | None = None) -> Backfilled:
        """Give the ``event_tags`` rows an older version wrote (``at = ''``) their event's time,
        walking the table in key order, ``batch`` rows per transaction: each is short (writers
        wait for it only if they write one of its rows), and moves the cursor kept in
        ``backfills`` in the same transaction, so a process killed anywhere resumes where its
        last batch committed. The cursor row is locked per batch, so processes running it at
        once take batches in turn. Until it is done the activity report also reads the rows
        still without a time, so it answers the same before, during and after."""
        started = time.perf_counter()
        batch = batch or self.backfill_batch
        walked = given = batches = 0
        done = False

        async def step(tx: Tx) -> None:
            nonlocal walked, given, done
            state = await tx.fetch(f"SELECT last_tag, last_event, done FROM backfills WHERE name = ?"
                                   f"{tx.for_update}", (TAG_TIMES,))
            if not state or state[0][2]:
                done = True
                return
            last = (str(state[0][0]), str(state[0][1]))
            upper = await tx.fetch("SELECT tag, event_id FROM event_tags WHERE (tag, event_id) > (?, ?)"
                                   " ORDER BY tag, event_id LIMIT 1 OFFSET ?", (*last, batch - 1))
            end = (str(upper[0][0]), str(upper[0][1])) if upper else None
            # The tag bounds repeat the row comparisons' first column for the planner, which
            # cannot estimate a row comparison: on 21,000,000 rows it guessed a million and
            # read the whole table for each batch (1,700 rows/s instead of 30,000).
            rows = await tx.fetch(
                "UPDATE event_tags AS t SET at = e.at FROM events e WHERE e.id = t.event_id AND t.at = ''"
                " AND t.tag >= ? AND (t.tag, t.event_id) > (?, ?)"
                + (" AND t.tag <= ? AND (t.tag, t.event_id) <= (?, ?)" if end else "")
                + " RETURNING 1", (last[0], *last, *((end[0], *end) if end else ())))
            given += len(rows)
            if end is None:  # the last batch, of fewer rows
                (left,) = await tx.fetch("SELECT count(*) FROM event_tags WHERE (tag, event_id) > (?, ?)",
                                         last)
                walked += int(left[0])
            else:
                walked += batch
            await tx.exec_many("UPDATE backfills SET last_tag = ?, last_event = ?, done = ? WHERE name = ?",
                               [(*(end or last), int(end is None), TAG_TIMES)])
            done = end is None

        while not done:
            await self._in_tx(step)
            batches += 1
            if progress is not None:
                progress(Backfilled(walked, given, batches, done, time.perf_counter() - started))
        return Backfilled(walked, given, batches, True, time.perf_counter() - started)

    async def last_seq(self, facility: str, device: str) -> int:
        """The highest ``seq`` a device has in the ledger (0: none), by the device's index."""
        rows = await self._fetch(LAST_SEQ, (facility, device))
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    async def facilities(self) -> list[str]:
        """Every facility with an event in the ledger (a skip scan of the facility index)."""
        rows = await self._fetch(
            "WITH RECURSIVE f(name) AS (SELECT min(facility) FROM events UNION ALL"
            " SELECT (SELECT min(facility) FROM events WHERE facility > f.name) FROM f"
            " WHERE f.name IS NOT NULL) SELECT name FROM f WHERE name IS NOT NULL")
        return [str(r[0]) for r in rows]

    # The event types a covering index keeps (PostgreSQL: the registers'); None: none.
    cover: Cover | None = None

    async def of_types(self, types: Sequence[str], facility: str | None = None, since: str | None = None,
                       until: str | None = None) -> list[tuple[Any, ...]]:
        """``EVENT_ROW`` of every event of these types (index ``events_type``, or ``cover``'s
        for the types it keeps), oldest first."""
        where, more = within("e", facility, since, until)
        cover = self.cover or Cover(frozenset(), ())
        covered = [t for t in types if t in cover.types]
        rest = [t for t in types if t not in cover.types]
        parts = (([(rest, "events e", "")] if rest else [])
                 + ([(covered, cover.source, c) for c in cover.parts] if covered else []))
        if not parts:
            return []
        sql = " UNION ALL ".join(f"SELECT {EVENT_ROW} FROM {source} WHERE e.type IN"
                                 f" ({','.join('?' * len(t))}){clause}{where}" for t, source, clause in parts)
        return await self._fetch(f"{sql} ORDER BY 6, 3, 4", [v for t, _, _ in parts for v in (*t, *more)])

    async def events(self, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """``EVENT_ROW`` of each of these events the ledger holds, by id."""
        found: dict[str, tuple[Any, ...]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = await self._fetch(
                f"SELECT {EVENT_ROW} FROM events e WHERE e.id IN ({','.join('?' * len(chunk))})", chunk)
            found.update({str(r[0]): r for r in rows})
        return found

    async def waiting(self, facility: str | None = None) -> list[tuple[Any, ...]]:
        """``EVENT_ROW`` of every event still waiting for the state (stored or held),
        oldest first: what the overdue register compares with the state's deadline."""
        where, params = (" AND e.facility = ?", [facility]) if facility else ("", [])
        return await self._fetch(
            f"SELECT {EVENT_ROW} FROM events e WHERE e.status = 'stored'{where} UNION ALL"
            f" SELECT {EVENT_ROW} FROM events e WHERE e.status = 'held'{where} ORDER BY 6, 3, 4",
            params * 2,
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
        and when. Returns the time it will be reported with; ``KeyError`` if not held.
        One transaction holding the event's row: of two people confirming it at once, one
        releases it (with their time) and the other finds it no longer held."""
        released: list[str] = []

        async def release(tx: Tx) -> None:
            released.clear()  # a transaction run again on a new connection starts afresh
            rows = await tx.fetch("SELECT at, coalesce(message, ''), facility FROM events"
                                  f" WHERE id = ? AND status = 'held'{tx.for_update}", (event_id,))
            if not rows:
                return
            when = at or str(rows[0][0])
            await tx.exec_many(
                "INSERT INTO confirmations (event_id, at, by_whom, confirmed, held_for)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET at = excluded.at,"
                " by_whom = excluded.by_whom, confirmed = excluded.confirmed, held_for = excluded.held_for",
                [(event_id, when, by, self.clock(), str(rows[0][1]))])
            # Back to waiting: chained as a verdict "stored" with nothing, like the row now.
            await tx.exec_many("UPDATE events SET status = 'stored', message = NULL, settled = NULL"
                               " WHERE id = ?", [(event_id,)])
            await append(tx, [Entry(str(rows[0][2]), ANSWER, event_id, answer_digest(event_id, "stored",
                                                                                       None, None))])
            released.append(when)
        await self._in_tx(release)
        if not released:
            raise KeyError(event_id)
        return released[0]

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

    async def not_accepted(self, facility: str) -> tuple[dict[str, int], int | None]:
        """Events of one licence not (yet) accepted, per status, and when (unix ms) the oldest
        still waiting for the state arrived: the floor status a console shows. Each count
        reads its own partial index, never the licence's years of accepted events."""
        counts = {}
        for status in ("stored", "held", "rejected"):
            rows = await self._fetch("SELECT count(*) FROM events WHERE facility = ? AND status = ?",
                                     (facility, status))
            counts[status] = int(rows[0][0])
        oldest = await self._fetch(
            "SELECT min(received) FROM events WHERE facility = ? AND status = 'stored'", (facility,))
        return counts, None if not oldest or oldest[0][0] is None else int(oldest[0][0])

    # --- the tamper-evident chain (bridge/ledger/_chain.py) ------------------------

    async def record_verification(self, facility: str, ok: bool, detail: str) -> None:
        await self._exec("INSERT INTO verifications (at, facility, ok, detail) VALUES (?, ?, ?, ?)",
                         (self.clock(), facility, int(ok), detail[:2000]))

    async def last_verification(self) -> tuple[int, bool, str] | None:
        """(unix ms, passed, what it said) of the latest `canopy bridge verify`, for a console."""
        rows = await self._fetch("SELECT at, ok, detail FROM verifications ORDER BY at DESC LIMIT 1")
        return (int(rows[0][0]), bool(rows[0][1]), str(rows[0][2])) if rows else None
