"""Kiosk events from MQTT into the ledger, each id once, acked only after commit.

paho runs with ``manual_ack``: the PUBACK for an event goes back to the broker
only after the ledger committed it, so a bridge killed between receipt and
commit gets the message again (the broker redelivers to our persistent
session) and the kiosk republishes anything still unconfirmed anyway.

Several bridge processes share the load through an MQTT v5 shared
subscription (``$share/<group>/canopy/v1/+/+/events``). Mosquitto hands each
member of the share its turn whether it is connected or not: a bridge killed
with a persistent session would keep taking its share of new events into a
queue nobody reads, for as long as the session lasts (days). So the shared
session ends with the connection (``SHARED_SESSION_EXPIRY_S``): the broker
drops a dead bridge from the share at once, and what it held for it (received,
never acked) is dropped too, which is safe because a kiosk keeps every event
until a bridge says "stored". The bridges watch each other's status: when one
goes offline, the others announce "online" again, and kiosks publish again at
once what is unconfirmed (``canopy.bridge_status``) rather than at their ack
timeout; the ledger stores each id once, so a resend is answered, not doubled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.ledger import (
    WORKER_KEY,
    IncomingEvent,
    Ledger,
    LedgerUnreachable,
    QuarantineBound,
    Rejected,
    StoreResult,
)
from canopy import acks as ack_messages
from canopy import bridge_status, topics
from canopy.events import MAX_MESSAGE_BYTES, Event, InvalidEvent, format_utc, parse_event, split_message
from canopy.mqtt import Message, MqttConnection, MqttSettings, NotConnected
from canopy.payload import json_object

log = logging.getLogger(__name__)

# The session of a bridge in the shared subscription ends when its connection does
# (see the module's text); a bridge on a plain subscription keeps the [mqtt] setting.
SHARED_SESSION_EXPIRY_S = 0


_BRIDGES_PREFIX = topics.BRIDGES + "/"


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    shared_group: str | None = Field(
        default="canopy-bridge",
        description="MQTT v5 shared-subscription group; None subscribes plainly (one bridge only)",
    )
    batch_max: Annotated[int, Field(ge=1, le=10000)] = 1000  # events per ledger transaction
    batch_wait_ms: Annotated[float, Field(ge=0, le=1000)] = 5.0
    receive_window: Annotated[int, Field(ge=1, le=65535)] = 2000
    # What one device's invalid messages may fill in the ledger's quarantine; more
    # are counted (and their kiosk told), not kept.
    quarantine_max_rows: Annotated[int, Field(ge=1)] = 1000
    quarantine_max_bytes: Annotated[int, Field(ge=1)] = 16 * 1024 * 1024


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    ledger_errors: int = 0


class LedgerDown(Exception):
    """The ledger refused even a quarantine record: it is down or full, not one event's fault."""


