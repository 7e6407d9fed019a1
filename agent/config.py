"""The agent's one TOML file (see docs/agent.example.toml).

Defaults run a kiosk with simulated devices against a broker on localhost, so
`canopy agent` works out of the box; a real kiosk's file is written by
`canopy provision` (later work) and names its facility, device and hardware.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.uplink import UplinkSettings
from canopy.mqtt import MqttSettings
from canopy.topics import NAME_PATTERN
from drivers.scanner import ScannerConfig


class KioskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facility: Annotated[str, Field(pattern=NAME_PATTERN)] = "CA-DEMO-0001"
    device: Annotated[str, Field(pattern=NAME_PATTERN)] = "kiosk-01"
    room: str | None = Field(default=None, description="room the kiosk hangs in, if fixed")
    state_dir: Path = Path("var/agent")
    # Which state ids a scan must look like: Metrc UIDs (24 alphanumerics),
    # BioTrack ids (16 digits), or either.
    tag_format: Literal["metrc", "biotrack", "any"] = "any"
    # Until worker sign-in exists, events are attributed to this operator.
    operator: Annotated[str, Field(min_length=1, max_length=64)] = "demo-worker"


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_days: Annotated[float, Field(gt=0)] = 30.0
    prune_interval_s: Annotated[float, Field(gt=0)] = 3600.0


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kiosk: KioskSettings = KioskSettings()
    mqtt: MqttSettings = MqttSettings()
    uplink: UplinkSettings = UplinkSettings()
    outbox: OutboxSettings = OutboxSettings()
    scanner: ScannerConfig = ScannerConfig()

    @property
    def outbox_path(self) -> Path:
        return self.kiosk.state_dir / "outbox.db"

    @property
    def sim_socket(self) -> Path:
        return self.kiosk.state_dir / "sim.sock"
