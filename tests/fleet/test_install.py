"""`canopy provision install` into a scratch root: layout, owners, modes, idempotence,
and the installed units and udev rules checked by systemd's and our own tools."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from agent.config import AgentConfig
from bridge.config import BridgeConfig
from canopy.config import load_config
from provisioning import Accounts, BrokerAddress, FacilityCA, enroll_bridge, enroll_kiosk, write_bundle
from tests.fleet.helpers import run_cli
from tests.fleet.udev_syntax import check_rules

pytestmark = pytest.mark.timeout(60)
AS_ROOT = os.geteuid() == 0
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
UNITS = Path(__file__).resolve().parents[2] / "systemd"  # the repository's own


def scratch_root(path: Path) -> Path:
    """A small Debian-like root: a user database without gpio or render groups,
    systemd's own units (for verify) and stub binaries the units start."""
    etc = path / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\nlp:x:7:\ndialout:x:20:\nvideo:x:44:\ninput:x:101:\n")
    for name in ("shadow", "gshadow"):
        (etc / name).write_text("")
        (etc / name).chmod(0o640)
    shutil.copytree(SYSTEM_UNITS, path / "usr/lib/systemd/system", symlinks=True)
    for stub in ("opt/canopy/venv/bin/canopy", "usr/bin/cage", "usr/bin/chromium-browser"):
        target = path / stub
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("#!/bin/sh\nexit 0\n")
        target.chmod(0o755)
    return path


