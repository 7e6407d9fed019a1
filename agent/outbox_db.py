"""The outbox's storage: its SQLite schema and statements, the counts its triggers keep,
and the one thread that owns the connection (``agent.outbox`` is the API over it).

One thread owns the connection. Each operation is one function run in that
thread (one hand-off, however many statements), so an append costs one trip
(appends asked together share it) and a settlement its whole transaction in one trip.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Literal, TypeVar

State = Literal["pending", "stored", "accepted", "rejected"]
STATES: tuple[State, ...] = ("pending", "stored", "accepted", "rejected")
_RANK: dict[str, int] = {"pending": 0, "stored": 1, "accepted": 2, "rejected": 2}

SCHEMA_VERSION = 3  # v2: outbox_counts and its triggers; v3: outbox_fixed, the rejected index
SCHEMA = """
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
-- Rejections stay on the kiosk's "to fix" list until a correction or a supervisor's
-- dismissal names them (written in the same transaction as that record); only then
-- may they be pruned. The partial index keeps the list a few page reads at any size.
CREATE TABLE IF NOT EXISTS outbox_fixed (
    id  TEXT PRIMARY KEY,  -- the rejected (or any corrected) event
    by  TEXT NOT NULL      -- the record that corrects or dismisses it
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_rejected ON outbox(seq) WHERE state = 'rejected';
-- How many rejections are still to fix, kept like the counts above (the status bar's "To fix").
CREATE TABLE IF NOT EXISTS outbox_to_fix (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    n   INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO outbox_to_fix (one, n) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS outbox_to_fix_insert AFTER INSERT ON outbox
    WHEN NEW.state = 'rejected' AND NEW.id NOT IN (SELECT id FROM outbox_fixed) BEGIN
    UPDATE outbox_to_fix SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_to_fix_rejected AFTER UPDATE OF state ON outbox
    WHEN NEW.state = 'rejected' AND OLD.state IS NOT 'rejected'
         AND NEW.id NOT IN (SELECT id FROM outbox_fixed) BEGIN
    UPDATE outbox_to_fix SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_to_fix_deleted AFTER DELETE ON outbox
    WHEN OLD.state = 'rejected' AND OLD.id NOT IN (SELECT id FROM outbox_fixed) BEGIN
    UPDATE outbox_to_fix SET n = n - 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_to_fix_fixed AFTER INSERT ON outbox_fixed
    WHEN EXISTS (SELECT 1 FROM outbox WHERE id = NEW.id AND state = 'rejected') BEGIN
    UPDATE outbox_to_fix SET n = n - 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_counts_update AFTER UPDATE OF state ON outbox
    WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
    UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;
"""

# Pruning: settled rows looked at per batch (one short transaction each, the writer free
# in between) and free pages handed back per incremental vacuum step.
PRUNE_BATCH_ROWS = 100
VACUUM_STEP_PAGES = 64

_INSERT = (
    "INSERT INTO outbox (seq, id, type, payload, created, changed) VALUES (?, ?, ?, ?, ?, ?)"
)
_SETTLE = (
    "UPDATE outbox SET state = ?, changed = ?, message = ? WHERE id = ? AND"
    " (CASE state WHEN 'pending' THEN 0 WHEN 'stored' THEN 1 ELSE 2 END) < ?"
)
# The next ``batch`` settled rows past the cutoff after the cursor (changed, seq), in the
# settled index's own order, and whether each may go: a rejection only once fixed. The
# cursor moves past the rejections that stay, so no batch reads them again: a batch looks
# at ``batch`` rows however many rejections wait to be fixed. Two index ranges: the rest of
# the cursor's millisecond (a settlement gives all its rows one ``changed``), then later ones.
_PRUNABLE_COLUMNS = "seq, changed, state = 'accepted' OR id IN (SELECT id FROM outbox_fixed)"
_PRUNABLE = (
    f"SELECT {_PRUNABLE_COLUMNS} FROM outbox INDEXED BY outbox_settled"
    " WHERE state IN ('accepted', 'rejected') AND changed = :changed AND seq > :seq"
    " AND changed < :cutoff"
    f" UNION ALL SELECT {_PRUNABLE_COLUMNS} FROM outbox INDEXED BY outbox_settled"
    " WHERE state IN ('accepted', 'rejected') AND changed > :changed AND changed < :cutoff"
    " ORDER BY 2, 1 LIMIT :batch"
)
_DELETE = "DELETE FROM outbox WHERE seq = ?"
_FIX = "INSERT OR IGNORE INTO outbox_fixed (id, by) VALUES (?, ?)"
# Rejections nothing has corrected or dismissed yet: the "to fix" list, oldest first.
_TO_FIX = ("SELECT {columns} FROM outbox WHERE state = 'rejected'"
           " AND id NOT IN (SELECT id FROM outbox_fixed) ORDER BY seq")
# The first event in line is the oldest unsent one: read from the partial index, O(log n).
_OLDEST_PENDING = "SELECT created FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT 1"

T = TypeVar("T")

# What the outbox's thread calls back on the loop: (the function's value, None) or (None, its error).
Done = Callable[[T | None, BaseException | None], None]


class OutboxFault(Exception):
    """The kiosk cannot save: the message is for the worker and IT, as is."""


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_pending_ms: int | None  # unix ms of the oldest unsent event
    stored: int
    accepted: int
    rejected: int
    to_fix: int = 0  # rejected and neither corrected nor dismissed yet

    def oldest_age_s(self, now_ms: int | None = None) -> float | None:
        if self.oldest_pending_ms is None:
            return None
        now_ms = now_ms if now_ms is not None else _now_ms()
        return max(0.0, (now_ms - self.oldest_pending_ms) / 1000)


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


# --- the outbox's thread ---------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    # Made in the outbox's thread; also used on the loop, but only while that thread is
    # idle (``_Thread.idle``, ``Outbox``'s commits on the loop): never by two at once.
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


def _counts(db: sqlite3.Connection) -> Backlog:
    """The kept counts and the first pending row's time: a handful of page reads at any size."""
    n = dict(db.execute("SELECT state, n FROM outbox_counts").fetchall())
    oldest = db.execute(_OLDEST_PENDING).fetchone() if n.get("pending") else None
    kept = db.execute("SELECT n FROM outbox_to_fix").fetchone()
    return Backlog(n.get("pending", 0), oldest[0] if oldest else None, n.get("stored", 0),
                   n.get("accepted", 0), n.get("rejected", 0), int(kept[0]) if kept else 0)


def _to_fix(db: sqlite3.Connection) -> int:
    """Rejections still to fix, counted (from the partial index: a read per rejected row)."""
    row = db.execute(_TO_FIX.format(columns="count(*)").replace(" ORDER BY seq", "")).fetchone()
    return int(row[0]) if row else 0


def _recount(db: sqlite3.Connection) -> Backlog:
    n = dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    oldest = db.execute(_OLDEST_PENDING).fetchone()
    return Backlog(n.get("pending", 0), oldest[0] if oldest else None, n.get("stored", 0),
                   n.get("accepted", 0), n.get("rejected", 0), _to_fix(db))


def _write_counts(db: sqlite3.Connection, counts: Backlog) -> None:
    db.executemany(
        "INSERT INTO outbox_counts (state, n) VALUES (?, ?)"
        " ON CONFLICT (state) DO UPDATE SET n = excluded.n",
        [(s, getattr(counts, s)) for s in STATES],
    )
    db.execute("UPDATE outbox_to_fix SET n = ?", (counts.to_fix,))


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

    The thread hands the answer back with ``call_soon_threadsafe``: to a future
    (``call``), or straight to a callback on the loop (``submit``: no second trip
    round the loop to run a future's callbacks). FIFO: work runs in the order it
    was handed over. ``idle``: no work handed over is still running or unanswered,
    so the loop may use the connection itself meanwhile.
    """

    def __init__(self, name: str) -> None:
        self._jobs: SimpleQueue[tuple[Callable[[], Any], asyncio.AbstractEventLoop, Done[Any]] | None] = (
            SimpleQueue())
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.stopped = False
        self._out = 0  # trips handed over and not answered yet; counted on the loop only

    @property
    def idle(self) -> bool:
        return self._out == 0 and not self.stopped

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, loop, done = job
            try:
                answer: tuple[Any, BaseException | None] = (fn(), None)
            except BaseException as exc:
                answer = (None, exc)
            try:
                loop.call_soon_threadsafe(done, *answer)
            except RuntimeError:  # the loop that asked is gone: nobody is waiting
                pass

    def submit(self, fn: Callable[[], T], done: Done[T]) -> None:
        """Run ``fn`` in the thread, then ``done(value, None)`` or ``done(None, error)`` on
        the running loop."""
        loop = asyncio.get_running_loop()
        if self.stopped:  # nobody would ever answer
            loop.call_soon(done, None, sqlite3.ProgrammingError("the outbox is closed"))
        else:
            self._out += 1
            self._jobs.put((fn, loop, functools.partial(self._answered, done)))

    def _answered(self, done: Done[T], value: T | None, exc: BaseException | None) -> None:
        self._out -= 1
        done(value, exc)

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.submit(fn, functools.partial(_answer, future))
        return future

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._jobs.put(None)


def _answer(future: asyncio.Future[T], value: T | None, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)  # type: ignore[arg-type]  # None only with an error


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


# --- what the outbox's thread runs ------------------------------------------------------


_AUTO_VACUUM_INCREMENTAL = 2  # ``PRAGMA auto_vacuum``'s answer for INCREMENTAL


def prepare(db: sqlite3.Connection, path: Path) -> tuple[int, Backlog]:
    """Check, set up and upgrade the file; the next seq and the kept counts."""
    check = db.execute("PRAGMA quick_check").fetchone()
    if check is None or check[0] != "ok":
        raise OutboxFault(
            f"Kiosk outbox {path} is damaged ({check[0] if check else '?'}). "
            "Do not delete it: call IT to move it aside and recover unsent events."
        )
    # auto_vacuum only takes effect before the first table is created. Set only when not yet:
    # setting it writes, and a kiosk started on a full disk must still open what it holds.
    if (db.execute("PRAGMA auto_vacuum").fetchone() or (0,))[0] != _AUTO_VACUUM_INCREMENTAL:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA journal_size_limit = 16777216")
    version = (db.execute("PRAGMA user_version").fetchone() or (0,))[0]
    if version > SCHEMA_VERSION:
        raise OutboxFault(f"Kiosk outbox {path} was written by a newer Canopy (v{version}); upgrade.")

    def upgrade(db: sqlite3.Connection) -> None:
        for statement in _statements(SCHEMA):
            db.execute(statement)
        if version < 2:  # rows written before the counts were kept: count them once
            _write_counts(db, _recount(db))
        if 0 < version < 3:  # corrections made before the "to fix" list: what they fixed, once
            _fixed_by_corrections(db)
            db.execute("UPDATE outbox_to_fix SET n = ?", (_to_fix(db),))
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    if version < SCHEMA_VERSION:
        _transaction(db, upgrade)
    # seq continues after pruning: AUTOINCREMENT remembers the highest ever used.
    row = db.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
        " coalesce((SELECT max(seq) FROM outbox), 0))"
    ).fetchone()
    return (row[0] if row else 0) + 1, _counts(db)


def _fixed_by_corrections(db: sqlite3.Connection) -> None:
    """Fill ``outbox_fixed`` from the corrections the outbox holds (one scan, at the upgrade)."""
    for event_id, payload in db.execute(
            "SELECT id, payload FROM outbox WHERE type = 'record.corrected'").fetchall():
        try:
            corrects = json.loads(payload).get("corrects")
        except (ValueError, AttributeError):
            continue
        if isinstance(corrects, str):
            db.execute(_FIX, (corrects, event_id))


def insert(db: sqlite3.Connection, rows: list[tuple[int, str, str, bytes, int, int]],
           fixes: list[tuple[str, str]]) -> Backlog | None:
    """New rows, and the "to fix" entries they clear, in one commit; the counts when any cleared.

    A lone row is ONE autocommit INSERT (the counts trigger inside it): one fsync, atomic,
    durable on return. Several (a group commit), or a correction that takes what it names
    off the "to fix" list, are one transaction: the list and the records never disagree.
    """
    if len(rows) == 1 and not fixes:
        db.execute(_INSERT, rows[0])
        return None
    return _transaction(db, lambda d: (d.executemany(_INSERT, rows), d.executemany(_FIX, fixes),
                                       _counts(d) if fixes else None)[-1])


def prune_batch(db: sqlite3.Connection, cutoff: int, batch: int, after: tuple[int, int] = (0, 0),
                ) -> tuple[int, int, tuple[int, int], Backlog | None, float, float]:
    """Look at the next ``batch`` settled rows older than ``cutoff`` after the cursor ``after``
    (changed, seq) and delete those that may go, in one transaction: (rows looked at, rows
    deleted, the cursor for the next batch, new counts if any, ms the writer was held,
    commit included, ms of work without the commit)."""
    t0 = time.perf_counter()

    def work(db: sqlite3.Connection) -> tuple[int, int, tuple[int, int], Backlog | None, float]:
        rows = db.execute(_PRUNABLE, {"cutoff": cutoff, "changed": after[0], "seq": after[1],
                                      "batch": batch}).fetchall()
        going = [(seq,) for seq, _, may in rows if may]
        deleted = db.executemany(_DELETE, going).rowcount if going else 0
        cursor = (rows[-1][1], rows[-1][0]) if rows else after
        return len(rows), deleted, cursor, _counts(db) if deleted else None, time.perf_counter()

    seen, deleted, cursor, counts, t1 = _transaction(db, work)
    return seen, deleted, cursor, counts, (time.perf_counter() - t0) * 1000, (t1 - t0) * 1000


def vacuum_step(db: sqlite3.Connection, pages: int = VACUUM_STEP_PAGES) -> tuple[int, float, float]:
    """Give up to ``pages`` free pages back in one transaction: (pages still free, ms the
    writer was held, commit included, ms of work without the commit)."""
    t0 = time.perf_counter()
    before = db.execute("PRAGMA freelist_count").fetchone()[0]
    # The pragma frees one page per step of its statement; ``execute`` steps it once (one
    # page per call), ``executescript`` steps it to the end.
    try:
        db.executescript(f"BEGIN IMMEDIATE; PRAGMA incremental_vacuum({int(pages)});")
        left = db.execute("PRAGMA freelist_count").fetchone()[0]
        t1 = time.perf_counter()
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    # A file made without auto_vacuum (by another tool) keeps its free pages.
    return ((int(left) if left < before else 0), (time.perf_counter() - t0) * 1000,
            (t1 - t0) * 1000)