class Ingest:
    def __init__(
        self, mqtt: MqttSettings, settings: IngestSettings, ledger: Ledger, *, client_id: str,
        on_publish: Callable[[int, bool, str], None] | None = None,
        on_connect: Callable[[bool], None] | None = None,
        will: tuple[str, bytes, bool] | None = None,
        on_bridge_offline: Callable[[str], None] | None = None,
    ) -> None:
        """``will``: the bridge's "offline", published by the broker if the bridge dies and
        by the bridge itself when it stops. ``on_bridge_offline(bridge_id)``: a bridge's
        "offline" just arrived (its will or its stop), this bridge's own included."""
        self.settings = settings
        self.ledger = ledger
        ledger.quarantine_bound = QuarantineBound(settings.quarantine_max_rows,
                                                  settings.quarantine_max_bytes)
        self.stats = IngestStats()
        # Devices whose quarantine was full, said once each (a flood must not flood the log).
        self._full: set[tuple[str, str]] = set()
        use_share = settings.shared_group is not None and mqtt.protocol == "5"
        subscription = (
            topics.shared(settings.shared_group, topics.ALL_EVENTS)  # type: ignore[arg-type]
            if use_share
            else topics.ALL_EVENTS
        )
        if use_share:
            mqtt = mqtt.model_copy(update={"session_expiry_s": SHARED_SESSION_EXPIRY_S})
        self._on_bridge_offline = on_bridge_offline
        watch = (topics.ALL_BRIDGES,) if on_bridge_offline is not None else ()
        self.conn = MqttConnection(
            mqtt,
            client_id=client_id,
            manual_ack=True,
            receive_maximum=settings.receive_window,
            subscriptions=(subscription, *watch),
            on_message=self._on_message,
            on_publish=on_publish,
            on_connect=on_connect,
            will=will,
            will_on_stop=True,
        )
        # Messages with their events, classified as they arrive: that work is done while
        # the previous batch's commit is in flight, not after it.
        self._queue: list[tuple[Message, list[IncomingEvent | Rejected]]] = []
        self._queued = 0  # events in _queue
        self._arrived = asyncio.Event()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.conn.run(), name="mqtt")
            tasks.create_task(self._batches(), name="ingest")

    def _on_message(self, message: Message) -> None:
        if message.topic.startswith(_BRIDGES_PREFIX):
            self.conn.ack(message)
            status = bridge_status.decode(message.topic, message.payload)
            # A retained copy is old news, delivered because we subscribed.
            if (status is not None and status.state == "offline" and not message.retain
                    and self._on_bridge_offline is not None):
                self._on_bridge_offline(status.bridge)
            return
        items = classify(message)
        self._queue.append((message, items))
        self._queued += len(items)
        self._arrived.set()

    async def _batches(self) -> None:
        while True:
            await self._arrived.wait()
            if self.settings.batch_wait_ms and self._queued < self.settings.batch_max:
                # A short wait turns a burst into one commit (one fsync) instead of many.
                await asyncio.sleep(self.settings.batch_wait_ms / 1000)
            # Bound the batch by events, not messages: a message may carry a hundred.
            taken, events = 0, 0
            while taken < len(self._queue) and (taken == 0 or events < self.settings.batch_max):
                events += len(self._queue[taken][1])
                taken += 1
            batch = self._queue[:taken]
            del self._queue[:taken]
            self._queued -= events
            if not self._queue:
                self._arrived.clear()
            await self._handle(batch)

    async def _handle(self, batch: list[tuple[Message, list[IncomingEvent | Rejected]]]) -> None:
        # Each message's events are classified once; a ledger error then never
        # blocks the others (see _store_isolating). Acked only after the commit.
        items = [item for _, classified in batch for item in classified]
        delay = 0.5
        waited = False
        while True:
            try:
                await self._store_isolating(items)
                break
            except LedgerUnreachable as exc:
                # PostgreSQL restarting or failing over: nothing of this batch is acked, so
                # nothing is lost (the broker holds it, the kiosks keep it); once the ledger
                # is back the batch is stored again, each id once.
                self.stats.ledger_errors += 1
                if not waited:
                    log.warning("%s: holding %d event(s) unacknowledged until the ledger is back",
                                exc, len(items))
                    waited = True
                await asyncio.sleep(max(exc.retry_in_s, 0.1))
            except LedgerDown as exc:  # the database is down or full: keep the batch, retry
                self.stats.ledger_errors += 1
                log.error("ledger commit failed, will retry (events not acked): %s", exc.__cause__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.stats.batches += 1
        for message, _ in batch:
            self.conn.ack(message)

    async def _store_isolating(self, items: list[IncomingEvent | Rejected]) -> None:
        """Store ``items`` and answer their kiosks; a row the ledger refuses is quarantined.

        A failed commit is split in halves until the failing event stands alone.
        If the ledger then takes that event's quarantine record, the ledger is up
        and the event itself is the problem: it is quarantined with the ledger's
        reason and its kiosk told, and everything else is stored. If even the
        quarantine fails, the ledger is down (``LedgerDown``) and the whole batch
        waits, unacknowledged, for the retry.
        """
        events = [i for i in items if isinstance(i, IncomingEvent)]
        rejected = [i for i in items if isinstance(i, Rejected)]
        try:
            result = await self.ledger.store(events, rejected)
        except LedgerUnreachable:
            raise  # no event's fault: the whole batch waits (never quarantined for it)
        except Exception as exc:
            if len(items) > 1:
                half = len(items) // 2
                await self._store_isolating(items[:half])
                await self._store_isolating(items[half:])
                return
            await self._quarantine_refused(items[0], exc)
            return
        self.stats.received += len(items)
        self.stats.stored += len(result.new)
        self.stats.duplicates += len(result.duplicate)
        self.stats.rejected += len(rejected) + len(result.conflict)
        self._log_quarantine(rejected, result)
        self._answer(events, rejected, result)

    async def _quarantine_refused(self, item: IncomingEvent | Rejected, error: Exception) -> None:
        if isinstance(item, Rejected):  # not even its quarantine record could be stored
            raise LedgerDown() from error
        reason = f"the ledger could not store it ({type(error).__name__}: {str(error)[:200]})"
        record = Rejected(topics.events(item.facility, item.device), reason, item.payload,
                          item.facility, item.device, item.id)
        try:
            await self.ledger.store([], [record])
        except LedgerUnreachable:
            raise
        except Exception as exc:
            raise LedgerDown() from exc
        self.stats.received += 1
        self.stats.rejected += 1
        self._log_quarantine([record], StoreResult())
        self._answer([], [record], StoreResult())

    def _log_quarantine(self, rejected: list[Rejected], result: StoreResult) -> None:
        """One line per quarantined message, with its device and reason; one line per
        device when its quarantine is full (what is over the bound is only counted)."""
        not_kept = {id(r) for r in result.not_kept}
        for event_id in result.conflict:
            log.warning("quarantined event %s: %s", event_id, "a different record already uses its id")
        for record in rejected:
            if id(record) not in not_kept:
                log.warning("quarantined a message from %s: %s", _source(record), record.reason)
        for record in result.not_kept:
            key = (record.facility or "", record.device or "")
            if key not in self._full:
                self._full.add(key)
                bound = self.ledger.quarantine_bound
                log.error("quarantine for %s is full (%d messages or %d bytes): further invalid"
                          " messages from it are counted, not kept (last: %s)", _source(record),
                          bound.rows, bound.bytes, record.reason)

    def _answer(self, events: list[IncomingEvent], rejected: list[Rejected], result: StoreResult) -> None:
        """Tell each kiosk what happened, one message per kiosk per batch."""
        by_device: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        conflicts = set(result.conflict)
        for event in events:
            if event.id in conflicts:
                continue
            by_device[(event.facility, event.device)].append({"id": event.id, "status": "stored"})
        for event_id in result.conflict:
            owner = next(e for e in events if e.id == event_id)
            by_device[(owner.facility, owner.device)].append(
                {"id": event_id, "status": "rejected", "code": "conflict",
                 "message": "rejected: a different record already uses this id"}
            )
        for item in rejected:
            if item.facility is None or item.device is None:
                continue  # not on a kiosk topic: nobody to tell, but it is quarantined
            by_device[(item.facility, item.device)].append(
                {"id": item.event_id, "status": "rejected", "code": "invalid",
                 "message": f"rejected: invalid: {item.reason}"}
            )
        for (facility, device), acks in by_device.items():
            try:
                # The bridge's clock rides along: a kiosk compares its own (canopy doctor).
                for payload in ack_messages.encode(acks, sent_ms=time.time_ns() // 1_000_000):
                    self.conn.publish(topics.acks(facility, device), payload, qos=1)
            except NotConnected:
                # The kiosk republishes after its ack timeout and we answer then.
                log.warning("could not answer %s/%s: not connected", facility, device)


def classify(message: Message) -> list[IncomingEvent | Rejected]:
    """Validate the events in one message against the contract and their topic."""
    where = topics.parse(message.topic)
    if where is None or where.leaf != "events":
        return [Rejected(message.topic, "not a kiosk events topic", message.payload)]
    size = len(message.payload)
    if size > MAX_MESSAGE_BYTES:
        return [Rejected(message.topic, f"message too large: {size} bytes, the limit is"
                         f" {MAX_MESSAGE_BYTES}", message.payload, where.facility, where.device)]
    lines = split_message(message.payload)
    if not lines:
        return [Rejected(message.topic, "empty message", message.payload, where.facility, where.device)]
    out: list[IncomingEvent | Rejected] = []
    for line in lines:
        try:
            event = parse_event(line)
        except InvalidEvent as exc:
            out.append(Rejected(message.topic, str(exc), line, where.facility, where.device,
                                _guess_id(line)))
            continue
        if event.device.lower() == topics.CONSOLE_DEVICE:
            out.append(Rejected(
                message.topic, f"device {event.device!r} is the compliance console's, not a kiosk's:"
                " its records are written by the console alone", line, where.facility, where.device,
                event.id))
            continue
        if event.facility != where.facility or event.device != where.device:
            out.append(Rejected(
                message.topic,
                f"event says {event.facility}/{event.device} but came on the topic of"
                f" {where.facility}/{where.device}",
                line, where.facility, where.device, event.id,
            ))
            continue
        out.append(incoming(event, line))
    return out


def incoming(event: Event, line: bytes) -> IncomingEvent:
    """A valid event as the ledger stores it (``line``: its bytes as sent), with the keys
    the registers and the activity search find it by."""
    return IncomingEvent(event.id, event.facility, event.device, event.seq, event.type,
                         format_utc(event.at), line, mentioned_tags(event), mentioned_names(event))


# Where an event's payload names tags and names, by field: each payload class gets the
# fields it has of these once (``_Mentions.of``), so an event costs plain attribute reads,
# not a lookup of every name on every class (pydantic answers a missing attribute by
# raising, which cost more than validating the event).
_TAG_FIELDS = ("tag", "new_tag", "uid", "mother_tag")
_TAG_LISTS = ("scanned", "missing", "extra")
_NAME_FIELDS = ("harvest_name", "plant_batch", "source_batch", "name")
_NAME_LISTS = {"sources": "harvest_name"}  # a list of parts, and the field of each that is a name
CORRECTS = "corrects:"  # the index key under which a correction is found from what it corrects


@dataclass(frozen=True, slots=True)
class _Mentions:
    tags: tuple[str, ...]
    tag_lists: tuple[str, ...]
    names: tuple[str, ...]
    name_lists: tuple[tuple[str, str], ...]

    @staticmethod
    def of(payload_class: type) -> _Mentions:
        found = _MENTIONS.get(payload_class)
        if found is None:
            has = getattr(payload_class, "model_fields", {})
            found = _MENTIONS[payload_class] = _Mentions(
                tuple(f for f in _TAG_FIELDS if f in has), tuple(f for f in _TAG_LISTS if f in has),
                tuple(f for f in _NAME_FIELDS if f in has),
                tuple((f, part) for f, part in _NAME_LISTS.items() if f in has))
        return found


_MENTIONS: dict[type, _Mentions] = {}  # per payload class, filled as each type first arrives


def mentioned_tags(event: Any) -> str:
    """The state tags an event names, as " T1 T2 " for the activity-per-tag report."""
    data = event.data
    where = _Mentions.of(type(data))
    found: list[str] = [v for f in where.tags if isinstance(v := getattr(data, f), str)]
    for name in where.tag_lists:
        found.extend(getattr(data, name) or ())
    return f" {' '.join(dict.fromkeys(found))} " if found else ""


# The index key of everything one worker recorded at one facility: ``worker:<facility>/<id>``
# (a kiosk's records are found by the events' own (facility, device) index).
WORKER = WORKER_KEY


def worker_key(facility: str, user: str) -> str:
    return f"{WORKER}{facility}/{user}"


def mentioned_names(event: Any) -> tuple[str, ...]:
    """Other keys the activity report finds an event by: the harvest batches and plant
    batches it names, ``corrects:<id>`` for a correction (so a rejection's report can
    say whether it was corrected), and the worker who recorded it. Names may hold spaces,
    so they are not in ``tags``."""
    data = event.data
    where = _Mentions.of(type(data))
    found = [v for f in where.names if isinstance(v := getattr(data, f), str)]
    for name, part in where.name_lists:
        found.extend(getattr(item, part) for item in getattr(data, name) or ())
    if event.corrects is not None:
        found.append(f"{CORRECTS}{event.corrects}")
    found.append(worker_key(event.facility, event.user))
    return tuple(dict.fromkeys(found))


def _source(record: Rejected) -> str:
    if record.facility is None or record.device is None:
        return f"topic {record.topic!r}"
    return f"{record.facility}/{record.device}" + (f" (event {record.event_id})" if record.event_id else "")


def _guess_id(payload: bytes) -> str | None:
    """The id of an invalid event, if one can be read, so its kiosk can settle it."""
    body = json_object(payload)
    value = body.get("id") if body is not None else None
    return value if isinstance(value, str) and len(value) <= 64 else None
