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
- after an ambiguous outcome (the request may have been applied) every event
  that would count twice is read back before it is sent again;
- every attempt and its answer is kept in the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.ledger import Answer, Ledger, ToSubmit
from bridge.outages import alert_if_due
from bridge.state import (
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateRowErrors,
)
from bridge.submit._ops import Mapper, Op, Sender
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
    stats: SubmitStats = field(default_factory=SubmitStats)
    # Events whose last attempt may have been applied: read back before resending.
    _uncertain: set[str] = field(default_factory=set)
    _backoff: float = 0.0

    async def run(self) -> None:
        self._uncertain |= await self.ledger.uncertain_ids(self.facility)
        while True:
            try:
                worked = await self.round()
            except Exception:  # never let one bad round stop reporting for a licence
                log.exception("submit round for %s failed", self.facility)
                worked = False
            await self._check_outage_alert()
            if self._backoff:
                await asyncio.sleep(self._backoff * random.uniform(0.5, 1.0))
            elif not worked:
                await asyncio.sleep(self.flush_interval_s)

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
                await op.before()
        self.stats.requests += 1  # paced by the client's throttle (one per licence)
        try:
            await self.sender.send(ops[0].call, [op.row for op in ops])
        except StateRowErrors as exc:
            await self.ledger.record_attempt(self.facility, endpoint, ids, "rows rejected",
                                             exc.status, _rows_text(exc))
            named = {row.index: row.message for row in exc.rows if row.index is not None
                     and 0 <= row.index < len(ops)}
            if not named:
                return await self._one_by_one(ops, exc)
            await self._settle([Answer(ops[i].event_id, "rejected", msg) for i, msg in named.items()])
            # The rest were not applied (all-or-nothing): they go again next round.
            await self._recovered()
            return True
        except StateRejected as exc:
            await self.ledger.record_attempt(self.facility, endpoint, ids, "rejected", exc.status,
                                             exc.message)
            return await self._one_by_one(ops, exc)
        except StateRateLimited as exc:
            await self.ledger.record_attempt(self.facility, endpoint, ids, "rate limited", exc.status,
                                             f"retry after {exc.retry_after:.1f}s")
            return True  # the client's throttle holds the licence until Retry-After
        except StateAuthError as exc:
            await self._failed(ops, endpoint, "credentials refused", exc)
            return False
        except StateApiError as exc:  # unavailable, 5xx, timeout, reset
            await self._failed(ops, endpoint, "unavailable", exc)
            return False
        await self.ledger.record_attempt(self.facility, endpoint, ids, "ok", 200, "")
        await self._settle([Answer(op.event_id, "accepted", op.told()) for op in ops])
        for i in ids:
            self._uncertain.discard(i)
        await self._recovered()
        return True

    async def _one_by_one(self, ops: list[Op], exc: StateApiError) -> bool:
        """A whole batch refused without naming a row: find the culprit(s)."""
        if len(ops) == 1:
            await self._settle([Answer(ops[0].event_id, "rejected", exc.message)])
            await self._recovered()
            return True
        for op in ops:
            if not await self._submit([op]):
                return False
        return True

    async def _failed(self, ops: list[Op], endpoint: str, what: str, exc: StateApiError) -> None:
        ids = [op.event_id for op in ops]
        outcome = "uncertain" if exc.maybe_applied else what
        await self.ledger.record_attempt(self.facility, endpoint, ids, outcome, exc.status, exc.message)
        if exc.maybe_applied:
            self._uncertain.update(op.event_id for op in ops if op.double_counts)
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
                told = op.told()
                landed.append(Answer(op.event_id, "accepted", f"{told} (confirmed by reading it back)"
                                     if told else "confirmed by reading it back"))
            else:
                keep.append(op)
            self._uncertain.discard(op.event_id)
        if landed:
            await self.ledger.record_attempt(self.facility, ops[0].endpoint,
                                             [a.id for a in landed], "read back: landed", None, "")
            await self._settle(landed)
        return keep

    async def _settle(self, answers: list[Answer]) -> None:
        if not answers:
            return
        await self.ledger.settle(answers)
        for answer in answers:
            if answer.status == "accepted":
                self.stats.accepted += 1
            else:
                self.stats.rejected += 1
        if self.on_settled is not None:
            self.on_settled()

    async def _check_outage_alert(self) -> None:
        await alert_if_due(self.ledger, self.facility, self.outage_alert_hours)


def _rows_text(exc: StateRowErrors) -> str:
    return "; ".join(f"row {r.index}: {r.message}" for r in exc.rows)[:2000] or exc.message
