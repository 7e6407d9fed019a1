"""`canopy doctor` against a demo-like kiosk: a real broker with the generated
config, the kiosk's own enrolled credentials, a real outbox, simulated devices."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import time
import tomllib
from pathlib import Path

import pytest
from pydantic import Field

from agent.bridgeclock import clock_file, write_clock_offset
from agent.config import AgentConfig
from agent.outbox import Outbox, Settlement
from drivers.gpio import GpioConfig
from drivers.printer import PrinterConfig
from drivers.scale import ScaleConfig
from provisioning import run_doctor
from tests.fleet.conftest import Estate
from tests.fleet.helpers import localize, open_dir, run_cli

pytestmark = pytest.mark.timeout(60)


def password_of(config: Path) -> str:
    value: str = tomllib.loads(config.read_text())["mqtt"]["password"]
    return value


async def demo_outbox(state: Path, *, pending: int = 0, stored: int = 1) -> None:
    box = await Outbox.open(state / "outbox.db", facility="LIC-0042", device="kiosk-a")
    try:
        for i in range(stored + pending):
            event = await box.append("plant.scanned", {"tag": f"1A4FF0100000000000000{i:03d}"}, user="w")
            if i < stored:
                await box.settle([Settlement(event.id, "stored")])
    finally:
        await box.close()


def kiosk_config(estate: Estate, state: Path, **replace: str) -> Path:
    """kiosk-a's enrolled agent.toml, with its files where the test keeps them."""
    bundle = estate.bundle("kiosk-a")
    return localize(bundle, "agent.toml", **{'"/var/lib/canopy"': f'"{state}"', **replace})


def test_healthy_kiosk_passes(estate: Estate, tmp_path: Path) -> None:
    asyncio.run(demo_outbox(tmp_path))
    # The uplink compared this kiosk's clock with the bridge's a minute ago: 2 s apart.
    write_clock_offset(clock_file(tmp_path / "outbox.db"), 2.0, time.time() - 60)
    config = kiosk_config(estate, tmp_path)
    result = run_cli("doctor", "-c", str(config))
    assert result.code == 0, result.out + result.err
    lines = {line.split()[1]: line.split()[0] for line in result.out.splitlines()[1:-1]}
    assert set(lines) >= {"config", "secrets", "scanner", "scale", "printer", "gpio", "broker", "clock",
                          "disk", "outbox", "bridge-clock"}
    assert lines.pop("clock") in ("PASS", "WARN")  # a VM clock may not be NTP-synchronised
    assert set(lines.values()) == {"PASS"}, result.out
    assert "stable zero" in result.out  # the simulated scale, through the real serial driver
    assert "simulated pins: pin factory mock (MockFactory)" in result.out
    assert "logged in to 127.0.0.1" in result.out and "as kiosk-a (TLS with client certificate)" in result.out
    assert password_of(config) not in result.out + result.err

    as_json = run_cli("doctor", "-c", str(config), "--json")
    body = json.loads(as_json.out)
    assert as_json.code == 0 and body["ok"] is True and body["kiosk"] == "LIC-0042/kiosk-a"
    assert body["summary"]["fail"] == 0
    assert password_of(config) not in as_json.out


def test_scale_and_printer_are_checked_through_their_factories(estate: Estate, tmp_path: Path) -> None:
    """However the agent's config embeds them, devices are found by their config type."""

    class KioskWithDevices(AgentConfig):
        scales: dict[str, ScaleConfig] = Field(
            default_factory=lambda: {"bench": ScaleConfig(protocol="ohaus")}
        )
        printers: tuple[PrinterConfig, ...] = (PrinterConfig(media="29"),)

    asyncio.run(demo_outbox(tmp_path))
    report = asyncio.run(run_doctor(kiosk_config(estate, tmp_path), model=KioskWithDevices))
    found = {c.name: c for c in report.checks}
    assert found["scale"].status == "pass" and "stable zero" in found["scale"].message
    assert found["scales.bench"].status == "pass" and "stable zero" in found["scales.bench"].message
    assert found["printers[0]"].status == "pass" and "ready, roll 29" in found["printers[0]"].message
    assert report.ok