def snapshot(root: Path) -> dict[str, tuple[str, int, int, int, str]]:
    """Every path outside the copied systemd units: kind, mode, owner, content hash or link."""
    out: dict[str, tuple[str, int, int, int, str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel.startswith("usr/lib/systemd"):
            continue
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            kind, body = "link", os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            kind, body = "dir", ""
        else:
            kind, body = "file", hashlib.sha256(path.read_bytes()).hexdigest()
        out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, body)
    return out


@pytest.fixture
def ca(tmp_path: Path) -> FacilityCA:
    return FacilityCA.create(tmp_path / "pki", "LIC-0042")


@pytest.fixture
def kiosk_bundle(tmp_path: Path, ca: FacilityCA) -> Path:
    bundle = enroll_kiosk(ca, device="kiosk-07", room="Veg 2", broker=BrokerAddress("mqtt.example", 8883),
                          headless=True, simulated=True)
    return write_bundle(bundle, tmp_path / "kiosk-07.tar.gz")


def test_install_twice_changes_nothing(tmp_path: Path, kiosk_bundle: Path) -> None:
    root = scratch_root(tmp_path / "root")
    first = run_cli("provision", "install", str(kiosk_bundle), "--root", str(root))
    assert first.code == 0, first.err
    assert "changed: /etc/canopy/agent.toml" in first.out
    assert "would run on the kiosk: systemctl start canopy-agent.service" in first.out
    after_first = snapshot(root)

    second = run_cli("provision", "install", str(kiosk_bundle), "--root", str(root))
    assert second.code == 0, second.err
    assert "nothing changed" in second.out
    assert "changed:" not in second.out
    assert snapshot(root) == after_first  # same bytes, modes, owners, links


def test_layout_owners_and_modes(tmp_path: Path, kiosk_bundle: Path) -> None:
    root = scratch_root(tmp_path / "root")
    assert run_cli("provision", "install", str(kiosk_bundle), "--root", str(root)).code == 0

    def mode(rel: str) -> int:
        return stat.S_IMODE((root / rel).stat().st_mode)

    assert mode("etc/canopy") == 0o750
    assert mode("etc/canopy/agent.toml") == 0o600
    assert mode("etc/canopy/client.key") == 0o600
    assert mode("etc/canopy/ca.crt") == 0o644
    assert mode("var/lib/canopy") == 0o750
    assert mode("etc/udev/rules.d/70-canopy.rules") == 0o644
    assert mode("etc/systemd/system/canopy-agent.service") == 0o644
    # The browser's Chromium, as this OS ships it (Raspberry Pi OS: chromium-browser).
    assert "CANOPY_BROWSER=/usr/bin/chromium-browser" in (root / "etc/canopy/kiosk-browser.env").read_text()
    # Enabled offline, as `systemctl enable` does on a running system.
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert os.readlink(wants / "canopy-agent.service") == "/etc/systemd/system/canopy-agent.service"
    assert (wants / "canopy-kiosk-browser.service").is_symlink()
    # The installed config is the agent's, pointing at the installed files.
    config = load_config(AgentConfig, root / "etc/canopy/agent.toml")
    assert config.kiosk.device == "kiosk-07" and config.kiosk.room == "Veg 2"
    assert config.kiosk.state_dir == Path("/var/lib/canopy")
    assert config.mqtt.tls is not None and config.mqtt.tls.key_file == Path("/etc/canopy/client.key")
    if AS_ROOT:
        accounts = Accounts(root)
        canopy, kiosk_user = accounts.user("canopy"), accounts.user("canopy-kiosk")
        assert canopy is not None and kiosk_user is not None
        members = accounts.group_members()
        assert {g for g, m in members.items() if "canopy" in m} == {"input", "dialout", "lp"}  # no gpio here
        assert {g for g, m in members.items() if "canopy-kiosk" in m} == {"video"}

        def owner(rel: str) -> tuple[int, int]:
            st = (root / rel).stat()
            return st.st_uid, st.st_gid

        assert owner("etc/canopy") == (0, canopy.gid)
        assert owner("etc/canopy/agent.toml") == (canopy.uid, canopy.gid)
        assert owner("etc/canopy/client.key") == (canopy.uid, canopy.gid)
        assert owner("etc/canopy/ca.crt") == (0, 0)
        assert owner("var/lib/canopy") == (canopy.uid, canopy.gid)
        assert owner("var/lib/canopy-kiosk") == (kiosk_user.uid, kiosk_user.gid)


def test_a_group_added_later_is_joined_on_reinstall(tmp_path: Path, kiosk_bundle: Path) -> None:
    """Idempotent but not blind: a Pi image that gains the gpio group gets it added."""
    root = scratch_root(tmp_path / "root")
    assert run_cli("provision", "install", str(kiosk_bundle), "--root", str(root)).code == 0
    with (root / "etc/group").open("a") as group:
        group.write("gpio:x:997:\n")
    again = run_cli("provision", "install", str(kiosk_bundle), "--root", str(root))
    assert again.code == 0, again.err
    if AS_ROOT:
        assert "added canopy to gpio" in again.out
        assert "canopy" in Accounts(root).group_members()["gpio"]


def test_installed_units_pass_systemd_analyze_verify(
    tmp_path: Path, kiosk_bundle: Path, ca: FacilityCA
) -> None:
    root = scratch_root(tmp_path / "root")
    assert run_cli("provision", "install", str(kiosk_bundle), "--root", str(root)).code == 0
    bridge = write_bundle(enroll_bridge(ca, bridge_id="bridge-1", broker=BrokerAddress("mqtt.example")),
                          tmp_path / "bridge-1")
    assert run_cli("provision", "install", str(bridge), "--root", str(root)).code == 0
    units = ["canopy-agent.service", "canopy-kiosk-browser.service", "canopy-bridge.service",
             "canopy-console.service"]
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "canopy" not in done.stderr, done.stderr  # no warning about our units at all
    # Without the binary the agent starts, verify fails: it really checks.
    (root / "opt/canopy/venv/bin/canopy").unlink()
    broken = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", units[0]],
                            capture_output=True, text=True)
    assert broken.returncode != 0 and "not executable" in broken.stderr
    assert load_config(BridgeConfig, root / "etc/canopy/bridge.toml").bridge.id == "bridge-1"


@pytest.mark.parametrize("name", ["canopy-agent.service", "canopy-console.service"])
def test_unit_exposure_score(name: str) -> None:
    """The hardening holds: systemd-analyze's offline score stays 'OK' (at most 2.0)."""
    unit = UNITS / name
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                          capture_output=True, text=True)
    found = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", done.stdout)
    assert found is not None, done.stdout[-500:] + done.stderr
    assert float(found.group(1)) <= 2.0
    recorded = re.search(r"exposure (\d+\.\d+) OK", unit.read_text())
    assert recorded is not None and recorded.group(1) == found.group(1)  # the comment is current


