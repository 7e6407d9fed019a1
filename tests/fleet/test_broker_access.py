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

from bridge.fleet import fleet_settings
from canopy import topics
from canopy.mqtt import MqttSettings, TlsSettings
from provisioning import ACCESS_FILE, FacilityCA, issue_client, verify_password
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


async def test_missing_certificate_and_plain_tcp_are_refused(estate: Estate) -> None:
    a = estate.bundle("kiosk-a")
    port = estate.broker.port
    assert await login_error(bundle_settings(a, port=port), "kiosk-a") is None
    # Without a client certificate: the TLS handshake fails, whatever the login.
    no_cert = await login_error(bundle_settings(a, port=port, tls=TlsSettings(ca_file=a / "ca.crt")))
    assert no_cert is not None and "refused the TLS client certificate" in no_cert
    plain = bundle_settings(a, port=port).model_copy(update={"tls": None})
    assert await login_error(plain) is not None


async def test_a_certificate_logs_in_as_its_own_device_whatever_login_it_presents(estate: Estate) -> None:
    """kiosk-a's certificate with kiosk-b's login and password is kiosk-a: it can
    neither publish as kiosk-b nor read kiosk-b's answers (the broker takes the
    login from the certificate's CN)."""
    a, b = estate.bundle("kiosk-a"), estate.bundle("kiosk-b")
    port = estate.broker.port
    a_cert = TlsSettings(ca_file=a / "ca.crt", cert_file=a / "client.crt", key_file=a / "client.key")
    as_b = bundle_settings(b, port=port, tls=a_cert)  # kiosk-b's username and password
    b_events, b_acks = topics.events(FACILITY, "kiosk-b"), topics.acks(FACILITY, "kiosk-b")
    a_events = topics.events(FACILITY, "kiosk-a")
    bridge_settings = bundle_settings(estate.bundle("bridge-1"), port=port, config="bridge.toml")
    async with (
        Client(bridge_settings, "bridge-1", subscriptions=(topics.ALL_EVENTS,)) as bridge,
        Client(as_b, "kiosk-b", subscriptions=(b_acks,)) as impostor,
    ):
        await _subscribed(impostor, a_events, bridge)  # it publishes as kiosk-a
        impostor.conn.publish(b_events, b"forged as kiosk-b")
        impostor.conn.publish(a_events, b"marker")
        await bridge.wait_for(lambda: b"marker" in bridge.payloads(a_events))
        assert bridge.payloads(b_events) == []
        bridge.conn.publish(b_acks, _ack("for-b"))
        bridge.conn.publish(topics.acks(FACILITY, "kiosk-a"), _ack("for-a"))
        await asyncio.sleep(0.5)
        assert impostor.payloads(b_acks) == []
    assert "as kiosk-a" in estate.broker.log_text()
    assert "u'kiosk-b'" not in estate.broker.log_text()


async def test_a_kiosk_cannot_join_the_bridges_shared_subscription(estate: Estate) -> None:
    """A kiosk subscribing to ``$share/canopy-bridge/...`` would take its share of
    every kiosk's events, which the broker then drops at the read check: half of
    all events lost. The access list refuses the subscription itself."""
    port = estate.broker.port
    bridge_settings = bundle_settings(estate.bundle("bridge-1"), port=port, config="bridge.toml")
    a_events = topics.events(FACILITY, "kiosk-a")
    async with (
        Client(bridge_settings, "bridge-1", subscriptions=(SHARED_EVENTS,)) as bridge,
        Client(bundle_settings(estate.bundle("kiosk-a"), port=port), "kiosk-a") as kiosk_a,
        Client(bundle_settings(estate.bundle("kiosk-b"), port=port), "kiosk-b",
               subscriptions=(SHARED_EVENTS, topics.shared("x", "#"), topics.ALL_EVENTS,
                              "#", "$SYS/#")) as thief,
    ):
        await _subscribed(kiosk_a, a_events, bridge)
        await asyncio.sleep(0.3)  # the thief's subscriptions are in place
        sent = [f"event {n}".encode() for n in range(40)]
        for payload in sent:
            kiosk_a.conn.publish(a_events, payload)
        await bridge.wait_for(lambda: all(p in bridge.payloads(a_events) for p in sent))
        await asyncio.sleep(0.3)
        assert thief.messages == []
    assert "Denied PUBLISH" not in estate.broker.log_text()  # nothing was routed to the thief


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


async def test_revoked_kiosk_is_refused_after_restart(estate: Estate) -> None:
    a = estate.bundle("kiosk-a")
    port = estate.broker.port
    settings = bundle_settings(a, port=port)
    async with Client(settings, "kiosk-a") as connected:
        result = run_cli("provision", "revoke", "--ca", str(estate.ca.path), "--device", "kiosk-a",
                         "--reason", "stolen")
        assert result.code == 0, result.err
        assert "restart the broker" in result.out
        access = json.loads((estate.broker.dir / ACCESS_FILE).read_text())
        assert "kiosk-a" not in {c["username"] for c in access["clients"]}
        estate.broker.restart()
        # Its certificate is in the CRL: refused at the TLS handshake.
        refused = await login_error(settings, "kiosk-a")
        assert refused is not None and "refused the TLS client certificate" in refused
        # The session that was open is closed by the restart, too.
        await connected.wait_for(lambda: bool(connected.disconnects), 10)
    # The other kiosk is unaffected.
    assert await login_error(bundle_settings(estate.bundle("kiosk-b"), port=port), "kiosk-b") is None


async def test_replaced_certificate_is_refused_through_the_crl(estate: Estate) -> None:
    """Re-enrolling revokes the old certificate: it fails at the TLS handshake
    once the broker re-reads the CRL (SIGHUP is enough for that)."""
    old = estate.bundle("kiosk-a")
    port = estate.broker.port
    new = estate.enroll_kiosk("kiosk-a", replace=True)
    estate.broker.write()
    estate.broker.reload()
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
    fleet = fleet_settings(base)  # the twin's login and certificate (fleet.crt)
    assert fleet.username == "bridge-1-fleet"
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


def test_access_list_names_every_login_and_grants_nothing_by_default(estate: Estate) -> None:
    access = json.loads((estate.broker.dir / ACCESS_FILE).read_text())
    assert sorted(c["username"] for c in access["clients"]) == ["bridge-1", "bridge-1-fleet", "kiosk-a",
                                                                 "kiosk-b"]
    assert not any(access["defaultACLAccess"][k] for k in ("publishClientSend", "publishClientReceive",
                                                           "subscribe"))
    kiosk = next(r for r in access["roles"] if r["rolename"] == "kiosk-a")
    assert not any(acl["topic"].startswith("$share") for acl in kiosk["acls"])


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
    assert settings["use_identity_as_username"] == "true"
    assert "password_file" not in settings and "acl_file" not in settings
    assert settings["persistence"] == "true"
    assert int(settings["max_queued_messages"]) >= 100_000
    assert int(settings["max_packet_size"]) == 262144
    assert "max_inflight_messages" in settings
    # A certificate without any username logs in as the certificate's device.
    a = estate.bundle("kiosk-a")
    anonymous = MqttSettings.model_validate(
        {**bundle_settings(a, port=estate.broker.port).model_dump(), "username": None, "password": None}
    )
    assert await login_error(anonymous) is None
    assert "as kiosk-a" in estate.broker.log_text()