def test_gpio_line_names_the_pin_factory_or_why_none_loads(estate: Estate, tmp_path: Path) -> None:
    """Real pins: the factory gpiozero loads is named; one that cannot load is a failed line."""

    class KioskWithPins(AgentConfig):
        pins: GpioConfig = GpioConfig(kind="gpiozero", pin_factory="mock", green=17)
        unknown: GpioConfig = GpioConfig(kind="gpiozero", pin_factory="pigpoi", green=17)

    asyncio.run(demo_outbox(tmp_path))
    report = asyncio.run(run_doctor(kiosk_config(estate, tmp_path), model=KioskWithPins))
    found = {c.name: c for c in report.checks}
    assert found["gpio"].status == "pass" and found["gpio"].message.startswith("simulated pins")
    assert (found["pins"].status, found["pins"].message) == ("pass", "pin factory mock (MockFactory)")
    assert found["unknown"].status == "fail"
    assert 'pin factory "pigpoi" is not known' in found["unknown"].message
    unknown = found["unknown"].message
    assert "installed gpiozero pin factories: lgpio, mock, native, pigpio, rpigpio" in unknown


def test_simulated_pins_on_a_production_kiosk_fail_and_still_name_the_pin_factory(
    estate: Estate, tmp_path: Path
) -> None:
    """Simulated pins fail a production kiosk, and the line still says which pin factory
    real pins get here, or why none loads (issue 14; the arm64 check reads this line)."""

    class KioskWithSimPins(AgentConfig):
        bench: GpioConfig = GpioConfig(kind="sim", pin_factory="mock", green=17)
        typo: GpioConfig = GpioConfig(kind="sim", pin_factory="pigpoi", green=17)

    asyncio.run(demo_outbox(tmp_path))
    production = kiosk_config(estate, tmp_path, **{"simulated_devices = true": "simulated_devices = false"})
    report = asyncio.run(run_doctor(production, model=KioskWithSimPins))
    found = {c.name: c for c in report.checks}
    assert {found[n].status for n in ("gpio", "bench", "typo")} == {"fail"}
    assert "simulated gpio on a production kiosk" in found["bench"].message
    assert found["bench"].message.endswith(
        "(simulated pins: pin factory mock (MockFactory); real pins here: pin factory mock (MockFactory))"
    )
    typo = found["typo"].message
    assert 'real pins here: no pin factory loads (GPIO pin factory "pigpoi" is not known' in typo
    assert "installed gpiozero pin factories: lgpio, mock, native, pigpio, rpigpio" in typo
    # gpiozero's own choice (the built-in config): a factory, or each one it fell back from.
    assert re.search(r"real pins here: (pin factory \w+ \(|no pin factory loads \(.*Falling back from lgpio)",
                     found["gpio"].message), found["gpio"].message


def test_stopped_broker_fails_with_a_clear_line(estate: Estate, tmp_path: Path) -> None:
    asyncio.run(demo_outbox(tmp_path))
    config = kiosk_config(estate, tmp_path)
    estate.broker.kill()
    result = run_cli("doctor", "-c", str(config), "--timeout", "3")
    assert result.code == 1
    broker = next(line for line in result.out.splitlines() if " broker " in line)
    assert broker.split()[0] == "FAIL"
    assert "Connection refused" in broker and "is the broker running" in broker
    assert "1 failed" in result.out
    assert result.err == ""  # the table says it; no log lines on top


def test_revoked_certificate_fails_and_no_secret_is_shown(estate: Estate, tmp_path: Path) -> None:
    asyncio.run(demo_outbox(tmp_path))
    real = password_of(estate.bundle("kiosk-a") / "agent.toml")
    config = kiosk_config(estate, tmp_path)
    assert run_cli("provision", "revoke", "--ca", str(estate.ca.path), "--device", "kiosk-a").code == 0
    estate.broker.restart()
    result = run_cli("doctor", "-c", str(config))
    assert result.code == 1
    broker = next(line for line in result.out.splitlines() if " broker " in line)
    assert broker.startswith("  FAIL") and "refused the TLS client certificate" in broker
    assert real not in result.out + result.err


