"""The bridge's one TOML file (see docs/bridge.example.toml)."""

from __future__ import annotations

import socket
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bridge.ingest import IngestSettings
from canopy.mqtt import MqttSettings


class BridgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Each bridge process needs its own MQTT client id; the shared subscription
    # group (ingest.shared_group) is what makes them one service.
    id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        default_factory=lambda: f"bridge-{socket.gethostname()}"
    )


class LedgerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        default="sqlite:///var/bridge/ledger.db",
        pattern=r"^(sqlite:///.+|postgres(ql)?://.*)$",
        description="sqlite:///relative/or//absolute/path.db or postgresql://user@host/db",
    )


class BridgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bridge: BridgeSettings = BridgeSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    ledger: LedgerSettings = LedgerSettings()
