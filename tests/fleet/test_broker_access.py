"""The generated Mosquitto config, run by a real Mosquitto: who may log in, who may do what.

Denials are checked by what the other side receives, never by PUBACK (Mosquitto
PUBACKs an ACL-denied publish). Each forbidden message is followed by an
allowed marker from the same client: the broker forwards one client's messages
in order, so once the marker has arrived the forbidden one would have too.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from canopy import topics
from canopy.mqtt import MqttSettings, TlsSettings
from provisioning import FacilityCA, verify_password
from provisioning._pki import issue_client
from tests.fleet.conftest import FACILITY, Estate
from tests.fleet.helpers import Client, bundle_settings, login_error, run_cli

pytestmark = pytest.mark.timeout(60)
SHARED_EVENTS = topics.shared("canopy-bridge", topics.ALL_EVENTS)  # as the bridge subscribes


def _ack(event_id: str) -> bytes:
    return json.dumps({"acks": [{"id": event_id, "status": "stored"}]}).encode()


async def _subscribed(sender: Client, topic: str, receiver: Client) -> None:
    """Ping on ``topic`` until ``receiver`` gets one: its subscription is live."""
    async with asyncio.timeout(10):
        while not receiver.payloads(topic):
            sender.conn.publish(topic, b"ping")
            try:
                await receiver.wait_for(lambda: bool(receiver.payloads(topic)), 0.2)
            except TimeoutError:
                pass


async def test_kiosk_cannot_publish_as_another_kiosk(estate: Estate) -> None:
    a, b = estate.bundle("kiosk-a"), estate.bundle("kiosk-b")
    port = estate.broker.port
    bridge_settings = bundle_settings(estate.bundle("bridge-1"), port=port, config="bridge.toml")
    async with (
        Client(bundle_settings(a, port=port), "kiosk-a") as kiosk_a,
        Client(bridge_settings, "bridge-1", subscriptions=(SHARED_EVENTS, topics.ALL_STATUS)) as bridge,
    ):
        a_events, b_events = topics.events(FACILITY, "kiosk-a"), topics.events(FACILITY, "kiosk-b")
        await _subscribed(kiosk_a, a_events, bridge)  # a kiosk's own events reach the bridge
        kiosk_a.conn.publish(b_events, b"forged event for kiosk-b")
        kiosk_a.conn.publish(topics.status(FACILITY, "kiosk-b"), b'{"state":"offline"}', retain=True)
        kiosk_a.conn.publish(topics.events("OTHER-LIC", "kiosk-a"), b"other facility")
        kiosk_a.conn.publish(a_events, b"marker")
        await bridge.wait_for(lambda: b"marker" in bridge.payloads(a_events))
        assert bridge.payloads(b_events) == []
        assert bridge.payloads(topics.status(FACILITY, "kiosk-b")) == []
        assert bridge.payloads(topics.events("OTHER-LIC", "kiosk-a")) == []
    # kiosk-b itself logs in and publishes fine.
    assert await login_error(bundle_settings(b, port=port), "kiosk-b") is None


async def test_kiosk_cannot_read_or_forge_another_kiosks_acks(estate: Estate) -> None:
    a, b = estate.bundle("kiosk-a"), estate.bundle("kiosk-b")
    port = estate.broker.port
    a_acks, b_acks = topics.acks(FACILITY, "kiosk-a"), topics.acks(FACILITY, "kiosk-b")
    bridge_settings = bundle_settings(estate.bundle("bridge-1"), port=port, config="bridge.toml")
    async with (
        Client(bundle_settings(a, port=port), "kiosk-a",
               subscriptions=(a_acks, b_acks, "canopy/#")) as kiosk_a,
        Client(bundle_settings(b, port=port), "kiosk-b", subscriptions=(b_acks,)) as kiosk_b,
        Client(bridge_settings, "bridge-1") as bridge,
    ):
        await _subscribed(bridge, a_acks, kiosk_a)
        await _subscribed(bridge, b_acks, kiosk_b)
        # kiosk-a forges a "stored" for kiosk-b's event: kiosk-b must never see it.
        kiosk_a.conn.publish(b_acks, _ack("forged"))
        bridge.conn.publish(b_acks, _ack("real-b"))
        await kiosk_b.wait_for(lambda: _ack("real-b") in kiosk_b.payloads(b_acks))
        assert _ack("forged") not in kiosk_b.payloads(b_acks)
        # The bridge answers kiosk-b, then kiosk-a: kiosk-a gets only its own.
        bridge.conn.publish(b_acks, _ack("secret-b"))
        bridge.conn.publish(a_acks, _ack("real-a"))
        await kiosk_a.wait_for(lambda: _ack("real-a") in kiosk_a.payloads(a_acks))
        assert [m.topic for m in kiosk_a.messages if m.topic != a_acks] == []


async def test_wrong_password_missing_certificate_and_plain_tcp_are_refused(estate: Estate) -> None:
    a = estate.bundle("kiosk-a")
    port = estate.broker.port
    assert await login_error(bundle_settings(a, port=port), "kiosk-a") is None
    wrong = await login_error(bundle_settings(a, port=port, password="not-the-password"), "kiosk-a")
    assert wrong is not None and "refused the connection" in wrong
    assert "not-the-password" not in wrong
    # kiosk-b's password on kiosk-a's login: refused too.
    b_password = bundle_settings(estate.bundle("kiosk-b")).password
    assert b_password is not None
    other = await login_error(bundle_settings(a, port=port, password=b_password.get_secret_value()))
    assert other is not None and "refused" in other
    # The right password without a client certificate: the TLS handshake fails.
    no_cert = await login_error(bundle_settings(a, port=port, tls=TlsSettings(ca_file=a / "ca.crt")))
    assert no_cert is not None and "refused the TLS client certificate" in no_cert
    plain = bundle_settings(a, port=port).model_copy(update={"tls": None})
    assert await login_error(plain) is not None


async def test_tls_certificates_from_another_ca_are_refused(estate: Estate) -> None:
    a = estate.bundle("kiosk-a")
    port = estate.broker.port
    # A second facility's CA mints a client certificate with the same CN.
    stranger = FacilityCA.create(estate.base / "other-pki", "LIC-9999").ca
    forged = issue_client(stranger, "kiosk-a", "LIC-9999")
    (estate.base / "forged.crt").write_bytes(forged.cert_pem)
    (estate.base / "forged.key").write_bytes(forged.key_pem)
    tls = TlsSettings(ca_file=a / "ca.crt", cert_file=estate.base / "forged.crt",
                      key_file=estate.base / "forged.key")
    refused = await login_error(bundle_settings(a, port=port, tls=tls), "kiosk-a")
    assert refused is not None and "refused the TLS client certificate" in refused
    # And a kiosk that trusts another CA does not trust our broker.
    (estate.base / "other-ca.crt").write_bytes(stranger.cert_pem)
    distrust = TlsSettings(ca_file=estate.base / "other-ca.crt", cert_file=a / "client.crt",
                           key_file=a / "client.key")
    refused = await login_error(bundle_settings(a, port=port, tls=distrust), "kiosk-a")
    assert refused is not None and "CERTIFICATE_VERIFY_FAILED" in refused
    # The generated broker certificate names the host kiosks dial.
    cert = x509.load_pem_x509_certificate((estate.broker.dir / "server.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    localhost = bundle_settings(a, port=port).model_copy(update={"host": "localhost"})
    assert await login_error(localhost, "kiosk-a") is None


async def test_revoked_kiosk_is_refused_after_reload(estate: Estate) -> None:
    a = estate.bundle("kiosk-a")
    port = estate.broker.port
    settings = bundle_settings(a, port=port)
    async with Client(settings, "kiosk-a") as connected:
        result = run_cli("provision", "revoke", "--ca", str(estate.ca.path), "--device", "kiosk-a",
                         "--reason", "stolen")
        assert result.code == 0, result.err
        assert "broker files updated" in result.out
        assert "kiosk-a" not in (estate.broker.dir / "passwd").read_text()
        assert "kiosk-a" not in (estate.broker.dir / "acl").read_text()
        estate.broker.reload()
        # Its certificate is in the reloaded CRL: refused at the TLS handshake.
        refused = await login_error(settings, "kiosk-a")
        assert refused is not None and "refused the TLS client certificate" in refused
        # Its password entry is gone too: with a valid certificate (kiosk-b's)
        # the old password is refused at the MQTT login.
        b = estate.bundle("kiosk-b")
        b_cert = TlsSettings(ca_file=b / "ca.crt", cert_file=b / "client.crt", key_file=b / "client.key")
        refused = await login_error(bundle_settings(a, port=port, tls=b_cert), "kiosk-a")
        assert refused is not None and "refused the connection" in refused
        # The session that was open is closed by the reload, too.
        await connected.wait_for(lambda: bool(connected.disconnects), 10)
    # The other kiosk is unaffected.
    assert await login_error(bundle_settings(estate.bundle("kiosk-b"), port=port), "kiosk-b") is None


async def test_replaced_certificate_is_refused_through_the_crl(estate: Estate) -> None:
    """Re-enrolling revokes the old certificate: with the NEW password, the OLD
    certificate fails at the TLS handshake, because the CRL is reloaded too."""
    old = estate.bundle("kiosk-a")
    port = estate.broker.port
    new = estate.enroll_kiosk("kiosk-a", replace=True)
    estate.broker.write()
    estate.broker.reload()
    new_password = bundle_settings(new).password
    assert new_password is not None
    assert await login_error(bundle_settings(new, port=port), "kiosk-a") is None
    old_cert = TlsSettings(ca_file=old / "ca.crt", cert_file=old / "client.crt", key_file=old / "client.key")
    refused = await login_error(
        bundle_settings(new, port=port, tls=old_cert), "kiosk-a"
    )
    assert refused is not None and "refused the TLS client certificate" in refused
    assert await login_error(bundle_settings(old, port=port), "kiosk-a") is not None


async def test_fleet_login_reads_status_only(estate: Estate) -> None:
    bridge = estate.bundle("bridge-1")
    port = estate.broker.port
    base = bundle_settings(bridge, port=port, config="bridge.toml")
    assert base.username is not None
    fleet = base.model_copy(update={"username": f"{base.username}-fleet"})
    status = topics.status(FACILITY, "kiosk-a")
    events = topics.events(FACILITY, "kiosk-a")
    acks = topics.acks(FACILITY, "kiosk-a")
    async with (
        Client(bundle_settings(estate.bundle("kiosk-a"), port=port), "kiosk-a",
               subscriptions=(acks,)) as kiosk,
        Client(fleet, "fleet", subscriptions=(topics.ALL_STATUS, topics.ALL_EVENTS)) as viewer,
        Client(base, "bridge-1", subscriptions=(topics.ALL_EVENTS,)) as real_bridge,
    ):
        await _subscribed(kiosk, status, viewer)
        kiosk.conn.publish(events, b"event")
        kiosk.conn.publish(status, b"marker")
        await viewer.wait_for(lambda: b"marker" in viewer.payloads(status))
        await real_bridge.wait_for(lambda: b"event" in real_bridge.payloads(events))
        assert viewer.payloads(events) == []
        # The fleet login cannot answer kiosks in the bridge's name.
        await _subscribed(real_bridge, acks, kiosk)
        viewer.conn.publish(acks, _ack("from-fleet"))
        real_bridge.conn.publish(acks, _ack("from-bridge"))
        await kiosk.wait_for(lambda: _ack("from-bridge") in kiosk.payloads(acks))
        assert _ack("from-fleet") not in kiosk.payloads(acks)
        assert real_bridge.disconnects == []  # its own login: no session takeover


def test_password_file_lines_are_mosquittos_own_format(estate: Estate) -> None:
    lines = (estate.broker.dir / "passwd").read_text().splitlines()
    users = sorted(line.split(":")[0] for line in lines)
    assert users == ["bridge-1", "bridge-1-fleet", "kiosk-a", "kiosk-b"]
    password = bundle_settings(estate.bundle("kiosk-a")).password
    assert password is not None
    entry = next(line for line in lines if line.startswith("kiosk-a:"))
    assert entry.split(":", 1)[1].startswith("$7$101$")
    assert verify_password(password.get_secret_value(), entry.split(":", 1)[1])
    assert not verify_password("wrong", entry.split(":", 1)[1])


def test_mosquitto_passwd_output_verifies(tmp_path: Path) -> None:
    """Our reader agrees with Mosquitto's own tool, byte format included."""
    path = tmp_path / "pw"
    path.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(path), "someone", "s3cret-Pässword"], check=True)
    encoded = path.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret-Pässword", encoded)
    assert not verify_password("s3cret-Password", encoded)


async def test_generated_broker_settings_are_the_hardened_ones(estate: Estate) -> None:
    conf = (estate.broker.dir / "mosquitto.conf").read_text()
    settings = dict(
        line.split(" ", 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert settings["allow_anonymous"] == "false"
    assert settings["use_username_as_clientid"] == "true"
    assert settings["require_certificate"] == "true"
    assert settings["persistence"] == "true"
    assert int(settings["max_queued_messages"]) >= 100_000
    assert int(settings["max_packet_size"]) == 262144
    assert "max_inflight_messages" in settings
    # Anonymous MQTT with the right CA and certificate but no username: refused.
    a = estate.bundle("kiosk-a")
    anonymous = MqttSettings.model_validate(
        {**bundle_settings(a, port=estate.broker.port).model_dump(), "username": None, "password": None}
    )
    assert await login_error(anonymous) is not None
