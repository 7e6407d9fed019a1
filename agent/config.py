"""The agent's one TOML file (see docs/agent.example.toml).

Defaults run a kiosk with simulated devices against a broker on localhost, so
`canopy agent` works out of the box; a real kiosk's file is written by
`canopy provision` (later work) and names its facility, device and hardware.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.uplink import UplinkSettings
from canopy.mqtt import MqttSettings
from canopy.topics import NAME_PATTERN
from drivers.gpio import GpioConfig
from drivers.printer import PrinterConfig
from drivers.scale import ScaleConfig
from drivers.scanner import ScannerConfig
from kiosk_ui.panels import DEFAULT_PANEL, PANELS, Panel

WorkerId = Annotated[str, Field(min_length=1, max_length=64)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSettings(_Section):
    facility: Annotated[str, Field(pattern=NAME_PATTERN)] = "CA-DEMO-0001"
    device: Annotated[str, Field(pattern=NAME_PATTERN)] = "kiosk-01"
    room: str | None = Field(default=None, description="room the kiosk hangs in, if fixed")
    state_dir: Path = Path("var/agent")
    # Which state ids a scan must look like until the facility profile arrives
    # from the bridge (the profile's tag_format wins once it is cached).
    tag_format: Literal["metrc", "biotrack", "any"] = "any"
    # Headless scan stations only: with no [workers] file there is nobody to sign
    # in, and scans are attributed to this account. A kiosk with a workers file
    # never uses it: every event carries the worker who is signed in.
    operator: WorkerId = "demo-worker"
    # Set by `canopy provision device --simulated-devices` (a test kiosk) and the demo:
    # otherwise a simulated scanner, scale or printer is a failure in `canopy doctor`.
    simulated_devices: bool = False


class WorkersSettings(_Section):
    """Who may sign in: a JSON file of workers with hashed PINs and badges.

    ``canopy agent add-worker`` writes it. Once the kiosk has received the
    facility's roster from the bridge (``canopy bridge add-worker``), the roster
    is used instead, and the file only serves a kiosk that was never online.
    Without a file the kiosk is a headless scan station (see ``kiosk.operator``).
    """

    file: Path | None = None
    idle_sign_out_s: Annotated[float, Field(gt=0)] = 120.0
    pin_attempts: Annotated[int, Field(ge=1, le=20)] = 5  # wrong PINs in a row before a lockout
    lockout_s: Annotated[float, Field(ge=0)] = 300.0
    badge_attempts: Annotated[int, Field(ge=1, le=50)] = 5  # unknown badges in a row before a pause
    badge_pause_s: Annotated[float, Field(ge=0)] = 30.0


class PanelSize(_Section):
    """A panel not in ``kiosk_ui.panels.PANELS``: its pixels as mounted and pixels per millimetre."""

    width: Annotated[int, Field(ge=320, le=7680)]
    height: Annotated[int, Field(ge=320, le=7680)]
    px_per_mm: Annotated[float, Field(gt=1, le=40)]


class UiSettings(_Section):
    """The local kiosk page. It only ever listens on 127.0.0.1."""

    enabled: bool = True
    port: Annotated[int, Field(ge=0, le=65535)] = 8080  # 0: any free port (tests, benchmarks)
    sim_panel: bool = False  # the demo's simulator panel (scans, weights, printed labels)
    # The touch panel: a name from kiosk_ui.panels.PANELS (`panel = "touch-display"`), or
    # its size (`panel = { width = 1024, height = 600, px_per_mm = 6.0 }`). The page sizes
    # its targets and text in millimetres of this panel; `canopy provision install` starts
    # the kiosk browser at its size.
    panel: str | PanelSize = DEFAULT_PANEL

    @field_validator("panel")
    @classmethod
    def _known_panel(cls, value: str | PanelSize) -> str | PanelSize:
        if isinstance(value, str) and value not in PANELS:
            raise ValueError(f"unknown panel {value!r}: use one of {', '.join(PANELS)},"
                             " or give its size as {{ width = …, height = …, px_per_mm = … }}")
        return value

    @property
    def panel_spec(self) -> Panel:
        if isinstance(self.panel, str):
            return PANELS[self.panel]
        return Panel(self.panel.width, self.panel.height, self.panel.px_per_mm, "explicit size")


class FloorSettings(_Section):
    """How the floor flows behave where facilities differ."""

    # auto: a stable weight from a registered scale is logged at once;
    # pedal: it waits for the foot pedal (or a touch on "Save weight").
    confirm_weight: Literal["auto", "pedal"] = "auto"
    # Offered as buttons where a waste reason needs a note: no keyboard on the floor.
    waste_notes: tuple[Annotated[str, Field(min_length=1, max_length=120)], ...] = (
        "Failed inspection", "Mold", "Pests", "Damaged", "Male plant",
    )
    mixed_materials: tuple[Annotated[str, Field(min_length=1, max_length=120)], ...] = (
        "Soil", "Sawdust", "Kitty litter",
    )
    # Offered where a package adjustment reason needs a note.
    adjust_notes: tuple[Annotated[str, Field(min_length=1, max_length=120)], ...] = (
        "Moisture loss", "Weighed wrong at packaging", "Entered wrong at packaging", "Spilled",
        "Damaged",
    )
    # A worker who is not a supervisor corrects a record only with a supervisor signing in too.
    corrections_need_supervisor: bool = True
    correction_reasons: tuple[Annotated[str, Field(min_length=1, max_length=120)], ...] = (
        "Rejected by the state", "Wrong plant", "Wrong room", "Wrong weight", "Scanned twice",
    )
    # Why a supervisor takes a rejection off the "to fix" list without a correction.
    dismissal_reasons: tuple[Annotated[str, Field(min_length=1, max_length=120)], ...] = (
        "Entered in the state system by the office", "The state confirmed it has it",
        "Duplicate of another record",
    )


class ScaleSettings(ScaleConfig):
    """The ``[scale]`` section: how to reach the scale (``ScaleConfig``), plus the kiosk's
    daily zero and check-weight test (domain.md §2.6 "Scale legality")."""

    # The certified test weight kept at the kiosk, and how far a reading may be off
    # (for the empty pan and for the test weight) before the check fails.
    check_weight: Annotated[Decimal, Field(gt=0, max_digits=12)] = Decimal("500")
    check_unit: Literal["g", "kg", "lb", "oz"] = "g"
    check_tolerance: Annotated[Decimal, Field(ge=0, max_digits=12)] = Decimal("0.2")


class OutboxSettings(_Section):
    retention_days: Annotated[float, Field(gt=0)] = 30.0
    prune_interval_s: Annotated[float, Field(gt=0)] = 3600.0


class AgentConfig(_Section):
    kiosk: KioskSettings = KioskSettings()
    mqtt: MqttSettings = MqttSettings()
    uplink: UplinkSettings = UplinkSettings()
    outbox: OutboxSettings = OutboxSettings()
    workers: WorkersSettings = WorkersSettings()
    ui: UiSettings = UiSettings()
    floor: FloorSettings = FloorSettings()
    scanner: ScannerConfig = ScannerConfig()
    scale: ScaleSettings = ScaleSettings()
    printer: PrinterConfig = PrinterConfig()
    gpio: GpioConfig = GpioConfig()

    @property
    def outbox_path(self) -> Path:
        return self.kiosk.state_dir / "outbox.db"

    @property
    def floor_path(self) -> Path:
        """Cached reference data and what this kiosk recorded since (a cache, not the record)."""
        return self.kiosk.state_dir / "floor.db"

    @property
    def signin_file(self) -> Path:
        """Wrong-PIN and unknown-badge counts, lockouts and sign-in alerts (agent/lockouts.py)."""
        return self.kiosk.state_dir / "signin.json"

    @property
    def sim_socket(self) -> Path:
        return self.kiosk.state_dir / "sim.sock"

    @property
    def ui_url_file(self) -> Path:
        """Where the running agent writes its page's URL (the kiosk browser and tests read it)."""
        return self.kiosk.state_dir / "ui.url"

    @property
    def printer_config(self) -> PrinterConfig:
        """The printer config with a simulated printer's relative folder under the state dir."""
        printer = self.printer
        if printer.kind == "sim" and not printer.out_dir.is_absolute():
            return printer.model_copy(update={"out_dir": self.kiosk.state_dir / printer.out_dir})
        return printer
