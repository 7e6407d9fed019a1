"""The kiosk uplink against Mosquitto on the production config: status, last will,
windows; and TLS with passwords on a broker configured for that."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from canopy import topics
from canopy.mqtt import MqttConnection, MqttSettings, backoff_delays
from cli.broker import Mosquitto
from tests.pipeline.harness import make_kiosk, tag, wait_until
from tests.provisioned import ProvisionedSite

pytestmark = pytest.mark.timeout(90)
FAC, DEV = "CA-TEST-0001", "kiosk-01"


class Watcher:
    """Subscribes as the bridge's login would, and keeps what it sees."""

    def __init__(self, site: ProvisionedSite, topic: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bridge-1", protocol=paho.MQTTv5)
        self.client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, bytes(m.payload), bool(m.retain)))
        bundle = site.bundle("bridge-1")
        self.client.tls_set(str(bundle / "ca.crt"), str(bundle / "client.crt"), str(bundle / "client.key"))
        self.client.connect("127.0.0.1", site.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def last_json(self, topic: str) -> dict[str, Any] | None:
        for t, payload, _ in reversed(self.messages):
            if t == topic:
                body: dict[str, Any] = json.loads(payload)
                return body
        return None


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    box = await Outbox.open(tmp_path / "outbox.db", facility=FAC, device=DEV)
    yield box
    await box.close()


async def test_retained_status_and_last_will(tmp_path: Path, provisioned: ProvisionedSite) -> None:
    """Online with backlog and age while nothing confirms; offline when the kiosk dies."""
    kiosk = make_kiosk(tmp_path / "k", provisioned, facility=FAC, device=DEV)
    kiosk.proc.start()
    status = topics.status(FAC, DEV)
    watcher = Watcher(provisioned, status)
    try:
        await kiosk.wait_ready()
        await kiosk.scan_burst([tag(i) for i in range(5)])  # no bridge: nothing gets "stored"
        await wait_until(lambda: (watcher.last_json(status) or {}).get("backlog") == 5, 20,
                         "status with backlog 5", [kiosk.proc])
        body = watcher.last_json(status)
        assert body is not None
        assert body["state"] == "online"
        assert body["oldest_unsent_age_s"] >= 0
        kiosk.proc.kill9()  # no DISCONNECT: the broker publishes the will after keepalive
        await wait_until(lambda: (watcher.last_json(status) or {}).get("state") == "offline", 30,
                         "last will", [kiosk.proc])
    finally:
        watcher.close()
        kiosk.proc.kill9()
    late = Watcher(provisioned, status)  # a dashboard that connects later still sees it
    try:
        await wait_until(lambda: bool(late.messages), 10, "retained status")
        assert late.messages[-1][2] is True
        assert json.loads(late.messages[-1][1])["state"] == "offline"
    finally:
        late.close()


async def test_unacked_window_is_bounded_and_republished(
    provisioned: ProvisionedSite, outbox: Outbox
) -> None:
    """With no bridge, at most max_unacked events are out; they are republished after the timeout."""
    for i in range(300):
        await outbox.append("plant.scanned", {"tag": tag(i)}, user="u")
    watcher = Watcher(provisioned, topics.events(FAC, DEV))
    settings = UplinkSettings(window=10, max_unacked=50, ack_timeout_s=1.0, batch=20)
    uplink = Uplink(provisioned.settings(DEV), settings, outbox)
    task = asyncio.create_task(uplink.run())
    try:
        await wait_until(lambda: uplink.status.republished >= 50, 20, "republish after timeout")
        assert len(uplink._awaiting) <= 50
        sent = [json.loads(line)["id"] for _, p, _ in watcher.messages for line in p.split(b"\n")]
        assert len(set(sent)) == 50  # the same 50, again: never the rest while none is confirmed
        assert len(sent) >= 100
        assert max(len(p.split(b"\n")) for _, p, _ in watcher.messages) == 20  # packed: batch=20
    finally:
        task.cancel()
        watcher.close()


def test_backoff_is_jittered_and_capped() -> None:
    delay = backoff_delays(0.5, 30.0)
    samples = [delay(n) for n in range(12) for _ in range(50)]
    assert max(samples) <= 30.0
    assert min(samples) >= 0.25
    assert len({round(s, 3) for s in samples[:50]}) > 10  # spread, not in lock-step
    late = [delay(10) for _ in range(200)]
    assert max(late) > 15  # grows towards the cap


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def tls_broker(tmp_path: Path) -> Any:
    """Mosquitto with a TLS listener and a password file, certificates from a test CA.

    Not the production config (its login is the client certificate, passwords
    unused): this checks that MqttSettings' TLS and password reach the broker,
    for sites that run their own broker that way."""
    pki = tmp_path / "pki"
    pki.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
             "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", str(pki / "server.key"), "-out", str(pki / "server.csr"))
    (pki / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(pki / "server.csr"), "-CA", str(pki / "ca.crt"),
             "-CAkey", str(pki / "ca.key"), "-CAcreateserial", "-days", "2",
             "-extfile", str(pki / "ext.cnf"), "-out", str(pki / "server.crt"))
    passwd = tmp_path / "passwd"
    passwd.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), DEV, "s3cret"], check=True)
    broker = Mosquitto(tmp_path / "broker", anonymous=False, extra=f"""
password_file {passwd}
cafile {pki / 'ca.crt'}
certfile {pki / 'server.crt'}
keyfile {pki / 'server.key'}
""")
    broker.start()
    yield broker, pki
    broker.kill()


async def _try_connect(settings: MqttSettings) -> str:
    conn = MqttConnection(settings, client_id=DEV)
    task = asyncio.create_task(conn.run())
    try:
        await asyncio.wait_for(conn.wait_connected(), 5)
        return "connected"
    except TimeoutError:
        return conn.last_error
    finally:
        task.cancel()


async def test_tls_and_password_from_config(tls_broker: Any) -> None:
    broker, pki = tls_broker
    # As the agent's TOML would say it.
    raw = {"port": broker.port, "username": DEV, "password": "s3cret",
           "tls": {"ca_file": str(pki / "ca.crt")}, "backoff_min_s": 0.2}
    assert await _try_connect(MqttSettings.model_validate(raw)) == "connected"
    message = await _try_connect(MqttSettings.model_validate({**raw, "password": "nope"}))
    assert "refused the connection" in message
    assert "nope" not in message
    plain = await _try_connect(MqttSettings.model_validate({**raw, "tls": None}))
    assert plain != "connected"
