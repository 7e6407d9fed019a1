"""Enrollment: the facility CA, bundles, the registry, and where secrets may (not) appear."""

from __future__ import annotations

import json
import logging
import stat
import tarfile
import tomllib
from pathlib import Path

import pytest
from cryptography import x509

from agent.config import AgentConfig
from agent.users import add_worker
from bridge.config import BridgeConfig
from canopy.config import load_config
from provisioning import ACCESS_FILE, FacilityCA, read_bundle
from tests.fleet.helpers import run_cli

pytestmark = pytest.mark.timeout(60)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    result = run_cli("provision", "ca", "--facility", "LIC-0042", "--out", str(tmp_path / "pki"))
    assert result.code == 0, result.err
    return tmp_path / "pki"


def enroll(pki: Path, out: Path, device: str = "kiosk-01", *extra: str,
           bench: tuple[str, ...] = ("--headless", "--simulated-devices")) -> tuple[int, str, str]:
    """``bench``: the flags a kiosk without workers list and with simulated devices needs."""
    result = run_cli("provision", "device", "--ca", str(pki), "--facility", "LIC-0042", "--device", device,
                     "--room", "Flower 1", "--broker-host", "mqtt.example", "--broker-port", "8883",
                     "--out", str(out), *bench, *extra)
    return result.code, result.out, result.err


def test_ca_is_private_and_signs_client_certificates(pki: Path, tmp_path: Path) -> None:
    assert mode(pki) == 0o700
    assert mode(pki / "ca.key") == 0o600
    assert mode(pki / "registry.json") == 0o600
    assert mode(pki / "ca.crt") == 0o644
    code, _, _ = enroll(pki, tmp_path / "k1")
    assert code == 0
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "k1/client.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert cn == "kiosk-01"
    again = run_cli("provision", "ca", "--facility", "LIC-0042", "--out", str(pki))
    assert again.code == 2 and "refusing to replace it" in again.err


def test_bundle_is_one_verified_package_with_private_secrets(pki: Path, tmp_path: Path) -> None:
    code, _, _ = enroll(pki, tmp_path / "k1", "kiosk-01", "--scanner", "sim",
                          "--set", "scale.kind=serial", "--set", "scale.port=/dev/serial/by-id/usb-FTDI-if00",
                          "--set", "uplink.window=50")
    assert code == 0
    bundle = tmp_path / "k1"
    assert mode(bundle) == 0o700
    assert mode(bundle / "agent.toml") == 0o600 and mode(bundle / "client.key") == 0o600
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["role"] == "kiosk" and manifest["name"] == "kiosk-01"
    assert {f["name"] for f in manifest["files"] if f["secret"]} == {"agent.toml", "client.key"}
    assert {f["name"] for f in manifest["files"]} >= {
        "agent.toml", "ca.crt", "client.crt", "client.key", "canopy-agent.service",
        "canopy-kiosk-browser.service", "70-canopy.rules"}
    config = load_config(AgentConfig, bundle / "agent.toml")
    assert config.kiosk.facility == "LIC-0042" and config.kiosk.device == "kiosk-01"
    assert config.mqtt.username == "kiosk-01" and config.mqtt.port == 8883
    assert config.scale.kind == "serial" and config.scale.port == "/dev/serial/by-id/usb-FTDI-if00"
    assert config.uplink.window == 50 and config.scanner.kind == "sim"
    assert read_bundle(bundle).manifest.room == "Flower 1"

    code, _, _ = enroll(pki, tmp_path / "k2.tar.gz", "kiosk-02")
    assert code == 0
    tarball = tmp_path / "k2.tar.gz"
    assert mode(tarball) == 0o600
    with tarfile.open(tarball) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes["client.key"] == 0o600 and modes["agent.toml"] == 0o600 and modes["ca.crt"] == 0o644
    assert read_bundle(tarball).manifest.name == "kiosk-02"


