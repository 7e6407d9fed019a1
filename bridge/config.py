"""The bridge's one TOML file (see docs/bridge.example.toml)."""

from __future__ import annotations

import ipaddress
import socket
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bridge.ingest import IngestSettings
from bridge.state.registry import SYSTEMS, SystemName
from canopy.config import TimeZoneName
from canopy.mqtt import MqttSettings
from canopy.refdata import LotSource, RoomKind, Scale
from canopy.topics import NAME_PATTERN


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
    # PostgreSQL: how long a bridge's hold on a licence lasts without renewal, so how
    # soon another bridge takes over the licences of one that died (at least 1.5 x
    # the longest timeout_s + 1 s: no call may outlive the lease it started under).
    lease_s: Annotated[float, Field(ge=1.0, le=600.0)] = 10.0
    # How often the ledger's open outages are read for the kiosks' state-system band
    # (the bridge status publishes again only when one changed).
    state_status_interval_s: Annotated[float, Field(gt=0, le=600.0)] = 5.0


class ConsoleSettings(BaseModel):
    """Where the compliance console listens (``canopy console serve``, a process of its own
    that reads this file); its command-line flags override these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str | None = Field(default=None, description="default: 127.0.0.1, or every address with TLS")
    port: Annotated[int, Field(ge=1, le=65535)] = 8470
    cert_file: Path | None = Field(default=None, description="TLS certificate (PEM) to serve HTTPS")
    key_file: Path | None = Field(default=None, description="its private key (PEM)")
    # Behind a reverse proxy every request comes from the proxy: from these addresses (or
    # networks) only, the client's address is read from X-Forwarded-For (sign-in throttle, log).
    trusted_proxies: tuple[str, ...] = Field(default=(), description="e.g. [\"127.0.0.1\"]")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/24)"
                                 ) from None
        return value


class MetrcCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor_key: SecretStr
    user_key: SecretStr


class BioTrackCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str
    password: SecretStr
    ubi: str = Field(description="the company id BioTrack logs in with")
    location: str | None = Field(default=None, description="location licence some writes carry")
    training: bool = False


class Deadline(BaseModel):
    """How long an event may wait before the state system must have it.

    California (CDFA §8402/§8405, the Trellis document): changes in disposition
    within three business days; a state that says 24 hours sets ``hours = 24``.
    Business days skip weekends and the profile's ``holidays``; the deadline falls
    at the end (local midnight) of the last business day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    business_days: Annotated[int, Field(ge=1, le=60)] | None = None
    hours: Annotated[float, Field(gt=0, le=24 * 60)] | None = None
    holidays: list[date] = Field(default_factory=list, description="dates that are not business days")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.business_days is None) == (self.hours is None):
            raise ValueError("give the deadline as business_days or as hours, not both")
        return self

    def due(self, happened: datetime, zone: ZoneInfo) -> datetime:
        """When an event that happened at ``happened`` (aware) is overdue."""
        if self.hours is not None:
            return happened + timedelta(hours=self.hours)
        day, left = happened.astimezone(zone).date(), self.business_days or 0
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in self.holidays:
                left -= 1
        return datetime.combine(day + timedelta(days=1), time(), zone)

    def describe(self) -> str:
        return f"{self.hours:g} h" if self.hours is not None else f"{self.business_days} business days"


# California's: three business days (weekends not counted).
DEFAULT_DEADLINE = Deadline(business_days=3)


class FacilityProfile(BaseModel):
    """One licence the bridge reports for: which state system, how, and its rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    license: Annotated[str, Field(pattern=NAME_PATTERN)]
    # As the licence names the business: shown on the console's pages and exports.
    name: Annotated[str, Field(max_length=120)] = ""
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    system: SystemName
    base_url: str
    timezone: TimeZoneName = Field(
        description="business dates are this zone's dates, e.g. America/Los_Angeles"
    )
    metrc: MetrcCredentials | None = None
    biotrack: BioTrackCredentials | None = None
    # Rules and pacing.
    batch_size: Annotated[int, Field(ge=1, le=500)] = 10  # Metrc refuses > 10 objects a call by default
    flush_interval_s: Annotated[float, Field(gt=0)] = 1.0
    requests_per_s: Annotated[float, Field(gt=0)] = 5.0  # writes (Metrc limits none; be polite)
    # The licence's GET budget (state-apis.md §2.7: Metrc, 50/s and 10 at once per facility).
    reads_per_s: Annotated[float, Field(gt=0)] = 50.0
    reads_at_once: Annotated[int, Field(ge=1)] = 10
    timeout_s: Annotated[float, Field(gt=0)] = 30.0
    witness_required_for_waste: bool = False
    # What a new immature lot names as its source; unset: the state's rule (canopy.refdata.LOT_SOURCES).
    lot_source: LotSource | None = None
    # A correction by a worker who is not a supervisor needs a supervisor's sign-off
    # (the kiosk's rule, agent/config.py); the bridge checks it too (bridge/vetting.py).
    corrections_need_supervisor: bool = True
    # A kiosk clock further ahead than this is wrong: such events are held for a
    # person to confirm, and `canopy bridge fleet` flags the kiosk.
    max_clock_skew_s: Annotated[float, Field(gt=0)] = 300.0
    outage_alert_hours: Annotated[float, Field(gt=0)] = 72.0  # CA: notify the state after 72 h
    # How long a record may wait for the state system (the overdue register).
    report_deadline: Deadline = DEFAULT_DEADLINE
    refsync_interval_s: Annotated[float, Field(gt=0)] = 300.0
    scales: list[Scale] = Field(default_factory=list, description="registered legal-for-trade scales")
    # What a room is for where the state's location types cannot tell (Metrc: a room for
    # plants may be vegetative or flowering), by room name: e.g. {"Flower Room A" = "flowering"}.
    room_kinds: dict[str, RoomKind] = Field(default_factory=dict)
    # Who may sign in at this facility's kiosks, published to all of them (bridge/roster.py).
    workers_file: Path | None = Field(
        default=None, description="the facility's workers (JSON), written by `canopy bridge add-worker`")

    @field_validator("workers_file")
    @classmethod
    def _workers_file(cls, value: Path | None) -> Path | None:
        if value is not None and (str(value).strip() == "" or value.is_dir()):
            raise ValueError(f"{str(value)!r} is a directory, not a workers file (e.g. …/workers.json)")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        problem = SYSTEMS[self.system].credentials_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def tag_format(self) -> SystemName:
        """Each state system's tags have their own shape, named after the system."""
        return self.system


class BridgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bridge: BridgeSettings = BridgeSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    ledger: LedgerSettings = LedgerSettings()
    console: ConsoleSettings = ConsoleSettings()
    facilities: list[FacilityProfile] = Field(
        default_factory=list, description="the licences this bridge reports for ([[facilities]])"
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        licenses = [f.license for f in self.facilities]
        if len(set(licenses)) != len(licenses):
            raise ValueError("a licence is listed twice in [[facilities]]")
        return self