def test_invalid_config_fails_first_and_hides_secrets(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[kiosk]\ndevcie = "kiosk-1"\n\n[mqtt]\nusername = "k-1"\npassword = 938475610293\n')
    config.chmod(0o600)
    result = run_cli("doctor", "-c", str(config), "--json")
    body = json.loads(result.out)
    assert result.code == 1 and body["ok"] is False
    assert [c["name"] for c in body["checks"]] == ["config"]
    message = body["checks"][0]["message"]
    assert "did you mean 'kiosk.device'" in message
    assert "938475610293" not in result.out  # pydantic echoes the bad value; doctor does not


def test_stuck_backlog_fails_and_loose_secrets_warn(estate: Estate, tmp_path: Path) -> None:
    asyncio.run(demo_outbox(tmp_path, pending=4))
    day_ago_ms = int((time.time() - 2 * 86400) * 1000)
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        db.execute("UPDATE outbox SET created = ? WHERE state = 'pending'", (day_ago_ms,))
    config = kiosk_config(estate, tmp_path)
    config.chmod(0o644)
    result = run_cli("doctor", "-c", str(config))
    assert result.code == 1
    outbox = next(line for line in result.out.splitlines() if " outbox " in line)
    assert outbox.split()[0] == "FAIL" and "4 unsent, oldest 2.0 days" in outbox
    secrets = next(line for line in result.out.splitlines() if " secrets " in line)
    assert secrets.split()[0] == "WARN" and "mode 0644" in secrets


def test_outbox_is_opened_as_its_owner(estate: Estate) -> None:
    """Run as root, doctor must not leave root-owned SQLite files the agent cannot open."""
    with open_dir() as base:
        state = base / "state"
        state.mkdir()
        asyncio.run(demo_outbox(state))
        for leftover in state.glob("outbox.db-*"):
            leftover.unlink()  # a cleanly closed outbox: the next open creates -wal / -shm
        nobody = 65534
        if os.geteuid() == 0:
            os.chown(state, nobody, nobody)
            os.chown(state / "outbox.db", nobody, nobody)
        config = kiosk_config(estate, state)
        result = run_cli("doctor", "-c", str(config))
        assert "PASS  outbox" in result.out, result.out
        if os.geteuid() == 0:
            owners = {p.name: p.stat().st_uid for p in state.iterdir()}
            assert set(owners.values()) == {nobody}, owners
            assert os.geteuid() == 0 and os.getegid() == 0  # privileges restored afterwards


@pytest.mark.parametrize(("offset", "status", "words"), [
    (1200.0, "FAIL", "20 min ahead of the bridge's"),
    (-900.0, "FAIL", "15 min behind the bridge's"),
    (-3.0, "PASS", "3 s behind the bridge's"),
    (None, "WARN", "not compared yet"),
])
def test_a_kiosk_clock_off_from_the_bridge_is_flagged(
    estate: Estate, tmp_path: Path, offset: float | None, status: str, words: str,
) -> None:
    asyncio.run(demo_outbox(tmp_path))
    if offset is not None:
        write_clock_offset(clock_file(tmp_path / "outbox.db"), offset, time.time())
    result = run_cli("doctor", "-c", str(kiosk_config(estate, tmp_path)))
    line = next(line for line in result.out.splitlines() if " bridge-clock " in line)
    assert line.split()[0] == status and words in line, result.out
    if offset == 1200.0:
        assert "held at the bridge" in line and result.code == 1


def test_simulated_devices_fail_on_a_production_kiosk(estate: Estate, tmp_path: Path) -> None:
    """kiosk-a was enrolled as a test kiosk (``--simulated-devices``); the same config
    without that flag is a production kiosk, where a simulated device is a failure."""
    asyncio.run(demo_outbox(tmp_path))
    config = kiosk_config(estate, tmp_path, **{"simulated_devices = true": "simulated_devices = false"})
    assert "simulated_devices = false" in config.read_text()
    result = run_cli("doctor", "-c", str(config))
    assert result.code != 0
    lines = {line.split()[1]: line for line in result.out.splitlines()[1:-1]}
    for device in ("scanner", "scale", "printer"):
        assert lines[device].split()[0] == "FAIL", result.out
        assert f"simulated {device} on a production kiosk" in lines[device]
    assert "--simulated-devices" in lines["scale"]
