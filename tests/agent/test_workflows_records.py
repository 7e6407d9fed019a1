"""Records, corrections, status and the reference-data cache, against a real Mosquitto
(domain.md §2.6 "Error correction", "Recording deadlines", "Loss of access")."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.demo import DEMO_TAG, WORKERS, flower_room_1, reference
from agent.floor import Floor
from agent.testing import KioskRig, until
from canopy import refdata, topics
from cli.broker import Mosquitto
from drivers.gpio import KioskLight

pytestmark = pytest.mark.timeout(90)
FAC, DEV = "CA-DEMO-0001", "kiosk-01"


def publish(broker: Mosquitto, topic: str, payload: bytes, *, retain: bool = False) -> None:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-bridge",
                         protocol=paho.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def ack(broker: Mosquitto, event_id: str, status: str, message: str | None = None) -> None:
    body = {"acks": [{"id": event_id, "status": status, **({"message": message} if message else {})}]}
    publish(broker, topics.acks(FAC, DEV), json.dumps(body).encode())


async def test_rule_error_correction_is_a_new_event_pointing_at_the_rejected_one(
        tmp_path: Path, broker: Mosquitto) -> None:
    async with KioskRig(tmp_path, broker_port=broker.port) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        moved = await kiosk.scan(DEMO_TAG)
        original = kiosk.events()[0]
        ack(broker, moved["event"], "rejected", "Plant 1A4FF...123 is in a different location.")
        await until(lambda: kiosk.kiosk.status.get("rejected") == 1, "the rejection to reach the kiosk")
        await kiosk.act("go", screen="records")
        [row] = kiosk.state()["flow"]["rows"]
        assert (row["state"], row["message"]) == ("rejected", "Plant 1A4FF...123 is in a different location.")
        assert row["summary"] == f"Plant {DEMO_TAG} moved Flower Room 1 → Flower Room 2"
        await kiosk.act("select", id=row["id"])
        assert not (await kiosk.act("correct", reason="I just felt like it"))["ok"]
        corrected = await kiosk.act("correct", reason="Rejected by the state")
        assert corrected["ok"], corrected
        fix = kiosk.events("record.corrected")[0]
        assert fix["corrects"] == original["id"]
        assert fix["data"] == {"reason": "Rejected by the state",
                               "note": "state said: Plant 1A4FF...123 is in a different location."}
        assert kiosk.events()[0] == original  # nothing edited in place
        rows = kiosk.state()["flow"]["rows"]
        assert rows[1]["corrected_by"] == fix["id"] and rows[0]["type"] == "record.corrected"
        await kiosk.act("select", id=rows[1]["id"])
        assert not (await kiosk.act("correct", reason="Wrong room"))["ok"]  # once only
        # The local belief went back to the list: the plant can be moved again.
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        assert (await kiosk.scan(DEMO_TAG))["ok"]


def kiosk_states(kiosk: KioskRig) -> dict[str, str]:
    with sqlite3.connect(f"file:{kiosk.config.outbox_path}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT id, state FROM outbox").fetchall())


async def test_rule_recording_deadlines_events_carry_the_capture_time_and_the_queue_age_shows(
        tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:  # no broker: everything waits in the outbox
        await kiosk.sign_in()
        before = datetime.now(UTC)
        await kiosk.scan(DEMO_TAG)
        [event] = kiosk.events()
        at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
        await until(lambda: kiosk.kiosk.status.get("backlog") == 1, "the status bar to show the backlog")
        assert kiosk.kiosk.status["oldest_unsent_ms"] is not None


async def test_rule_loss_of_access_saving_goes_on_offline_and_the_kiosk_says_so(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()
        for plant in flower_room_1()[:3]:
            assert (await kiosk.scan(plant))["ok"]
        await until(lambda: kiosk.kiosk.status.get("backlog") == 3, "the backlog of 3")
        assert kiosk.kiosk.status["online"] is False
        assert kiosk.kiosk.status["offline_since_ms"] is not None  # the outage's start, on screen
        assert kiosk.gpio.light.state is KioskLight.BUFFERING


async def test_reference_data_arrives_over_mqtt_and_is_kept_on_disk(
        tmp_path: Path, broker: Mosquitto) -> None:
    async with KioskRig(tmp_path, broker_port=broker.port) as kiosk:
        assert kiosk.floor.room("Dry Room") is not None
        path = kiosk.config.floor_path
        old = kiosk.floor.ref.copy("rooms")
        assert old is not None
        # Garbage, another facility's list and an older copy never replace a good one.
        publish(broker, topics.ref(FAC, "rooms"), b"{not json")
        publish(broker, topics.ref(FAC, "rooms"),
                refdata.encode("rooms", "NY-OTHER-1", datetime.now(UTC), [{"name": "X"}]))
        publish(broker, topics.ref(FAC, "rooms"),
                refdata.encode("rooms", FAC, old.at - timedelta(hours=1), [{"name": "Old"}]))
        newer = old.at + timedelta(seconds=5)
        publish(broker, topics.ref(FAC, "rooms"),
                refdata.encode("rooms", FAC, newer, [*reference()["rooms"], {"name": "Mother Room"}]),
                retain=True)
        await until(lambda: kiosk.floor.room("Mother Room") is not None, "the newer room list")
        assert kiosk.floor.room("X") is None and kiosk.floor.room("Old") is None
    floor = await Floor.open(path, facility=FAC)  # the kiosk restarts, the network is down
    try:
        assert floor.room("Mother Room") is not None
        assert floor.ref.copy("rooms").at == newer  # type: ignore[union-attr]
        assert floor.ref.summary()["missing"] == []
    finally:
        await floor.close()


async def test_local_facts_give_way_once_the_state_settled_and_a_newer_list_arrived(
        tmp_path: Path, broker: Mosquitto) -> None:
    async with KioskRig(tmp_path, broker_port=broker.port) as kiosk:
        await kiosk.sign_in()
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        moved = await kiosk.scan(DEMO_TAG)
        assert kiosk.floor.plant(DEMO_TAG).location == "Flower Room 2"  # type: ignore[union-attr]
        plants = reference()["plants"]
        # A list read before the event was settled does not undo the kiosk's own move.
        await kiosk.load_ref({"plants": plants})
        assert kiosk.floor.plant(DEMO_TAG).location == "Flower Room 2"  # type: ignore[union-attr]
        ack(broker, moved["event"], "accepted")
        await until(lambda: kiosk_states(kiosk).get(moved["event"]) == "accepted", "the acceptance")
        # The state said no after all (say, someone moved it back): the newer list wins.
        await kiosk.load_ref({"plants": plants}, at=datetime.now(UTC) + timedelta(seconds=2))
        assert kiosk.floor.plant(DEMO_TAG).location == "Flower Room 1"  # type: ignore[union-attr]


async def test_rule_error_correction_by_a_worker_needs_a_supervisor_to_sign_off(tmp_path: Path) -> None:
    dana, sam, alex = WORKERS
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(sam)
        await kiosk.scan(DEMO_TAG)
        await kiosk.act("go", screen="records")
        [row] = kiosk.state()["flow"]["rows"]
        await kiosk.act("select", id=row["id"])
        assert kiosk.state()["flow"]["needs_supervisor"] is True
        alone = await kiosk.act("correct", reason="Scanned twice")
        assert not alone["ok"] and "supervisor" in alone["message"]
        await kiosk.act("second.start", purpose="supervisor")
        not_one = await kiosk.scan(alex.badge)
        assert not not_one["ok"] and "not a supervisor" in not_one["message"]
        assert (await kiosk.scan(dana.badge))["ok"]
        assert (await kiosk.act("second.pin", pin=dana.pin))["ok"]  # badge and PIN together
        assert kiosk.state()["flow"]["supervisor"] == dana.name
        assert (await kiosk.act("correct", reason="Scanned twice"))["ok"]
        fix = kiosk.events("record.corrected")[0]
        assert (fix["user"], fix["witness"], fix["corrects"]) == (sam.id, dana.id, row["id"])
