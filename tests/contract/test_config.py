"""Config files: every mistake names the file and the key, and never shows a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import AgentConfig
from bridge.config import BridgeConfig
from canopy.config import load_config
from canopy.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.toml"
    path.write_text(text)
    return path


def test_defaults_run_a_simulated_kiosk_and_a_sqlite_bridge() -> None:
    agent = load_config(AgentConfig, None)
    assert agent.scanner.kind == "sim"
    assert agent.mqtt.protocol == "5"
    bridge = load_config(BridgeConfig, None)
    assert bridge.ledger.url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mqtt]\nprot = 1884\n", "unknown key 'mqtt.prot' (did you mean 'mqtt.port'?)"),
        ("[kiosk]\nfacilty = \"X\"\n", "unknown key 'kiosk.facilty' (did you mean 'kiosk.facility'?)"),
        ("[mqtt]\nport = \"high\"\n", "'mqtt.port': Input should be a valid integer"),
        ("[mqtt]\nport = 99999\n", "'mqtt.port': Input should be less than or equal to 65535"),
        ("[kiosk]\ndevice = \"kiosk/01\"\n", "'kiosk.device': String should match pattern"),
        ("[uplink]\nwindow = 0\n", "'uplink.window'"),
        ("[scaner]\nkind = \"sim\"\n", "unknown key 'scaner' (did you mean 'scanner'?)"),
        ("[mqtt\nport = 1\n", "not valid TOML"),
        ("[scale]\ncheck_tolerence = 0.1\n",
         "unknown key 'scale.check_tolerence' (did you mean 'scale.check_tolerance'?)"),
        ("[scale]\ncheck_weight = 0\n", "'scale.check_weight': Input should be greater than 0"),
        ("[scale]\ncheck_unit = \"pcs\"\n", "'scale.check_unit'"),
    ],
)
def test_agent_config_errors_name_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(AgentConfig, path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_bridge_config_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "[ledger]\nurl = \"mysql://x\"\n[ingest]\nbatch_max = -1\n")
    with pytest.raises(ConfigError) as info:
        load_config(BridgeConfig, path)
    text = str(info.value)
    assert "2 problem(s)" in text
    assert "'ledger.url'" in text
    assert "'ingest.batch_max'" in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(AgentConfig, tmp_path / "nope.toml")


@pytest.mark.parametrize("command", ["agent", "bridge"])
def test_the_process_stops_with_a_message_not_a_traceback(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, "[mqtt]\nhots = \"broker.local\"\n")
    done = subprocess.run([sys.executable, "-m", "cli", command, "-c", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(path) in done.stderr
    assert "unknown key 'mqtt.hots' (did you mean 'mqtt.host'?)" in done.stderr


def test_secrets_are_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "[mqtt]\nusername = \"k1\"\npassword = \"hunter2\"\nport = \"x\"\n")
    with pytest.raises(ConfigError) as info:
        load_config(AgentConfig, path)
    assert "hunter2" not in str(info.value)
    config = load_config(AgentConfig, write(tmp_path, "[mqtt]\nusername = \"k1\"\npassword = \"hunter2\"\n"))
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize(("name", "model"), [("agent", AgentConfig), ("bridge", BridgeConfig)])
def test_documented_examples_load_and_show_the_defaults(
        name: str, model: type[AgentConfig | BridgeConfig]) -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / f"{name}.example.toml"
    loaded = load_config(model, path)
    defaults = load_config(model, None)
    # Sections the example spells out in full must show the real defaults.
    for section in ("mqtt", "uplink", "outbox", "ingest"):
        if hasattr(defaults, section):
            assert getattr(loaded, section) == getattr(defaults, section), section
