"""The bridge's ingest against Mosquitto running the production config (each kiosk
and bridge with its own certificate): duplicates, bad input, shared load."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bridge.ingest import Ingest, IngestSettings
from bridge.ledger import IncomingEvent, Ledger, Rejected, StoreResult, open_ledger
from canopy import topics
from canopy.events import build_event
from canopy.ids import uuid7
from canopy.mqtt import MqttSettings
from cli.broker import Mosquitto
from tests.provisioned import ProvisionedSite
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)
FAC, DEV = "CA-TEST-0001", "kiosk-07"


@pytest.fixture
def provisioned_kiosks() -> tuple[str, ...]:
    return (DEV, "kiosk-08")


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    opened = await open_ledger(ledger_url)
    yield opened
    await opened.close()


class FakeKiosk:
    """A bare paho client standing in for a kiosk: publishes raw bytes, collects acks."""

    def __init__(self, broker: ProvisionedSite | Mosquitto, facility: str = FAC, device: str = DEV) -> None:
        self.acks: list[dict[str, Any]] = []
        self.facility, self.device = facility, device
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=device, protocol=paho.MQTTv5)
        self.client.on_message = lambda c, u, m: self.acks.extend(json.loads(m.payload)["acks"])
        if isinstance(broker, ProvisionedSite):  # the kiosk's enrolled certificate is its login
            bundle = broker.ensure(device, "kiosk")
            self.client.tls_set(str(bundle / "ca.crt"), str(bundle / "client.crt"),
                                str(bundle / "client.key"))
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe(topics.acks(facility, device), qos=1)
        self.client.loop_start()

    def publish(self, payload: bytes, topic: str | None = None) -> None:
        info = self.client.publish(topic or topics.events(self.facility, self.device), payload, qos=1)
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def event(seq: int, tag: str = "1A4FF0100000022000000123", **over: Any) -> bytes:
    e = build_event("plant.scanned", {"tag": tag}, id=uuid7(), facility=FAC, device=DEV,
                    user="worker-1", at=datetime.now(UTC), seq=seq)
    body = json.loads(e.to_json())
    body.update(over)
    return json.dumps(body).encode()


async def start_ingest(
    broker: ProvisionedSite | Mosquitto, ledger: Ledger, client_id: str = "bridge-1"
) -> tuple[Ingest, asyncio.Task[None]]:
    if isinstance(broker, ProvisionedSite):
        settings = broker.settings(client_id, "bridge")
    else:
        settings = MqttSettings(port=broker.port)
    ingest = Ingest(settings, IngestSettings(), ledger, client_id=client_id)
    task = asyncio.create_task(ingest.run())
    await asyncio.wait_for(ingest.conn.wait_subscribed(), 10)  # only then is a publish sure to reach it
    return ingest, task


async def test_duplicate_deliveries_are_stored_once(provisioned: ProvisionedSite, ledger: Ledger) -> None:
    ingest, task = await start_ingest(provisioned, ledger)
    kiosk = FakeKiosk(provisioned)
    try:
        first = event(1)
        for _ in range(3):  # same bytes three times: a republish after a lost ack
            kiosk.publish(first)
        await asyncio.sleep(0.3)
        kiosk.publish(first)  # and once more in a later batch
        kiosk.publish(event(2))
        await until(lambda: len(kiosk.acks) >= 5)
        assert (await ledger.counts()).events == 2
        first_id = json.loads(first)["id"]
        assert [a["status"] for a in kiosk.acks if a["id"] == first_id] == ["stored"] * 4
        assert ingest.stats.duplicates == 3
    finally:
        kiosk.close()
        task.cancel()


async def test_same_id_with_other_content_is_quarantined(
    provisioned: ProvisionedSite, ledger: Ledger
) -> None:
    _, task = await start_ingest(provisioned, ledger)
    kiosk = FakeKiosk(provisioned)
    try:
        original = event(1)
        forged = json.loads(original)
        forged["data"]["tag"] = "1A4FF0100000022000000999"
        kiosk.publish(original)
        await until(lambda: len(kiosk.acks) >= 1)
        kiosk.publish(json.dumps(forged).encode())
        await until(lambda: len(kiosk.acks) >= 2)
        assert kiosk.acks[1]["status"] == "rejected"
        assert kiosk.acks[1]["code"] == "conflict"
        counts = await ledger.counts()
        assert (counts.events, counts.quarantined) == (1, 1)
        stored = await ledger.event_ids()
        assert stored == [forged["id"]]
        (kept,) = await ledger.quarantined()
        assert "different content" in kept.reason
        assert json.loads(kept.payload)["data"]["tag"].endswith("999")
    finally:
        kiosk.close()
        task.cancel()


BAD_INPUTS = {
    "not json": (b"{this is not json", "not JSON"),
    "not an object": (b"[1, 2, 3]", "expected a JSON object"),
    "wrong schema version": (None, "unsupported schema version 9"),
    "unknown type": (None, "unknown event type 'plant.teleported'"),
    "float weight": (None, "decimal string"),
    "oversized": (None, "event too large"),
    "other kiosk's identity": (None, "came on the topic of"),
}


def bad_payload(kind: str) -> bytes:
    raw, _ = BAD_INPUTS[kind]
    if raw is not None:
        return raw
    body = json.loads(event(1))
    if kind == "wrong schema version":
        body["v"] = 9
    elif kind == "unknown type":
        body["type"] = "plant.teleported"
    elif kind == "float weight":
        body["type"] = "plant.harvested"
        body["data"] = {"tag": body["data"]["tag"], "harvest_name": "H", "drying_location": "Dry",
                        "weight": {"value": 812.4, "unit": "g"}}
    elif kind == "oversized":
        body["data"]["scanner"] = "x" * 70_000
    elif kind == "other kiosk's identity":
        body["device"] = "kiosk-99"
    return json.dumps(body).encode()


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
async def test_bad_input_is_answered_kept_and_does_not_stop_ingest(
    provisioned: ProvisionedSite, ledger: Ledger, kind: str
) -> None:
    _, task = await start_ingest(provisioned, ledger)
    kiosk = FakeKiosk(provisioned)
    try:
        kiosk.publish(bad_payload(kind))
        good = event(2)
        kiosk.publish(good)
        await until(lambda: len(kiosk.acks) >= 2)
        rejected = [a for a in kiosk.acks if a["status"] == "rejected"]
        assert len(rejected) == 1
        assert rejected[0]["code"] == "invalid"
        assert rejected[0]["message"].startswith("rejected: invalid: ")
        assert BAD_INPUTS[kind][1] in rejected[0]["message"]
        assert {"id": json.loads(good)["id"], "status": "stored"} in kiosk.acks
        (kept,) = await ledger.quarantined()
        assert kept.payload == bad_payload(kind) or kind in ("oversized", "wrong schema version",
                                                              "unknown type", "float weight",
                                                              "other kiosk's identity")
        assert BAD_INPUTS[kind][1] in kept.reason
        assert not task.done()
    finally:
        kiosk.close()
        task.cancel()


async def test_a_packed_message_is_judged_event_by_event(
    provisioned: ProvisionedSite, ledger: Ledger
) -> None:
    """A backlog arrives several events per message; one bad line spoils only itself."""
    _, task = await start_ingest(provisioned, ledger)
    kiosk = FakeKiosk(provisioned)
    try:
        good = [event(seq) for seq in range(1, 4)]
        bad = bad_payload("wrong schema version")
        kiosk.publish(b"\n".join([good[0], bad, good[1], good[2]]))
        await until(lambda: len(kiosk.acks) >= 4)
        assert sorted(a["status"] for a in kiosk.acks) == ["rejected", "stored", "stored", "stored"]
        assert (await ledger.counts()).events == 3
        (kept,) = await ledger.quarantined()
        assert kept.payload == bad  # the bad line alone, byte for byte
    finally:
        kiosk.close()
        task.cancel()


async def test_message_on_a_foreign_topic_is_kept(broker: Mosquitto, ledger: Ledger) -> None:
    """Not a kiosk topic at all: nobody to answer, but it is quarantined, not dropped.

    On the open broker: the production access list never lets a kiosk publish
    there (tests/fleet/test_broker_access.py); this is about what ingest does
    if a message arrives anyway (another broker setup, a bridged broker)."""
    ingest, task = await start_ingest(broker, ledger)
    kiosk = FakeKiosk(broker)
    try:
        kiosk.publish(event(1), topic="canopy/v1/bad facility/kiosk-07/events")
        await until(lambda: ingest.stats.rejected == 1)
        (kept,) = await ledger.quarantined()
        assert kept.reason == "not a kiosk events topic"
    finally:
        kiosk.close()
        task.cancel()


async def test_two_bridges_share_the_load(provisioned: ProvisionedSite, ledger: Ledger) -> None:
    """MQTT v5 shared subscription: each event goes to one bridge, all are stored once."""
    for bridge in ("bridge-a", "bridge-b"):  # enrolled before anyone connects (the broker restarts)
        provisioned.ensure(bridge, "bridge")
    first, t1 = await start_ingest(provisioned, ledger, "bridge-a")
    second, t2 = await start_ingest(provisioned, ledger, "bridge-b")
    kiosk = FakeKiosk(provisioned)
    try:
        for seq in range(1, 401):
            kiosk.client.publish(topics.events(FAC, DEV), event(seq), qos=1)
        await until(lambda: len(kiosk.acks) >= 400, timeout=20)
        assert (await ledger.counts()).events == 400
        assert first.stats.received + second.stats.received == 400
        assert first.stats.received > 50
        assert second.stats.received > 50
    finally:
        kiosk.close()
        t1.cancel()
        t2.cancel()


HOSTILE = [
    b"[" * 50_000 + b"]" * 50_000,                          # deep nesting
    b'{"v":1,"type":[],"id":"x"}',                            # wrong JSON types
    b"\xff\xfe not utf-8",
    b"x" * 261_500,   # over the contract's message limit, under the broker's packet limit
]


async def test_hostile_messages_never_stop_a_good_kiosks_events(
    provisioned: ProvisionedSite, ledger: Ledger
) -> None:
    """Any kiosk login can publish anything on its own events topic; ingest keeps going."""
    ingest, task = await start_ingest(provisioned, ledger)
    attacker, good = FakeKiosk(provisioned), FakeKiosk(provisioned, device="kiosk-08")
    try:
        too_big_seq = json.loads(event(1))
        too_big_seq["seq"] = 2**64
        for payload in [*HOSTILE, json.dumps(too_big_seq).encode()]:
            attacker.publish(payload)
        for seq in range(1, 6):
            good.publish(good_event(seq))
        await until(lambda: len(good.acks) >= 5)
        assert {a["status"] for a in good.acks} == {"stored"}
        assert not task.done()
        counts = await ledger.counts()
        assert (counts.events, counts.quarantined) == (5, len(HOSTILE) + 1)
        seq_answer = next(a for a in attacker.acks if a.get("id") == too_big_seq["id"])
        assert seq_answer["status"] == "rejected" and "seq" in seq_answer["message"]
        assert ingest.stats.ledger_errors == 0
    finally:
        attacker.close()
        good.close()
        task.cancel()


def good_event(seq: int) -> bytes:
    e = build_event("plant.scanned", {"tag": "1A4FF0100000022000000123"}, id=uuid7(), facility=FAC,
                    device="kiosk-08", user="worker-1", at=datetime.now(UTC), seq=seq)
    return e.to_json()


class RefusingLedger:
    """The real ledger, except that it refuses to commit any batch holding one of
    ``poison`` (a row the database cannot take), or everything while ``down``."""

    def __init__(self, ledger: Ledger, poison: set[str]) -> None:
        self.ledger, self.poison, self.down, self.refusals = ledger, poison, False, 0

    async def store(self, events: list[IncomingEvent], rejected: list[Rejected]) -> StoreResult:
        if self.down or any(e.id in self.poison for e in events):
            self.refusals += 1
            raise RuntimeError("value out of range for the column" if not self.down else "disk full")
        return await self.ledger.store(events, rejected)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)


async def test_a_row_the_ledger_refuses_is_quarantined_and_the_rest_stored(
    provisioned: ProvisionedSite, ledger: Ledger
) -> None:
    """One event the database will not take is quarantined with the ledger's reason and its
    kiosk told; the events around it in the same batch are stored (before, the whole batch
    was retried forever and no kiosk's events were stored)."""
    payloads = [event(1), event(2), event(3)]
    poison_id = json.loads(payloads[1])["id"]
    refusing = RefusingLedger(ledger, {poison_id})
    ingest, task = await start_ingest(provisioned, refusing)  # type: ignore[arg-type]
    kiosk = FakeKiosk(provisioned)
    try:
        kiosk.client.publish(topics.events(FAC, DEV), b"\n".join(payloads), qos=1).wait_for_publish(5)
        await until(lambda: len(kiosk.acks) >= 3)
        by_id = {a["id"]: a for a in kiosk.acks}
        assert by_id[poison_id]["status"] == "rejected"
        assert "could not store" in by_id[poison_id]["message"]
        assert sorted(a["status"] for a in kiosk.acks) == ["rejected", "stored", "stored"]
        counts = await ledger.counts()
        assert (counts.events, counts.quarantined) == (2, 1)
        assert ingest.stats.ledger_errors == 0
    finally:
        kiosk.close()
        task.cancel()


async def test_a_ledger_that_is_down_quarantines_nothing_and_stores_all_once_back(
    provisioned: ProvisionedSite, ledger: Ledger
) -> None:
    refusing = RefusingLedger(ledger, set())
    refusing.down = True
    ingest, task = await start_ingest(provisioned, refusing)  # type: ignore[arg-type]
    kiosk = FakeKiosk(provisioned)
    try:
        for seq in (1, 2, 3):
            kiosk.publish(event(seq))
        await until(lambda: ingest.stats.ledger_errors >= 2)
        assert kiosk.acks == []  # nothing acked, nothing quarantined while the ledger is down
        refusing.down = False
        await until(lambda: len(kiosk.acks) >= 3, timeout=20)
        assert {a["status"] for a in kiosk.acks} == {"stored"}
        counts = await ledger.counts()
        assert (counts.events, counts.quarantined) == (3, 0)
    finally:
        kiosk.close()
        task.cancel()