def test_secrets_never_reach_output_logs_or_registry(
    pki: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code, out, err = enroll(pki, tmp_path / "k1")
    assert code == 0
    bridge = run_cli("provision", "bridge", "--ca", str(pki), "--id", "bridge-1",
                     "--broker-host", "mqtt.example", "--out", str(tmp_path / "b1"))
    broker = run_cli("provision", "broker", "--ca", str(pki), "--host", "mqtt.example",
                     "--out", str(tmp_path / "broker"), "--data-dir", str(tmp_path / "data"),
                     "--plugin", "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so")
    conf = (tmp_path / "broker/mosquitto.conf").read_text()
    assert "plugin /usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so\n" in conf  # a Pi broker
    listing = run_cli("provision", "list", "--ca", str(pki))
    revoke = run_cli("provision", "revoke", "--ca", str(pki), "--device", "kiosk-01")
    assert bridge.code == broker.code == listing.code == revoke.code == 0
    secrets = [
        tomllib.loads((tmp_path / "k1/agent.toml").read_text())["mqtt"]["password"],
        tomllib.loads((tmp_path / "b1/bridge.toml").read_text())["mqtt"]["password"],
        (tmp_path / "k1/client.key").read_text().splitlines()[1],
        (pki / "ca.key").read_text().splitlines()[1],
        (tmp_path / "broker/server.key").read_text().splitlines()[1],
    ]
    shown = out + err + "".join(r.out + r.err for r in (bridge, broker, listing, revoke)) + caplog.text
    registry = (pki / "registry.json").read_text()
    for secret in secrets:
        assert secret not in shown
        assert secret not in registry
    # The broker gets hashes only; its key and the password file are private.
    assert secrets[0] not in (tmp_path / "broker" / ACCESS_FILE).read_text()
    assert mode(tmp_path / "broker" / ACCESS_FILE) == 0o600 and mode(tmp_path / "broker/server.key") == 0o600


def test_workers_file_travels_as_a_secret(pki: Path, tmp_path: Path) -> None:
    workers = tmp_path / "workers.json"
    add_worker(workers, worker_id="w-7", name="Ana", pin="482910")
    code, _, err = enroll(pki, tmp_path / "k1", "kiosk-01", "--workers", str(workers))
    assert code == 0, err
    assert mode(tmp_path / "k1/workers.json") == 0o600
    config = load_config(AgentConfig, tmp_path / "k1/agent.toml")
    assert config.workers.file == Path("/etc/canopy/workers.json")
    (tmp_path / "broken.json").write_text("{")
    code, _, err = enroll(pki, tmp_path / "k2", "kiosk-02", "--workers", str(tmp_path / "broken.json"))
    assert code == 2 and "workers file" in err


def test_enrollment_rules(pki: Path, tmp_path: Path) -> None:
    assert enroll(pki, tmp_path / "k1")[0] == 0
    code, _, err = enroll(pki, tmp_path / "k1b")
    assert code == 2 and "already enrolled" in err and "--replace" in err
    first_serial = FacilityCA.open(pki).registry.identities["kiosk-01"].cert_serial
    assert enroll(pki, tmp_path / "k1c", "kiosk-01", "--replace")[0] == 0
    crl = x509.load_pem_x509_crl((pki / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(first_serial) is not None
    wrong = run_cli("provision", "device", "--ca", str(pki), "--facility", "OTHER-1", "--device", "k9",
                    "--broker-host", "h", "--out", str(tmp_path / "k9"))
    assert wrong.code == 2 and "facility LIC-0042's" in wrong.err
    bad = enroll(pki, tmp_path / "k10", "kiosk/10")
    assert bad[0] == 2 and "one topic level" in bad[2]
    typo = enroll(pki, tmp_path / "k11", "kiosk-11", "--set", "scale.protocl=ohaus")
    assert typo[0] == 2 and "did you mean 'scale.protocol'" in typo[2]
    fixed = enroll(pki, tmp_path / "k12", "kiosk-12", "--set", "mqtt.password=mine")
    assert fixed[0] == 2 and "set by enrollment" in fixed[2]
    # None of the refused enrollments reached the registry.
    assert sorted(FacilityCA.open(pki).registry.identities) == ["kiosk-01"]
    # Names the topic scheme uses cannot be devices: "ref" (canopy/v1/<facility>/ref/...),
    # MQTT wildcards, "$..." (broker topics, $share), and the fleet view's login suffix.
    for name in ("ref", "REF", "+", "#", "$share", "$SYS", "kiosk-01-fleet", "bridge-1-fleet"):
        code, _out, err = enroll(pki, tmp_path / "reserved", name)
        assert code == 2 and "cannot be used" in err, (name, err)
    scheme = enroll(pki, tmp_path / "reserved", "ref")[2]
    assert "topic scheme" in scheme
    assert "fleet view" in enroll(pki, tmp_path / "reserved", "bridge-1-fleet")[2]
    bridge_as_fleet = run_cli("provision", "bridge", "--ca", str(pki), "--id", "b-fleet",
                              "--broker-host", "h", "--out", str(tmp_path / "bf"))
    assert bridge_as_fleet.code == 2 and "fleet view" in bridge_as_fleet.err
    assert sorted(FacilityCA.open(pki).registry.identities) == ["kiosk-01"]


def test_no_workers_list_or_simulated_devices_only_with_their_flag(pki: Path, tmp_path: Path) -> None:
    workers = tmp_path / "workers.json"
    add_worker(workers, worker_id="w-7", name="Ana", pin="482910")
    code, _, err = enroll(pki, tmp_path / "k1", "kiosk-01", bench=("--simulated-devices",))
    assert code == 2 and "no workers list" in err and "--headless" in err
    code, _, err = enroll(pki, tmp_path / "k1", "kiosk-01", "--workers", str(workers), bench=())
    assert code == 2 and "simulated scale, printer on a floor kiosk" in err and "--simulated-devices" in err
    real = ("--workers", str(workers), "--set", "scale.kind=serial", "--set", "scale.port=/dev/ttyUSB0",
            "--set", "printer.kind=brother", "--set", "printer.model=QL-820NWB",
            "--set", "printer.url=tcp://10.0.0.9:9100")
    code, _, err = enroll(pki, tmp_path / "k2", "kiosk-02", *real, bench=())
    assert code == 0, err
    assert load_config(AgentConfig, tmp_path / "k2/agent.toml").kiosk.simulated_devices is False
    code, _, err = enroll(pki, tmp_path / "k3", "kiosk-03")
    assert code == 0, err
    assert load_config(AgentConfig, tmp_path / "k3/agent.toml").kiosk.simulated_devices is True
    # Nothing refused reached the registry.
    assert sorted(FacilityCA.open(pki).registry.identities) == ["kiosk-02", "kiosk-03"]


def test_bridge_bundle(pki: Path, tmp_path: Path) -> None:
    result = run_cli("provision", "bridge", "--ca", str(pki), "--id", "bridge-1",
                     "--broker-host", "mqtt.example", "--out", str(tmp_path / "b1"))
    assert result.code == 0, result.err
    config = load_config(BridgeConfig, tmp_path / "b1/bridge.toml")
    assert config.bridge.id == "bridge-1" and config.mqtt.username == "bridge-1"
    assert config.ledger.url == "sqlite:////var/lib/canopy-bridge/ledger.db"
    assert mode(tmp_path / "b1/bridge.toml") == 0o600
    assert read_bundle(tmp_path / "b1").manifest.role == "bridge"
