"""`canopy bridge fleet` flags a kiosk whose clock is off (issue 11, item 5): the bridge
compares each record's time with when it received it. Real Mosquitto for the statuses,
the ledger on SQLite and PostgreSQL, the command line as IT runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bridge.fleet import clock_note
from bridge.ingest import mentioned_tags
from bridge.ledger import IncomingEvent, open_ledger
from canopy import kiosk_status, topics
from canopy.events import build_event, format_utc
from canopy.ids import uuid7
from cli.broker import Mosquitto

pytestmark = pytest.mark.timeout(60)
FAC = "CCL24-0000101"


async def stored(url: str, device: str, offsets: list[timedelta]) -> None:
    """Records from ``device`` whose clock said now + offset when each arrived."""
    ledger = await open_ledger(url)
    try:
        for seq, offset in enumerate(offsets, start=1):
            at = datetime.now(UTC) + offset
            event = build_event("plant.scanned", {"tag": "1A4FF0100000022000001001"}, id=uuid7(),
                                facility=FAC, device=device, user="w-sam", at=at, seq=seq)
            await ledger.store([IncomingEvent(event.id, FAC, device, seq, event.type, format_utc(at),
                                              event.to_json(), mentioned_tags(event))], [])
    finally:
        await ledger.close()


def publish_statuses(broker: Mosquitto, devices: list[str]) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="kiosks", protocol=paho.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    for device in devices:
        client.publish(topics.status(FAC, device),
                       kiosk_status.encode(FAC, device, "online", backlog=0), qos=1,
                       retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


async def test_fleet_flags_a_kiosk_whose_records_arrive_dated_ahead_or_behind(
    tmp_path: Path, broker: Mosquitto, ledger_url: str,
) -> None:
    await stored(ledger_url, "kiosk-01", [timedelta(seconds=-1), timedelta(0)])
    await stored(ledger_url, "kiosk-02", [timedelta(minutes=20), timedelta(minutes=20)])
    # Behind by 2 h: every record arrives two hours "late", even the freshest.
    await stored(ledger_url, "kiosk-03", [timedelta(hours=-3), timedelta(hours=-2)])
    # A backlog from a day offline, then a fresh record: the clock is fine.
    await stored(ledger_url, "kiosk-04", [timedelta(hours=-20), timedelta(seconds=-2)])
    publish_statuses(broker, ["kiosk-01", "kiosk-02", "kiosk-03", "kiosk-04", "kiosk-05"])
    conf = tmp_path / "bridge.toml"
    conf.write_text(f'[mqtt]\nport = {broker.port}\n[ledger]\nurl = "{ledger_url}"\n'
                    f'[[facilities]]\nlicense = "{FAC}"\nstate = "CA"\nsystem = "metrc"\n'
                    'base_url = "http://127.0.0.1:9"\ntimezone = "America/Los_Angeles"\n'
                    'max_clock_skew_s = 300\n[facilities.metrc]\nvendor_key = "v"\nuser_key = "u"\n')

    def fleet(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cli", "bridge", "fleet", *args, "-c", str(conf)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    clocks = {row["device"]: row["clock"] for row in json.loads(fleet("--json"))}
    assert clocks["kiosk-01"] == "ok" and clocks["kiosk-04"] == "ok"
    assert clocks["kiosk-02"].startswith("ahead 20 min")
    assert clocks["kiosk-03"].startswith("behind 2.0 h")
    assert clocks["kiosk-05"] == "-"  # no records yet: nothing to tell
    table = fleet()
    assert "CLOCK" in table and f"clock off on {FAC}/kiosk-02, {FAC}/kiosk-03" in table


def test_a_clock_note_never_crashes_and_says_ok_within_the_bound() -> None:
    now = datetime.now(UTC)
    received = int(now.timestamp() * 1000)
    assert clock_note([], 300) == "-"
    assert clock_note([(format_utc(now + timedelta(seconds=299)), received)], 300) == "ok"
    assert clock_note([(format_utc(now + timedelta(seconds=400)), received)], 300).startswith("ahead")
    assert clock_note([(format_utc(now - timedelta(seconds=400)), received)], 300).startswith("behind")
