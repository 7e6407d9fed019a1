"""Outbox → MQTT, and the bridge's answers → outbox.

A PUBACK only says the broker took the message; brokers drop queued messages
silently (reference/edge-anchors.md §0). So an event stays "pending" in the
outbox until the bridge says "stored" on our acks topic, and is published again
(same id) if that answer does not come within ``ack_timeout_s``, or at once
when a bridge announces it is (back) online (``canopy.bridge_status``): a
restarted Mosquitto drops what it held for the bridges' shared subscription,
and the backlog should not wait the ack timeout for that.

Two windows keep memory and the broker bounded during a long backlog:
``window`` publishes waiting for PUBACK, and ``max_unacked`` events published
but not yet stored by the bridge.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agent.bridgeclock import clock_file, write_clock_offset
from agent.outbox import Outbox, OutboxFault, OutboxRow, Settlement
from canopy import acks, bridge_status, kiosk_status, topics
from canopy.bridge_status import BridgeStatus, StateSystem
from canopy.events import MAX_MESSAGE_BYTES, join_events
from canopy.mqtt import Message, MqttConnection, MqttSettings, NotConnected

log = logging.getLogger(__name__)

class UplinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: Annotated[int, Field(ge=1, le=65535)] = 200
    max_unacked: Annotated[int, Field(ge=1)] = 5000
    ack_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    batch: Annotated[int, Field(ge=1, le=5000)] = 500
    # Events packed into one MQTT message when there is a backlog (one per line);
    # a live scan still goes out at once, alone.
    events_per_message: Annotated[int, Field(ge=1, le=1000)] = 100
    status_interval_s: Annotated[float, Field(gt=0)] = 30.0


@dataclass
class UplinkStatus:
    """What the screen, the tower light and the retained status message show."""

    online: bool = False
    backlog: int = 0
    oldest_unsent_age_s: float | None = None
    fault: str | None = None
    published: int = 0
    republished: int = 0
    acked: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # This facility's state system as the newest bridge status says (None: no bridge said).
    state_system: StateSystem | None = None


def status_payload(facility: str, device: str, state: kiosk_status.Reported,
                   status: UplinkStatus | None) -> bytes:
    if status is None:
        return kiosk_status.encode(facility, device, state)
    # A sign-in alert (agent/kiosk.py) shows as the fault when nothing worse is wrong.
    fault = status.fault or status.extra.get("signin_alert")
    return kiosk_status.encode(facility, device, state, backlog=status.backlog,
                               oldest_unsent_age_s=status.oldest_unsent_age_s, fault=fault)


def parse_acks(payload: bytes) -> list[Settlement]:
    """The bridge's ack message → settlements; an unreadable one raises ``InvalidAck``."""
    out: list[Settlement] = []
    for ack in acks.decode(payload):
        if ack.id is None:
            # The bridge could not even read an event of ours: nothing to settle,
            # but it must be seen.
            log.error("bridge rejected an unreadable message from this kiosk: %s", ack.message)
        else:
            out.append(Settlement(ack.id, ack.status, ack.message))
    return out


