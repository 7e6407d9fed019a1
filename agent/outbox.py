"""The kiosk's durable outbox: every event is on disk before anyone hears "saved".

SQLite in WAL mode with ``synchronous=FULL`` (WAL+NORMAL may roll back the last
commits on power loss; reference/edge-anchors.md §5). An append is ONE
autocommit INSERT, so it is one trip to the outbox's thread and one fsync; the
caller gets the event back only after that commit.

States only move forward: pending → stored (the bridge committed it) →
accepted / rejected (the state system's answer). The bridge may also reject an
event straight from pending ("rejected: invalid"). Settled rows are pruned
after the retention period; nothing else is ever deleted or edited.

The kiosk's hot path never scans the table: the number of rows in each state
is kept in ``outbox_counts`` by triggers, so it changes in the very statement
(and transaction) that changes a row, whoever writes the file. The outbox
keeps a copy of those counts in memory (``counts``), refreshed from the same
transaction, and tells its listeners (``on_change``) after every commit that
moved them: the status bar is pushed, never polled.

One thread owns the connection. Each operation is one function run in that
thread (one hand-off, however many statements), so an append costs one trip
and a settlement its whole transaction in one trip.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from canopy.events import EVENT_CLASSES, MAX_EVENT_BYTES, PAYLOADS, Event, InvalidEvent, Payload, build_event
from canopy.ids import uuid7

log = logging.getLogger(__name__)

State = Literal["pending", "stored", "accepted", "rejected"]
STATES: tuple[State, ...] = ("pending", "stored", "accepted", "rejected")
_RANK: dict[str, int] = {"pending": 0, "stored": 1, "accepted": 2, "rejected": 2}

SCHEMA_VERSION = 2  # v2: outbox_counts and its triggers
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

-- Rows per state, kept by the statements that change rows (same transaction):
-- the status bar reads four numbers instead of counting the table.
CREATE TABLE IF NOT EXISTS outbox_counts (
    state TEXT    PRIMARY KEY CHECK (state IN ('pending', 'stored', 'accepted', 'rejected')),
    n     INTEGER NOT NULL  -- no CHECK: a count gone wrong must never stop a scan being saved
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO outbox_counts (state, n)
    VALUES ('pending', 0), ('stored', 0), ('accepted', 0), ('rejected', 0);
CREATE TRIGGER IF NOT EXISTS outbox_counts_insert AFTER INSERT ON outbox BEGIN
    UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS outbox_counts_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS outbox_counts_update AFTER UPDATE OF state ON outbox
    WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
    UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;
"""

# Pruning: rows per DELETE (one short transaction each, the writer free in between)
# and free pages handed back per incremental vacuum step.
PRUNE_BATCH_ROWS = 100
VACUUM_STEP_PAGES = 128

_INSERT = (
    "INSERT INTO outbox (seq, id, type, payload, created, changed) VALUES (?, ?, ?, ?, ?, ?)"
)
_SETTLE = (
    "UPDATE outbox SET state = ?, changed = ?, message = ? WHERE id = ? AND"
    " (CASE state WHEN 'pending' THEN 0 WHEN 'stored' THEN 1 ELSE 2 END) < ?"
)
_PRUNE = (
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
    " WHERE state IN ('accepted', 'rejected') AND changed < ? ORDER BY changed LIMIT ?)"
)
# The first event in line is the oldest unsent one: read from the partial index, O(log n).
_OLDEST_PENDING = "SELECT created FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT 1"

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What the last prune did. ``max_hold_ms``: the longest one batch kept the writer,
    commit (fsync) included; ``max_work_ms``: the same without the commit."""

    rows: int = 0
    batches: int = 0
    max_hold_ms: float = 0.0
    max_work_ms: float = 0.0
    median_hold_ms: float = 0.0


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


def _make_event(type_: str, data: BaseModel | dict[str, Any], **envelope: Any) -> Event:
    """``build_event``, without validating the data a second time.

    A flow hands over its payload already built (and so validated: the models are
    frozen); only the envelope around it is still to check. Anything else, and
    every refusal, goes through ``build_event`` so the message is the same.
    """
    cls = EVENT_CLASSES.get(type_)
    if cls is not None and type(data) is PAYLOADS[type_]:
        try:
            return cls.model_validate({"type": type_, "data": data, **envelope})  # type: ignore[return-value]
        except ValidationError:
            pass  # build_event says why, in the contract's words
    return build_event(type_, data, **envelope)


# --- the outbox's thread ---------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _counts(db: sqlite3.Connection) -> Backlog:
    """The kept counts and the first pending row's time: a handful of page reads at any size."""
    n = dict(db.execute("SELECT state, n FROM outbox_counts").fetchall())
    oldest = db.execute(_OLDEST_PENDING).fetchone() if n.get("pending") else None
    return Backlog(n.get("pending", 0), oldest[0] if oldest else None, n.get("stored", 0),
                   n.get("accepted", 0), n.get("rejected", 0))


