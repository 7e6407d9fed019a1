"""A kiosk that starts on a full disk comes up: the screen says storage is full, new records
are refused with that reason, and what the outbox already holds is still sent.

The disk is a real one: a 4 MiB tmpfs of the test's own, filled to the last byte (mounting
needs root; elsewhere the test says so and is skipped)."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.demo import flower_room_1
from agent.storage import full_error
from agent.testing import KioskRig, until
from canopy import topics
from cli.broker import Mosquitto

pytestmark = pytest.mark.timeout(90)
FAC, DEV = "CA-DEMO-0001", "kiosk-01"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem to fill needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path) -> None:
    """Write until the filesystem refuses another byte."""
    with open(mount / "filler", "wb", buffering=0) as f:
        for chunk in (4096, 1):
            with pytest.raises(OSError) as refused:
                while True:
                    f.write(b"\0" * chunk)
            assert refused.value.errno == errno.ENOSPC


class Listener:
    """The events the kiosk publishes, as the bridge would receive them."""

    def __init__(self, port: int) -> None:
        self.ids: set[str] = set()
        self._lock = threading.Lock()
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id="test-listener", protocol=paho.MQTTv5)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topics.events(FAC, DEV), qos=1)
        self.client.loop_start()

    def _message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        for line in message.payload.splitlines():
            with self._lock:
                self.ids.add(json.loads(line)["id"])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def test_a_kiosk_started_on_a_full_disk_shows_it_refuses_records_and_sends_what_it_holds(
        small_disk: Path, broker: Mosquitto) -> None:
    root = small_disk / "kiosk"
    plants = flower_room_1()[:3]
    async with KioskRig(root) as offline:  # no broker: the records wait in the outbox
        await offline.sign_in()
        await offline.act("go", screen="move")
        await offline.scan("Flower Room 2")
        for plant in plants:
            assert (await offline.scan(plant))["ok"]
        held = [e["id"] for e in offline.events("plant.moved")]
    fill(small_disk)
    listener = Listener(broker.port)
    try:
        async with KioskRig(root, broker_port=broker.port, ui=True) as kiosk:
            assert kiosk.floor.in_memory
            await until(lambda: any(f.startswith("Kiosk storage is full")
                                    for f in kiosk.state()["status"].get("faults", [])),
                        "the storage fault on the status bar")
            await kiosk.sign_in()
            await kiosk.act("go", screen="move")
            await kiosk.scan("Flower Room 1")
            refused = await kiosk.scan(plants[0])
            assert not refused["ok"]
            assert refused["message"].startswith("NOT saved: Kiosk storage is full"), refused
            await until(lambda: set(held) <= listener.ids, "the held records on the broker", 30)
            assert [e["id"] for e in kiosk.events("plant.moved")] == held  # nothing new written
    finally:
        listener.close()


async def test_a_new_kiosk_on_a_full_disk_comes_up_and_refuses_records_with_the_reason(
        small_disk: Path) -> None:
    root = small_disk / "kiosk"
    root.mkdir()
    async with KioskRig(root / "first"):  # only to leave the workers file where a kiosk has it
        pass
    (root / "workers.json").write_bytes((root / "first" / "workers.json").read_bytes())
    fill(small_disk)
    async with KioskRig(root, ui=True) as kiosk:  # no outbox and no floor cache could be made
        assert kiosk.outbox.refusal is not None and kiosk.floor.in_memory
        await until(lambda: any(f.startswith("Kiosk storage is full")
                                for f in kiosk.state()["status"].get("faults", [])),
                    "the storage fault on the status bar")
        await kiosk.sign_in()
        await kiosk.act("go", screen="move")
        await kiosk.scan("Flower Room 2")
        refused = await kiosk.scan(flower_room_1()[0])
        assert refused["message"] == \
            "NOT saved: Kiosk storage is full: this record was NOT saved. Free space or call IT."
        path = kiosk.config.outbox_path
        assert not path.exists() or path.stat().st_size == 0  # nothing in it: nothing claimed saved


@pytest.mark.parametrize(("error", "full"), [
    pytest.param(sqlite3.OperationalError("database or disk is full"), True, id="SQLITE_FULL"),
    pytest.param(OSError(errno.ENOSPC, "No space left on device"), True, id="ENOSPC"),
    pytest.param(sqlite3.DatabaseError("file is not a database"), False, id="damaged"),
    pytest.param(OSError(errno.EACCES, "Permission denied"), False, id="permission"),
])
def test_what_a_full_disk_raises_is_told_from_damage(tmp_path: Path, error: Exception, full: bool) -> None:
    # A damaged floor cache is moved aside and rebuilt; a full disk's must be kept.
    assert full_error(error, tmp_path) is full