class Uplink:
    def __init__(
        self,
        mqtt: MqttSettings,
        settings: UplinkSettings,
        outbox: Outbox,
        *,
        on_ref: Callable[[str, bytes], Awaitable[object]] | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        facility, device = outbox.facility, outbox.device
        self.events_topic = topics.events(facility, device)
        self.acks_topic = topics.acks(facility, device)
        self.status_topic = topics.status(facility, device)
        # Reference data (retained: a list's own topic, and the parts of a big one below it):
        # handed to ``on_ref(suffix, payload)`` (suffix: what follows ``ref/``) and
        # acknowledged once it returns, so a list is never lost between broker and disk.
        self.ref_prefix = topics.ref(facility, "")
        self._on_ref = on_ref
        self._refs: asyncio.Queue[Message] = asyncio.Queue()
        self.status = UplinkStatus()
        # This kiosk's clock minus the bridge's, from the last ack that said (canopy doctor).
        self.clock_offset_s: float | None = None
        self._clock_kept: tuple[float, float] | None = None  # (offset, when) last written
        # Bridge id -> (its status's time, what it says of this facility's state system).
        self._state_systems: dict[str, tuple[int, StateSystem]] = {}
        self.conn = MqttConnection(
            mqtt,
            client_id=device,
            manual_ack=True,
            max_inflight=settings.window,
            will=(self.status_topic, status_payload(facility, device, "offline", None), True),
            subscriptions=(self.acks_topic, topics.ALL_BRIDGES,
                           *((topics.ref(facility, "#"),) if on_ref else ())),
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_publish=self._on_publish,
        )
        self._slots = asyncio.Semaphore(settings.window)
        self._inflight: dict[int, list[str]] = {}  # mid -> event ids, waiting for PUBACK
        # event id -> monotonic deadline for the bridge's "stored"; insertion
        # order is deadline order because the timeout is constant.
        self._awaiting: OrderedDict[str, float] = OrderedDict()
        self._cursor = 0  # highest seq published since start
        self._wake = asyncio.Event()
        self._acks: asyncio.Queue[Message] = asyncio.Queue()
        self._status_due = asyncio.Event()
        # Every commit that moved the outbox's counts (a save, an ack, a prune) is news.
        outbox.on_change.append(self._status_due.set)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.conn.run(), name="mqtt")
            tasks.create_task(self._pump(), name="uplink-pump")
            tasks.create_task(self._settle_acks(), name="uplink-acks")
            tasks.create_task(self._watch_appends(), name="uplink-appends")
            tasks.create_task(self._status_loop(), name="uplink-status")
            if self._on_ref is not None:
                tasks.create_task(self._take_refs(self._on_ref), name="uplink-ref")

    # --- paho callbacks (event loop thread) -----------------------------------

    def _on_connect(self, session_present: bool) -> None:
        self.status.online = True
        self._status_due.set()
        self._wake.set()

    def _on_disconnect(self, reason: str) -> None:
        self.status.online = False
        # paho re-sends its own in-flight messages after reconnect; our window
        # must not wait for PUBACKs of a dead connection.
        for _ in self._inflight:
            self._slots.release()
        self._inflight.clear()

    def _on_publish(self, mid: int, accepted: bool, reason: str) -> None:
        event_ids = self._inflight.pop(mid, None)
        if event_ids is None:
            return
        self._slots.release()
        if not accepted:
            # E.g. "Not authorized": the ACL refuses us. The events stay pending
            # and are retried after the ack timeout; the screen shows why.
            self.status.fault = f"broker refused events: {reason}"
            log.error("broker refused %d event(s): %s", len(event_ids), reason)
        elif self.status.fault and self.status.fault.startswith("broker refused"):
            self.status.fault = None

    def _keep_clock_offset(self) -> None:
        """Write the offset next to the outbox for ``canopy doctor`` (when it moved, or hourly)."""
        offset, now = self.clock_offset_s, time.time()
        kept = self._clock_kept
        if offset is None or (kept is not None and abs(kept[0] - offset) < 1 and now - kept[1] < 3600):
            return
        try:
            write_clock_offset(clock_file(self.outbox.path), offset, now)
            self._clock_kept = (offset, now)
        except OSError as exc:
            log.warning("cannot keep the clock offset: %s", exc)

    def _on_message(self, message: Message) -> None:
        if message.topic == self.acks_topic:
            bridge_now = acks.sent_at(message.payload)
            if bridge_now is not None:  # read on arrival: the offset is off by the latency only
                self.clock_offset_s = time.time() - bridge_now
            self._acks.put_nowait(message)
        elif self._on_ref is not None and message.topic.startswith(self.ref_prefix):
            self._refs.put_nowait(message)
        else:
            status = bridge_status.decode(message.topic, message.payload)
            if status is not None:
                self.note_state_system(status)
            # A retained copy is old news (delivered because we subscribed); a
            # live "online" means a bridge just (re)connected.
            if status is not None and status.state == "online" and not message.retain:
                self.resend_unconfirmed(f"bridge {status.bridge} is online")
            self.conn.ack(message)

    def note_state_system(self, status: BridgeStatus) -> None:
        """Keep what ``status`` says of this facility's state system; the newest bridge's word
        counts (bridges sharing a ledger say the same; one gone offline says nothing)."""
        said = status.facilities.get(self.outbox.facility) if status.state == "online" else None
        if said is None:
            self._state_systems.pop(status.bridge, None)
        else:
            self._state_systems[status.bridge] = (status.at or 0, said)
        newest = max(self._state_systems.values(), key=lambda kept: kept[0], default=None)
        self.status.state_system = newest[1] if newest else None

    def resend_unconfirmed(self, why: str) -> None:
        """Publish again now every event the bridge has not confirmed, not at its ack timeout."""
        if not self._awaiting:
            return
        now = time.monotonic()
        for event_id in self._awaiting:
            self._awaiting[event_id] = min(self._awaiting[event_id], now)
        log.info("%s: publishing %d unconfirmed event(s) again", why, len(self._awaiting))
        self._wake.set()

    # --- loops ----------------------------------------------------------------

    async def _watch_appends(self) -> None:
        while True:
            await self.outbox.wait_appended()
            self._wake.set()

    async def _pump(self) -> None:
        while True:
            await self.conn.wait_connected()
            sent = await self._republish_expired()
            room = self.settings.max_unacked - len(self._awaiting)
            if room > 0:
                rows = await self.outbox.pending_after(self._cursor, min(room, self.settings.batch))
                for group in self._messages(rows):
                    if not await self._send(group):
                        break
                    self._cursor = max(self._cursor, group[-1].seq)
                    sent += len(group)
            if sent:
                self._status_due.set()
                continue
            await self._sleep_until_work()

    async def _sleep_until_work(self) -> None:
        self._wake.clear()
        timeout = None
        if self._awaiting:
            first_deadline = next(iter(self._awaiting.values()))
            timeout = max(0.0, first_deadline - time.monotonic())
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    def _messages(self, rows: list[OutboxRow]) -> list[list[OutboxRow]]:
        """Consecutive rows packed into messages, bounded by count and bytes."""
        groups: list[list[OutboxRow]] = []
        size = 0
        for row in rows:
            if (groups and len(groups[-1]) < self.settings.events_per_message
                    and size + len(row.payload) + 1 <= MAX_MESSAGE_BYTES):
                groups[-1].append(row)
                size += len(row.payload) + 1
            else:
                groups.append([row])
                size = len(row.payload)
        return groups

    async def _send(self, rows: list[OutboxRow]) -> bool:
        await self._slots.acquire()
        payload = join_events([row.payload for row in rows])
        try:
            mid = self.conn.publish(self.events_topic, payload, qos=1)
        except NotConnected:
            self._slots.release()
            return False
        ids = [row.id for row in rows]
        self._inflight[mid] = ids
        deadline = time.monotonic() + self.settings.ack_timeout_s
        for event_id in ids:
            self._awaiting.pop(event_id, None)
            self._awaiting[event_id] = deadline
        self.status.published += len(ids)
        return True

    async def _republish_expired(self) -> int:
        now = time.monotonic()
        expired: list[str] = []
        for event_id, deadline in self._awaiting.items():
            if deadline > now or len(expired) >= self.settings.batch:
                break
            expired.append(event_id)
        if not expired:
            return 0
        rows = await self.outbox.pending_by_id(expired)
        still_pending = {row.id for row in rows}
        for event_id in expired:
            if event_id not in still_pending:
                self._awaiting.pop(event_id, None)
        count = 0
        for group in self._messages(rows):
            if not await self._send(group):
                break
            count += len(group)
        if count:
            self.status.republished += count
            log.info("republished %d event(s) the bridge has not confirmed", count)
        return count

    async def _settle_acks(self) -> None:
        while True:
            batch = [await self._acks.get()]
            while not self._acks.empty():
                batch.append(self._acks.get_nowait())
            settlements: list[Settlement] = []
            fixed: list[tuple[str, str]] = []
            for message in batch:
                try:
                    settlements.extend(parse_acks(message.payload))
                    fixed.extend(acks.fixed(message.payload))
                except (ValueError, UnicodeDecodeError) as exc:
                    log.error("unreadable ack from the bridge (%s): %r", exc, message.payload[:200])
            try:
                await self.outbox.settle(settlements)
                await self.outbox.fixed_elsewhere(fixed)
            except OutboxFault as exc:
                # Not acking the MQTT messages means the broker redelivers them.
                self.status.fault = str(exc)
                log.error("%s", exc)
                await asyncio.sleep(1.0)
                continue
            for message in batch:
                self.conn.ack(message)
            self._keep_clock_offset()
            for s in settlements:
                if self._awaiting.pop(s.id, None) is not None:
                    self.status.acked += 1
            self._status_due.set()
            self._wake.set()  # room in the unacked window

    async def _take_refs(self, on_ref: Callable[[str, bytes], Awaitable[object]]) -> None:
        while True:
            message = await self._refs.get()
            name = message.topic[len(self.ref_prefix):]  # "<name>" or "<name>/<version>/<part>"
            try:
                await on_ref(name, message.payload)
            except Exception:  # one bad list must not stop the others
                log.exception("reference data %r not taken", name)
            self.conn.ack(message)

    async def _status_loop(self) -> None:
        last = 0.0
        while True:
            try:
                await asyncio.wait_for(self._status_due.wait(), self.settings.status_interval_s)
            except TimeoutError:
                pass
            self._status_due.clear()
            # At most once a second, however busy the drain is.
            await asyncio.sleep(max(0.0, last + 1.0 - time.monotonic()))
            last = time.monotonic()
            await self.publish_status()

    async def publish_status(self) -> None:
        # The outbox's kept counts (in memory, as of its last commit): never a COUNT.
        backlog = self.outbox.counts
        self.status.backlog = backlog.pending
        self.status.oldest_unsent_age_s = backlog.oldest_age_s()
        if not self.conn.connected:
            return
        payload = status_payload(self.outbox.facility, self.outbox.device, "online", self.status)
        try:
            self.conn.publish(self.status_topic, payload, qos=1, retain=True)
        except NotConnected:
            pass
