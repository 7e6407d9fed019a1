"""The kiosk's durable outbox: every event is on disk before anyone hears "saved".

SQLite in WAL mode with ``synchronous=FULL`` (WAL+NORMAL may roll back the last
commits on power loss; reference/edge-anchors.md §5). An append is ONE
autocommit INSERT, so it is one fsync (and at most one trip to the outbox's thread); the
caller gets the event back only after that commit. Appends asked while a
commit is under way (a scan and a scale reading at once) wait for it, then go
together: one transaction, one fsync, each answered after that commit.

Where commits are quick (an SSD, NVMe: a fraction of a millisecond), the trip
to the thread and back would cost as much as the commit itself, so the commit
is made on the loop instead (``CommitClock``); where they are slow (an SD card,
or a disk that just stalled), the loop must not wait on the disk, and they go
to the thread. Either way the caller hears "saved" only once it is on disk.

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

The storage itself (schema, triggers, the connection's thread) is ``agent.outbox_db``.
"""


from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.outbox_db import (
    _FIX,
    _RANK,
    _SETTLE,
    _TO_FIX,
    PRUNE_BATCH_ROWS,
    STATES,
    Backlog,
    OutboxFault,
    State,
    T,
    _connect,
    _counts,
    _fault,
    _now_ms,
    _recount,
    _Thread,
    _transaction,
    _write_counts,
    insert,
    prepare,
    prune_batch,
    vacuum_step,
)
from canopy.events import EVENT_CLASSES, MAX_EVENT_BYTES, PAYLOADS, Event, InvalidEvent, Payload, build_event
from canopy.ids import uuid7

log = logging.getLogger(__name__)

__all__ = ["STATES", "Backlog", "Outbox", "OutboxFault", "OutboxRow", "PruneReport", "RecordRow",
           "Settlement", "State"]


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


# A commit may be made on the loop only while each of the last ``INLINE_AFTER`` commits
# (made either way) took at most ``INLINE_COMMIT_MS``: the loop (screen, scanner, scale,
# MQTT) then waits at most about that long, and a slower one sends the next ones to the
# thread again. Through the thread a commit costs its hand-off and the loop's wake-up,
# 70-90 µs here, about half a fast disk's commit (bench/outbox.py ``append``); on an SD
# card (a few ms a commit) that is little, and there the thread keeps the loop free.
INLINE_COMMIT_MS = 1.0
INLINE_AFTER = 16