def _recount(db: sqlite3.Connection) -> Backlog:
    n = dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    oldest = db.execute(_OLDEST_PENDING).fetchone()
    return Backlog(n.get("pending", 0), oldest[0] if oldest else None, n.get("stored", 0),
                   n.get("accepted", 0), n.get("rejected", 0))


def _write_counts(db: sqlite3.Connection, counts: Backlog) -> None:
    db.executemany(
        "INSERT INTO outbox_counts (state, n) VALUES (?, ?)"
        " ON CONFLICT (state) DO UPDATE SET n = excluded.n",
        [(s, getattr(counts, s)) for s in STATES],
    )


def _transaction(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return result


class _Thread:
    """A thread that owns one SQLite connection and runs one function per trip.

    The event loop waits on a future; the thread resolves it with
    ``call_soon_threadsafe``. FIFO: work runs in the order it was handed over.
    """

    def __init__(self, name: str) -> None:
        self._jobs: SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.stopped = False

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            answer: Callable[[asyncio.Future[Any], Any], None]
            try:
                value = fn()
                answer = _resolve
            except BaseException as exc:
                value, answer = exc, _fail
            try:
                future.get_loop().call_soon_threadsafe(answer, future, value)
            except RuntimeError:  # the loop that asked is gone: nobody is waiting
                pass

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self.stopped:  # nobody would ever answer
            future.set_exception(sqlite3.ProgrammingError("the outbox is closed"))
        else:
            self._jobs.put((fn, future))
        return future

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._jobs.put(None)


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)


