"""Ledger → state API, one facility licence at a time.

The state APIs have no idempotency key, batches are all-or-nothing, references
are by name, and outages last days. So, per licence:

- events go in ledger order (each kiosk's own order), consecutive events for the
  same endpoint share one batch call of at most ``batch_size`` rows;
- a 400 with row errors rejects exactly those events with the state's message
  and the rest go again; a refusal that names no row is narrowed down by
  sending the events one by one;
- 429 waits for Retry-After (the client's throttle pauses the whole licence);
  5xx, timeouts and resets back off; the client's throttle records the outage
  (start, end, cause) for any failed call, read or write, until the next answer,
  and an outage older than the alert threshold (72 h) is raised here, once;
- before a request leaves, its intent (events, endpoint, body digest; the
  read-back pictures are already in the ledger) is committed as an attempt
  with outcome ``sending``; the answer then replaces the outcome. An attempt
  left ``sending`` (the bridge was killed), ``abandoned`` (stopped or its lease
  lost while waiting) or ``uncertain`` (timeout, reset, 5xx) is ambiguous: each
  of its events is read back (Metrc) or its nonce replayed (BioTrack) before it
  is sent again, by this bridge after a restart or by whichever bridge takes
  the licence over;
- a refusal of an event that was in an ambiguous attempt ("already harvested",
  "tag not available") is read back too: if the state holds it, it is
  *accepted*, never *rejected*;
- with several bridges, the submitter runs under the licence's lease
  (``fence``): every intent and verdict is checked against it, and a bridge
  that lost it stops;
- while the ledger is unreachable (PostgreSQL restarting or failing over) nothing
  is sent: no call leaves without its intent committed. A call whose answer could
  not be recorded stays ``sending`` in the ledger, so after any failed round the
  submitter takes its picture of ambiguous calls from the ledger again
  (``resume``) before it sends anything: the answer it got but could not write is
  read back, never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.ledger import Answer, Fence, LeaseLost, Ledger, LedgerUnreachable, ToSubmit
from bridge.outages import alert_if_due
from bridge.state import (
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateRowErrors,
)
from bridge.submit._ops import Mapper, Op, Sender, body_digest
from canopy.events import InvalidEvent, parse_event

log = logging.getLogger(__name__)


@dataclass
class SubmitStats:
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    failures: int = 0
    read_backs: int = 0


@dataclass
class Submitter:
    facility: str
    ledger: Ledger
    mapper: Mapper
    sender: Sender
    batch_size: int = 10
    flush_interval_s: float = 1.0
    outage_alert_hours: float = 72.0
    backoff_max_s: float = 60.0
    on_settled: Callable[[], None] | None = None  # wakes the answer publisher
    bridge: str = ""  # this bridge's id, kept with each attempt
    fence: Fence | None = None  # the licence's lease, when several bridges share the ledger
    stats: SubmitStats = field(default_factory=SubmitStats)
    # Events whose last attempt may have been applied: read back before resending.
    _uncertain: set[str] = field(default_factory=set)
    # Events that were ever in an ambiguous attempt: a refusal of one is read back.
    _ambiguous: set[str] = field(default_factory=set)
    _backoff: float = 0.0

    def __post_init__(self) -> None:
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Finish the call in flight, then return from ``run`` (handing the licence over)."""
        self._stop.set()

    async def resume(self) -> None:
        """Whoever submitted this licence before (this process before a restart, or a
        bridge that died) may have left calls without an answer: read those back."""
        left = await self.ledger.uncertain_ids(self.facility)
        if left:
            log.warning("%s: %d event(s) were in calls left without an answer; they are read back"
                        " before anything is sent again", self.facility, len(left))
            # A call that a dead process began may still reach the state until its timeout:
            # read back only after that, or the read-back could miss a write landing late.
            began = await self.ledger.last_unanswered(self.facility)
            timeout_ms = self.fence.guard_ms if self.fence is not None else 0
            if began is not None and timeout_ms:
                wait_s = (began + timeout_ms - self.ledger.clock()) / 1000
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
        self._uncertain |= left
        self._ambiguous |= left

    async def run(self) -> None:
        resume = True  # the ledger's unanswered calls are read before anything is sent
        unreachable = False
        while not self._stop.is_set():
            wait_s = 0.0
            try:
                if resume:
                    await self.resume()
                    resume = False
                worked = await self.round()
                await self._check_outage_alert()
                if unreachable:
                    log.warning("%s: the ledger answers again; submitting resumed", self.facility)
                    unreachable = False
            except LeaseLost:
                raise
            except LedgerUnreachable as exc:
                # An answer may have come back that could not be written: the ledger
                # still says "sending" for it, and resume() reads it back before any resend.
                if not unreachable:
                    log.warning("%s: %s; nothing is sent to the state until it is back",
                                self.facility, exc)
                    unreachable = True
                resume, worked, wait_s = True, False, exc.retry_in_s
            except Exception:  # never let one bad round stop reporting for a licence
                log.exception("submit round for %s failed", self.facility)
                resume, worked = True, False
            pause = (self._backoff * random.uniform(0.5, 1.0) if self._backoff
                     else 0.0 if worked else max(self.flush_interval_s, wait_s))
            if pause and not self._stop.is_set():
                try:
                    await asyncio.wait_for(self._stop.wait(), pause)
                except TimeoutError:
                    pass

    async def round(self) -> bool:
        """Submit what is waiting (up to a few batches); False if there was nothing."""
        waiting = await self.ledger.to_submit(self.facility, self.batch_size * 20)
        if not waiting:
            return False
        # Consecutive events for one endpoint share a call, and each event is
        # mapped only after everything before it was sent: mapping may read the
        # state (a harvest's id by name) that an earlier event just created.
        batch: list[Op] = []
        batch_type = ""
        for item in waiting:
            if self._stop.is_set():
                return True  # handing over: what is not sent yet stays for the next holder
            if batch and (item.type != batch_type or len(batch) >= self.batch_size):
                if not await self._submit(batch):
                    return True  # the state is unhappy: back off before the next round
                batch = []
            result = await self._map(item)
            if isinstance(result, Answer):
                await self._settle([result])
                continue
            if batch and (result.endpoint != batch[0].endpoint or not result.batchable):
                if not await self._submit(batch):
                    return True
                batch = []
            batch.append(result)
            batch_type = item.type
            if not result.batchable:
                if not await self._submit(batch):
                    return True
                batch = []
        if batch:
            await self._submit(batch)
        return True

    async def _map(self, item: ToSubmit) -> Op | Answer:
        try:
            event = parse_event(item.payload)
        except InvalidEvent as exc:  # stored by an older bridge with other rules
            return Answer(item.id, "rejected", f"invalid: {exc}")
        return await self.mapper.map(event)

    async def _submit(self, ops: list[Op]) -> bool:
        ops = await self._drop_landed(ops)
        if not ops:
            return True
        endpoint = ops[0].endpoint
        ids = [op.event_id for op in ops]
        for op in ops:
            if op.before is not None:
                await op.before()  # the read-back's picture, in the ledger before the intent
        rows = [op.row for op in ops]
        # The intent is committed before the request leaves (see the module's docstring).
        n = await self.ledger.begin_attempt(self.facility, endpoint, ids, body_digest(endpoint, rows),
                                            self.bridge, self.fence)
        self.stats.requests += 1  # paced by the client's throttle (one per licence)
        try:
            await self.sender.send(ops[0].call, rows)
        except asyncio.CancelledError:
            # Stopped mid-call (SIGTERM, a lost lease): the state may yet apply it.
            # Say so in the ledger; failing that, the "sending" intent says the same.
            try:
                await self._end(n, "abandoned", None, "stopped while waiting for the answer")
            except Exception:
                log.warning("%s: could not mark call %d abandoned; it stays ambiguous", self.facility, n)
            raise
        except StateRowErrors as exc:
            await self._end(n, "rows rejected", exc.status, _rows_text(exc))
            named = {row.index: row.message for row in exc.rows if row.index is not None
                     and 0 <= row.index < len(ops)}
            if not named:
                return await self._one_by_one(ops, exc)
            await self._settle(await self._refused([(ops[i], msg) for i, msg in named.items()]))
            # The rest were not applied (all-or-nothing): they go again next round.
            await self._recovered()
            return True
        except StateRejected as exc:
            await self._end(n, "rejected", exc.status, exc.message)
            return await self._one_by_one(ops, exc)
        except StateRateLimited as exc:
            await self._end(n, "rate limited", exc.status, f"retry after {exc.retry_after:.1f}s")
            return True  # the client's throttle holds the licence until Retry-After
        except StateAuthError as exc:
            await self._failed(ops, n, "credentials refused", exc)
            return False
        except StateApiError as exc:  # unavailable, 5xx, timeout, reset
            await self._failed(ops, n, "unavailable", exc)
            return False
        # The answer and the verdicts in one transaction (see Ledger.end_attempt).
        await self._settle([Answer(op.event_id, "accepted", op.told()) for op in ops], attempt=n)
        await self._recovered()
        return True

    async def _end(self, n: int, outcome: str, status: int | None, detail: str) -> None:
        await self.ledger.end_attempt(n, outcome, status, detail, self.fence)

    async def _refused(self, refused: list[tuple[Op, str]]) -> list[Answer]:
        """Verdicts for events the state refused. One that was in an ambiguous call is
        read back first: "already harvested" after a lost answer means it landed."""
        answers: list[Answer] = []
        for op, message in refused:
            if op.event_id in self._ambiguous:
                self.stats.read_backs += 1
                if await op.landed():
                    answers.append(Answer(op.event_id, "accepted", _confirmed(op)))
                    continue
            answers.append(Answer(op.event_id, "rejected", message))
        return answers

    async def _one_by_one(self, ops: list[Op], exc: StateApiError) -> bool:
        """A whole batch refused without naming a row: find the culprit(s)."""
        if len(ops) == 1:
            await self._settle(await self._refused([(ops[0], exc.message)]))
            await self._recovered()
            return True
        for op in ops:
            if not await self._submit([op]):
                return False
        return True

    async def _failed(self, ops: list[Op], n: int, what: str, exc: StateApiError) -> None:
        outcome = "uncertain" if exc.maybe_applied else what
        await self._end(n, outcome, exc.status, exc.message)
        if exc.maybe_applied:
            self._uncertain.update(op.event_id for op in ops if op.double_counts)
            self._ambiguous.update(op.event_id for op in ops)
        self.stats.failures += 1  # the outage itself is recorded by the client's throttle
        self._backoff = min(self.backoff_max_s, max(1.0, self._backoff * 2))

    async def _recovered(self) -> None:
        self._backoff = 0.0
        # An outage that passed the alert threshold between two checks is still
        # raised, on its way out: the licensee must report it either way.
        await self._check_outage_alert()

    async def _drop_landed(self, ops: list[Op]) -> list[Op]:
        """Read back events a lost answer may have applied; never send those twice."""
        keep: list[Op] = []
        landed: list[Answer] = []
        for op in ops:
            if op.event_id not in self._uncertain:
                keep.append(op)
                continue
            self.stats.read_backs += 1
            verdict = await op.landed()
            if verdict is None:
                raise RuntimeError(f"cannot read back {op.event_id}; will try again")
            if verdict:
                landed.append(Answer(op.event_id, "accepted", _confirmed(op)))
            else:
                keep.append(op)
            self._uncertain.discard(op.event_id)
        if landed:
            await self.ledger.record_attempt(self.facility, ops[0].endpoint,
                                             [a.id for a in landed], "read back: landed", None, "",
                                             self.bridge)
            await self._settle(landed)
        return keep

    async def _settle(self, answers: list[Answer], *, attempt: int | None = None) -> None:
        """Record verdicts; with ``attempt``, as that call's "ok" answer, atomically."""
        if attempt is not None:
            await self.ledger.end_attempt(attempt, "ok", 200, "", self.fence, answers)
        elif answers:
            await self.ledger.settle(answers, self.fence)
        if not answers:
            return
        for answer in answers:
            if answer.status == "accepted":
                self.stats.accepted += 1
            else:
                self.stats.rejected += 1
            self._uncertain.discard(answer.id)
            self._ambiguous.discard(answer.id)
        if self.on_settled is not None:
            self.on_settled()

    async def _check_outage_alert(self) -> None:
        await alert_if_due(self.ledger, self.facility, self.outage_alert_hours)


def _confirmed(op: Op) -> str:
    told = op.told()
    return f"{told} (confirmed by reading it back)" if told else "confirmed by reading it back"


def _rows_text(exc: StateRowErrors) -> str:
    return "; ".join(f"row {r.index}: {r.message}" for r in exc.rows)[:2000] or exc.message