@dataclass(slots=True)
class CommitClock:
    """How long the outbox's commits take, and so where the next one is made."""

    fast_in_a_row: int = 0
    on_loop: int = 0  # commits made on the loop
    in_thread: int = 0  # commits made in the thread
    longest_on_loop_ms: float = 0.0  # the longest the loop waited for one

    @property
    def inline(self) -> bool:
        return self.fast_in_a_row >= INLINE_AFTER

    def took(self, ms: float, *, on_loop: bool) -> None:
        self.fast_in_a_row = self.fast_in_a_row + 1 if ms <= INLINE_COMMIT_MS else 0
        if on_loop:
            self.on_loop += 1
            self.longest_on_loop_ms = max(self.longest_on_loop_ms, ms)
        else:
            self.in_thread += 1


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and how many ms it took."""
    start = time.perf_counter()
    return work(), (time.perf_counter() - start) * 1000


@dataclass(slots=True)
class _Asked:
    """An append waiting for the writer: what to make, and where its answer goes."""

    type_: str
    data: BaseModel | dict[str, Any]
    user: str
    witness: str | None
    corrects: str | None
    at: datetime | None
    answer: asyncio.Future[Event]


def _refuse(answer: asyncio.Future[Event], exc: BaseException) -> None:
    if not answer.done():
        answer.set_exception(exc)


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
        self._asked: list[_Asked] = []  # appends waiting for the writer, in the order asked
        self._next_seq = 1
        self._appended = asyncio.Event()
        self._counts = Backlog(0, None, 0, 0, 0)
        # Bumped after every commit that changed rows; listeners are called then.
        self.version = 0
        self.on_change: list[Callable[[], None]] = []
        self.last_prune = PruneReport()
        self.commits = CommitClock()
        # Set when no outbox file could be made (a new kiosk on a full disk): every record
        # is refused with this, and the kiosk still comes up to say so (``unwritable``).
        self.refusal: str | None = None

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

    @classmethod
    async def unwritable(cls, path: Path, *, facility: str, device: str, refusal: str) -> Outbox:
        """An empty outbox in memory that refuses every record with ``refusal``: for a kiosk
        whose outbox file cannot be made (nothing to send, nothing may be saved)."""
        outbox = await cls.open(Path(":memory:"), facility=facility, device=device)
        outbox.path, outbox.refusal = path, refusal
        return outbox

    def _run(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` in the outbox's thread (the only place the connection is used)."""
        return self._thread.call(fn)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in the outbox's thread: for ``canopy doctor`` and tests."""
        return await self._run(lambda: fn(self._db))

    def _prepare(self) -> None:
        self._next_seq, self._counts = prepare(self._db, self.path)

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

        Appends asked while another commit is under way are committed together, in
        one transaction, in the order asked (group commit): each still returns only
        after the commit that holds its event.

        Raises ``InvalidEvent`` (bad data: nothing saved) or ``OutboxFault``
        (storage problem: nothing saved, everything saved before is intact).
        """
        if self.refusal is not None:
            raise OutboxFault(self.refusal)
        type_, content = (data.type_name, data) if isinstance(data, Payload) else (data, body or {})
        asked = _Asked(type_, content, user, witness, corrects, at,
                       asyncio.get_running_loop().create_future())
        self._asked.append(asked)
        try:
            await self._lock.acquire()
        except asyncio.CancelledError:
            self._withdraw(asked)
            raise
        if asked.answer.done():  # made (or refused) with an earlier append's commit
            self._lock.release()
            return await asked.answer
        if self._inline:
            # The commit will hold the loop: first let the appends already due be asked,
            # so they share it (as they would a commit in the thread), and the caller
            # appending in a loop lets the others run between its records.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                self._withdraw(asked)
                self._lock.release()
                raise
        self._commit_asked()  # frees the writer once committed
        return await asked.answer

    def _withdraw(self, asked: _Asked) -> None:
        """A caller cancelled before its event was made: it is not saved and takes no seq."""
        if asked in self._asked:  # nobody took it
            self._asked.remove(asked)
        asked.answer.cancel()

    @property
    def _inline(self) -> bool:
        """Whether the next commit is made on the loop: commits are quick, and the thread
        has nothing under way (the connection is then the loop's alone)."""
        return self.commits.inline and self._thread.idle

    def _commit_asked(self) -> None:
        """With the writer held: make every event asked so far, in the order asked, and
        commit them at once, on the loop or in one trip to the thread. ``_committed``
        answers them and frees the writer, whatever happens to the task that called this."""
        asked, self._asked = self._asked, []
        try:
            seq, now = self._next_seq, _now_ms()
            made: list[tuple[_Asked, Event]] = []
            rows: list[tuple[int, str, str, bytes, int, int]] = []
            fixes: list[tuple[str, str]] = []
            for one in asked:
                try:
                    event = _make_event(
                        one.type_, one.data, id=uuid7(), facility=self.facility, device=self.device,
                        user=one.user, at=one.at or datetime.now(UTC), seq=seq, witness=one.witness,
                        corrects=one.corrects,
                    )
                    payload = event.to_json()
                    if len(payload) > MAX_EVENT_BYTES:
                        raise InvalidEvent(
                            f"event too large to send ({len(payload)} bytes, limit {MAX_EVENT_BYTES})"
                        )
                except Exception as exc:  # this one is refused (no seq taken); the others go on
                    _refuse(one.answer, exc)
                    continue
                made.append((one, event))
                rows.append((seq, event.id, event.type, payload, now, now))
                if one.corrects is not None:
                    fixes.append((one.corrects, event.id))
                seq += 1
            if not made:
                self._lock.release()
                return
            work = functools.partial(_timed, functools.partial(insert, self._db, rows, fixes))
            if not self._inline:
                self._thread.submit(work, functools.partial(self._committed, made, now, False))
                return
            try:
                answer, failed = work(), None
            except Exception as exc:  # as from the thread: nothing of this commit is saved
                answer, failed = None, exc
            self._committed(made, now, True, answer, failed)
        except BaseException as exc:  # a bug: nobody may wait for ever, nor the writer stay held
            for one in asked:
                _refuse(one.answer, exc)
            if self._lock.locked():
                self._lock.release()
            raise

    def _committed(self, made: list[tuple[_Asked, Event]], now: int, on_loop: bool,
                   answer: tuple[Backlog | None, float] | None, exc: BaseException | None) -> None:
        """On the loop, after the commit (or its failure): answer each append, then free the writer
        (answers first: appends asked meanwhile by the callers go together in the next commit)."""
        try:
            if exc is not None or answer is None:
                self.commits.fast_in_a_row = 0  # a failing disk: not on the loop
                for one, _ in made:
                    _refuse(one.answer, _fault(exc, "this record was NOT saved")
                            if isinstance(exc, sqlite3.Error) else exc or OutboxFault("not saved"))
                return
            fixed, ms = answer
            self.commits.took(ms, on_loop=on_loop)
            self._next_seq += len(made)
            for one, event in made:
                if not one.answer.cancelled():
                    one.answer.set_result(event)
            c = self._counts
            oldest = c.oldest_pending_ms if c.pending else now
            self._changed(fixed or Backlog(c.pending + len(made), oldest, c.stored, c.accepted,
                                           c.rejected, c.to_fix))
            self._appended.set()
        finally:
            self._lock.release()

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

    async def fixed_elsewhere(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Rejections the bridge says were fixed elsewhere (dismissed in the compliance
        console): (rejected event, the record that fixed it). They leave the "to fix" list
        as if dismissed here; ids this kiosk does not hold change nothing that is counted."""
        if not pairs:
            return

        def work(db: sqlite3.Connection) -> Backlog:
            db.executemany(_FIX, pairs)
            return _counts(db)

        async with self._lock:
            try:
                counts = await self._run(lambda: _transaction(self._db, work))
            except sqlite3.Error as exc:
                raise _fault(exc, "the bridge's word that a rejection was fixed was not recorded") from None
            self._changed(counts)

    async def prune(self, retention_s: float, *, batch: int = PRUNE_BATCH_ROWS,
                    pause_s: float = 0.001) -> int:
        """Delete settled rows older than the retention, looking at ``batch`` rows at a time.

        Each batch is one short transaction; between batches the writer is free
        (scans waiting for it go first: the lock is FIFO) and the loop sleeps
        ``pause_s``. A batch goes on from where the last one stopped, so the
        rejections still to fix (kept) are read once per prune, not by every
        batch. Freed pages go back to the file system the same way, a few at a
        time. ``last_prune`` says how long the longest batch held the writer.
        """
        cutoff = _now_ms() - int(retention_s * 1000)
        total = batches = 0
        longest_work = 0.0
        holds: list[float] = []
        after = (0, 0)

        try:
            while True:
                async with self._lock:
                    seen, deleted, after, counts, held, busy = await self._run(
                        functools.partial(prune_batch, self._db, cutoff, batch, after))
                    if counts is not None:
                        self._changed(counts)
                total += deleted
                batches += 1
                holds.append(held)
                longest_work = max(longest_work, busy)
                if seen < batch:
                    break
                await asyncio.sleep(pause_s)
            while total:
                async with self._lock:
                    left, held, busy = await self._run(lambda: vacuum_step(self._db))
                holds.append(held)
                longest_work = max(longest_work, busy)
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

    async def to_fix(self, limit: int = -1) -> list[RecordRow]:
        """The rejections not yet corrected or dismissed, however old, oldest first (the first
        ``limit``; all by default): the "to fix" list. ``counts.to_fix`` says how many."""
        def read(db: sqlite3.Connection) -> list[RecordRow]:
            return [RecordRow(*r) for r in db.execute(
                _TO_FIX.format(columns="seq, id, type, state, created, changed, message") + " LIMIT ?",
                (limit,))]

        return await self.call(read)

    async def states(self) -> dict[str, State]:
        """Every row's state by id (tests and ``canopy doctor``)."""
        return await self.call(lambda db: {r[0]: r[1] for r in db.execute("SELECT id, state FROM outbox")})
