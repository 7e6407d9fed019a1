"""The state's verdicts back to the floor: each kiosk hears "accepted" or "rejected".

Verdicts are committed in the ledger first; this loop publishes the ones not
yet delivered (QoS 1 on the kiosk's acks topic) and marks them answered only
when the broker's PUBACK arrives, so a verdict lost in a crash or an outage is
sent again. The kiosk's outbox ignores a repeat (states only move forward).

A record the compliance console made (device ``CONSOLE_DEVICE``: a rejection
dismissed in the office) has no kiosk to hear its verdict; instead the kiosk that
recorded the rejected event is told it was fixed (``canopy.acks.fixed``), so it
leaves that kiosk's "to fix" list as a dismissal made there would.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from bridge.ledger import Ledger, LedgerUnreachable, Unanswered
from canopy import topics
from canopy.acks import ACKS_PER_MESSAGE, FIXED, encode
from canopy.mqtt import MqttConnection, NotConnected
from canopy.payload import json_object

log = logging.getLogger(__name__)


class AnswerPublisher:
    def __init__(self, ledger: Ledger, *, resend_after_s: float = 30.0) -> None:
        self.ledger = ledger
        self.conn: MqttConnection | None = None  # set once the ingest connection exists
        self.resend_after_s = resend_after_s
        self._wake = asyncio.Event()
        self._inflight: dict[int, list[str]] = {}  # mid -> event ids
        self._sent: dict[str, float] = {}  # event id -> when last published
        self.answered = 0
        self._marking: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    def on_publish(self, mid: int, accepted: bool, reason: str) -> None:
        ids = self._inflight.pop(mid, None)
        if ids and accepted:
            task = asyncio.ensure_future(self._mark(ids))
            self._marking.add(task)
            task.add_done_callback(self._marking.discard)

    async def _mark(self, ids: list[str]) -> None:
        try:
            await self.ledger.mark_answered(ids)
        except LedgerUnreachable:
            return  # not marked: published again after resend_after_s (the kiosk ignores a repeat)
        self.answered += len(ids)
        for event_id in ids:
            self._sent.pop(event_id, None)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), 2.0)
            except TimeoutError:
                pass
            self._wake.clear()
            if self.conn is None or not self.conn.connected:
                continue
            try:
                await self.publish_pending()
            except LedgerUnreachable:  # said once by the ledger; the next tick tries again
                pass
            except Exception:  # the ledger may be briefly unavailable; try on the next tick
                log.exception("publishing verdicts to kiosks failed")

    async def publish_pending(self) -> None:
        assert self.conn is not None
        loop = asyncio.get_running_loop()
        now = loop.time()
        todo = [u for u in await self.ledger.unanswered(2000)
                if now - self._sent.get(u.id, -1e9) > self.resend_after_s]
        by_kiosk: dict[tuple[str, str], list[Unanswered]] = defaultdict(list)
        office = [u for u in todo if u.device == topics.CONSOLE_DEVICE]
        for item in todo:
            if item.device != topics.CONSOLE_DEVICE:
                by_kiosk[(item.facility, item.device)].append(item)
        if office:
            self._tell_fixed(office, await self._targets(office), now)
        for (facility, device), items in by_kiosk.items():
            for start in range(0, len(items), ACKS_PER_MESSAGE):
                chunk = items[start : start + ACKS_PER_MESSAGE]
                (payload,) = encode([{"id": u.id, "status": u.status, "message": u.message}
                                     for u in chunk])
                try:
                    mid = self.conn.publish(topics.acks(facility, device), payload, qos=1)
                except NotConnected:
                    return
                self._inflight[mid] = [u.id for u in chunk]
                for u in chunk:
                    self._sent[u.id] = now

    async def _targets(self, office: list[Unanswered]) -> dict[str, tuple[str, str]]:
        """Console record id → (the event it fixed, that event's kiosk)."""
        records = await self.ledger.events([u.id for u in office])
        fixes = {i: str((json_object(bytes(r[8])) or {}).get("corrects") or "") for i, r in records.items()}
        fixed = await self.ledger.events([f for f in fixes.values() if f])
        return {i: (f, str(fixed[f][2])) for i, f in fixes.items() if f in fixed}

    def _tell_fixed(self, office: list[Unanswered], targets: dict[str, tuple[str, str]], now: float) -> None:
        assert self.conn is not None
        for u in office:
            target = targets.get(u.id) if u.status == "accepted" else None
            if target is None:  # nothing on a kiosk to tell (or the dismissal was refused)
                task = asyncio.ensure_future(self._mark([u.id]))
                self._marking.add(task)
                task.add_done_callback(self._marking.discard)
                continue
            event_id, device = target
            (payload,) = encode([{"id": event_id, "status": FIXED, "by": u.id, "message": u.message}])
            try:
                mid = self.conn.publish(topics.acks(u.facility, device), payload, qos=1)
            except NotConnected:
                return
            self._inflight[mid] = [u.id]
            self._sent[u.id] = now