class Outbox:
    """Append, read for sending, settle by acks, prune. One writer per file."""

    def __init__(self, thread: _Thread, db: sqlite3.Connection, path: Path, facility: str,
                 device: str) -> None:
        self._thread = thread
        self._db = db  # used only inside the thread
        self.path = path
        self.facility = facility
        self.device = device
        self._lock = asyncio.Lock()  # one write at a time, in the order asked
        self._next_seq = 1
        self._appended = asyncio.Event()
        self._counts = Backlog(0, None, 0, 0, 0)
        # Bumped after every commit that changed rows; listeners are called then.
        self.version = 0
        self.on_change: list[Callable[[], None]] = []
        self.last_prune = PruneReport()

    @classmethod
    async def open(cls, path: Path, *, facility: str, device: str) -> Outbox:
        thread = _Thread(f"outbox-{device}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = await thread.call(lambda: _connect(path))
        except (OSError, sqlite3.Error) as exc:
            thread.stop()
            raise OutboxFault(f"Kiosk storage cannot be opened at {path}: {exc}. Call IT.") from None
        outbox = cls(thread, db, path, facility, device)
        try:
            await outbox._run(outbox._prepare)
        except (sqlite3.Error, OutboxFault) as exc:
            await outbox.close()
            if isinstance(exc, OutboxFault):
                raise
            raise _fault(exc, "the outbox cannot be opened") from None
        return outbox

    def _run(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` in the outbox's thread (the only place the connection is used)."""
        return self._thread.call(fn)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in the outbox's thread: for ``canopy doctor`` and tests."""
        return await self._run(lambda: fn(self._db))

    def _prepare(self) -> None:
        db = self._db
        check = db.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise OutboxFault(
                f"Kiosk outbox {self.path} is damaged ({check[0] if check else '?'}). "
                "Do not delete it: call IT to move it aside and recover unsent events."
            )
        # auto_vacuum only takes effect before the first table is created.
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_size_limit = 16777216")
        version = (db.execute("PRAGMA user_version").fetchone() or (0,))[0]
        if version > SCHEMA_VERSION:
            raise OutboxFault(
                f"Kiosk outbox {self.path} was written by a newer Canopy (v{version}); upgrade."
            )

        def upgrade(db: sqlite3.Connection) -> None:
            for statement in _statements(_SCHEMA):
                db.execute(statement)
            if version < 2:  # rows written before the counts were kept: count them once
                _write_counts(db, _recount(db))
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        if version < SCHEMA_VERSION:
            _transaction(db, upgrade)
        # seq continues after pruning: AUTOINCREMENT remembers the highest ever used.
        row = db.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
            " coalesce((SELECT max(seq) FROM outbox), 0))"
        ).fetchone()
        self._next_seq = (row[0] if row else 0) + 1
        self._counts = _counts(db)

    async def close(self) -> None:
        if self._thread.stopped:
            return
        try:
            await self._run(self._db.close)
        finally:
            self._thread.stop()

    def _changed(self, counts: Backlog) -> None:
        self._counts = counts
        self.version += 1
        for listener in list(self.on_change):
            try:
                listener()
            except Exception:  # a listener's bug must not undo a saved record
                log.exception("outbox change listener failed")

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
            event = _make_event(
                type_, content, id=uuid7(), facility=self.facility, device=self.device, user=user,
                at=at or datetime.now(UTC), seq=seq, witness=witness, corrects=corrects,
            )
            payload = event.to_json()
            if len(payload) > MAX_EVENT_BYTES:
                raise InvalidEvent(
                    f"event too large to send ({len(payload)} bytes, limit {MAX_EVENT_BYTES})"
                )
            now = _now_ms()
            row = (seq, event.id, event.type, payload, now, now)
            db = self._db
            try:
                # One autocommit statement (the counts trigger inside it): one fsync,
                # atomic, durable on return.
                await self._run(lambda: db.execute(_INSERT, row))
            except sqlite3.Error as exc:
                raise _fault(exc, "this record was NOT saved") from None
            self._next_seq = seq + 1
            c = self._counts
            oldest = c.oldest_pending_ms if c.pending else now
            self._changed(Backlog(c.pending + 1, oldest, c.stored, c.accepted, c.rejected))
        self._appended.set()
        return event

    async def settle(self, settlements: Iterable[Settlement]) -> int:
        """Apply acks in one transaction; states only move forward. Returns rows changed."""
        now = _now_ms()
        rows = [(s.state, now, s.message, s.id, _RANK[s.state]) for s in settlements]
        if not rows:
            return 0

        def work(db: sqlite3.Connection) -> tuple[int, Backlog]:
            changed = db.executemany(_SETTLE, rows).rowcount
            return changed, _counts(db)

        async with self._lock:
            try:
                changed, counts = await self._run(lambda: _transaction(self._db, work))
            except sqlite3.Error as exc:
                raise _fault(exc, "the bridge's acknowledgement was not recorded") from None
            if changed:
                self._changed(counts)
        return changed

    async def prune(self, retention_s: float, *, batch: int = PRUNE_BATCH_ROWS,
                    pause_s: float = 0.001) -> int:
        """Delete settled rows older than the retention in batches of ``batch`` rows.

        Each batch is one short transaction; between batches the writer is free
        (scans waiting for it go first: the lock is FIFO) and the loop sleeps
        ``pause_s``. Freed pages go back to the file system the same way, a few
        at a time. ``last_prune`` says how long the longest batch held the writer.
        """
        cutoff = _now_ms() - int(retention_s * 1000)
        total = batches = 0
        longest_work = 0.0
        holds: list[float] = []

        def delete(db: sqlite3.Connection) -> tuple[int, Backlog | None, float, float]:
            t0 = time.perf_counter()

            def work(db: sqlite3.Connection) -> tuple[int, Backlog | None, float]:
                deleted = db.execute(_PRUNE, (cutoff, batch)).rowcount
                return deleted, _counts(db) if deleted else None, time.perf_counter()

            deleted, counts, t1 = _transaction(db, work)
            return deleted, counts, (time.perf_counter() - t0) * 1000, (t1 - t0) * 1000

        def vacuum(db: sqlite3.Connection) -> tuple[int, float]:
            t0 = time.perf_counter()
            before = db.execute("PRAGMA freelist_count").fetchone()[0]
            db.execute(f"PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})").fetchall()
            left = db.execute("PRAGMA freelist_count").fetchone()[0]
            # A file made without auto_vacuum (by another tool) keeps its free pages.
            return (int(left) if left < before else 0), (time.perf_counter() - t0) * 1000

        try:
            while True:
                async with self._lock:
                    deleted, counts, held, busy = await self._run(lambda: delete(self._db))
                    if counts is not None:
                        self._changed(counts)
                total += deleted
                batches += 1
                holds.append(held)
                longest_work = max(longest_work, busy)
                if deleted < batch:
                    break
                await asyncio.sleep(pause_s)
            while total:
                async with self._lock:
                    left, held = await self._run(lambda: vacuum(self._db))
                holds.append(held)
                if not left:
                    break
                await asyncio.sleep(pause_s)
        except sqlite3.Error as exc:
            log.warning("pruning the outbox failed: %s", exc)
        self.last_prune = PruneReport(total, batches, round(max(holds, default=0.0), 3),
                                      round(longest_work, 3), round(statistics.median(holds or [0.0]), 3))
        return total

    # --- reading --------------------------------------------------------------

    @property
    def counts(self) -> Backlog:
        """Rows per state and the oldest unsent, as of the last commit: no trip to the disk."""
        return self._counts

    async def wait_appended(self) -> None:
        """Wait until something was appended since the last call."""
        await self._appended.wait()
        self._appended.clear()

    async def pending_after(self, seq: int, limit: int) -> list[OutboxRow]:
        def read(db: sqlite3.Connection) -> list[OutboxRow]:
            return [OutboxRow(*r) for r in db.execute(
                "SELECT seq, id, payload FROM outbox WHERE state = 'pending' AND seq > ?"
                " ORDER BY seq LIMIT ?", (seq, limit))]

        return await self.call(read)

    async def pending_by_id(self, ids: Sequence[str]) -> list[OutboxRow]:
        """Rows among ``ids`` still waiting for the bridge (for republishing)."""
        def read(db: sqlite3.Connection) -> list[OutboxRow]:
            found: list[OutboxRow] = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.extend(OutboxRow(*r) for r in db.execute(
                    f"SELECT seq, id, payload FROM outbox WHERE state = 'pending' AND id IN ({marks})"
                    " ORDER BY seq", chunk))
            return found

        return await self.call(read)

    async def backlog(self) -> Backlog:
        """The kept counts, read from the file (O(1)): also the watchdog's probe of the thread."""
        return await self.call(_counts)

    async def recount(self) -> Backlog:
        """Count every row (the whole table): for tests and repair, never the hot path."""
        return await self.call(_recount)

    async def repair_counts(self) -> Backlog:
        """Set the kept counts to a recount (``canopy doctor``); returns the counts."""
        def repair(db: sqlite3.Connection) -> Backlog:
            counts = _recount(db)
            _write_counts(db, counts)
            return counts

        async with self._lock:
            counts = await self._run(lambda: _transaction(self._db, repair))
            self._changed(counts)
        return counts

    async def recent(self, limit: int = 50) -> list[RecordRow]:
        def read(db: sqlite3.Connection) -> list[RecordRow]:
            return [RecordRow(*r) for r in db.execute(
                "SELECT seq, id, type, state, created, changed, message FROM outbox"
                " ORDER BY seq DESC LIMIT ?", (limit,))]

        return await self.call(read)

    async def states(self) -> dict[str, State]:
        """Every row's state by id (tests and ``canopy doctor``)."""
        return await self.call(lambda db: {r[0]: r[1] for r in db.execute("SELECT id, state FROM outbox")})


def _statements(script: str) -> list[str]:
    """``script`` split into whole statements (triggers keep their inner ``;``)."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    return out