def test_a_bridge_gets_the_console_unit_installed_but_not_enabled(tmp_path: Path, ca: FacilityCA) -> None:
    """The console is shipped like the bridge's unit, but waits for an account before it runs."""
    root = scratch_root(tmp_path / "root")
    bridge = write_bundle(enroll_bridge(ca, bridge_id="bridge-1", broker=BrokerAddress("mqtt.example")),
                          tmp_path / "bridge-1")
    done = run_cli("provision", "install", str(bridge), "--root", str(root))
    assert done.code == 0, done.err
    installed = root / "etc/systemd/system/canopy-console.service"
    assert installed.read_bytes() == (UNITS / "canopy-console.service").read_bytes()
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "canopy-bridge.service").is_symlink()
    assert not (wants / "canopy-console.service").exists()
    assert "canopy console user add NAME --role compliance -c /etc/canopy/bridge.toml" in done.out
    assert "systemctl enable --now canopy-console.service" in done.out
    again = run_cli("provision", "install", str(bridge), "--root", str(root))
    assert again.code == 0 and "nothing changed" in again.out


def test_udev_rules_parse(tmp_path: Path, kiosk_bundle: Path) -> None:
    root = scratch_root(tmp_path / "root")
    assert run_cli("provision", "install", str(kiosk_bundle), "--root", str(root)).code == 0
    text = (root / "etc/udev/rules.d/70-canopy.rules").read_text()
    assert check_rules(text) == []
    groups = set(re.findall(r'GROUP="([^"]+)"', text))
    assert groups == {"input", "dialout", "lp"}  # exactly the agent's device groups
    # The checker itself accepts every rules file Debian ships, and catches mistakes.
    for system in sorted(Path("/usr/lib/udev/rules.d").glob("*.rules")):
        assert check_rules(system.read_text()) == [], system
    assert check_rules('SUBSYSTEM=="tty", MODE="0x660"\n')
    assert check_rules('KERNEL="ttyUSB0", GROUP="dialout"\n')
    assert check_rules('SUBSYSTEM=="tty", GOTO="nowhere"\n')


def test_tampered_or_foreign_bundle_is_refused(tmp_path: Path, ca: FacilityCA) -> None:
    bundle = write_bundle(enroll_kiosk(ca, device="kiosk-08", broker=BrokerAddress("mqtt.example"),
                                           headless=True, simulated=True),
                          tmp_path / "kiosk-08")
    agent = bundle / "agent.toml"
    agent.write_text(agent.read_text().replace('port = 8883', 'port = 1883'))
    root = scratch_root(tmp_path / "root")
    before = snapshot(root)
    refused = run_cli("provision", "install", str(bundle), "--root", str(root))
    assert refused.code == 2
    assert "agent.toml was changed after the bundle was made" in refused.err
    assert snapshot(root) == before  # nothing written
    (tmp_path / "junk").mkdir()
    assert "not a Canopy bundle" in run_cli("provision", "install", str(tmp_path / "junk")).err


@pytest.mark.parametrize(("settings", "flags"), [
    ({}, "--force-device-scale-factor=1 --window-size=1280,800 --window-position=0,0"),
    ({"ui.panel": "touch-display"},
     "--force-device-scale-factor=1 --window-size=800,480 --window-position=0,0"),
    ({"ui.panel": "touch-display-2-portrait"},
     "--force-device-scale-factor=1 --window-size=720,1280 --window-position=0,0"),
])
def test_the_kiosk_browser_starts_at_the_size_of_the_configured_panel(
        tmp_path: Path, ca: FacilityCA, settings: dict[str, str], flags: str) -> None:
    bundle = enroll_kiosk(ca, device="kiosk-08", broker=BrokerAddress("mqtt.example", 8883),
                          headless=True, simulated=True, settings=settings)
    root = scratch_root(tmp_path / "root")
    assert run_cli("provision", "install", str(write_bundle(bundle, tmp_path / "b.tar.gz")),
                   "--root", str(root)).code == 0
    env = (root / "etc/canopy/kiosk-browser.env").read_text()
    assert f"CANOPY_BROWSER_FLAGS={flags}\n" in env
    unit = (root / "etc/systemd/system/canopy-kiosk-browser.service").read_text()
    assert "$CANOPY_BROWSER_FLAGS" in unit  # unbraced: systemd splits it into arguments
