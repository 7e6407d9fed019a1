"""Scale configuration, as embedded in the agent's TOML: one model, typos rejected."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.scale._dialects import dialect
from drivers.scale._frames import FlowControl, Parity, ProtocolName, SerialSettings


class ScaleIdentity(BaseModel):
    """Which certified device this is, from the scale's plate and paperwork.

    Kept with every weight so a record can show the NTEP certificate, the
    inspector's seal and the state registration of the scale that weighed it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default="scale", min_length=1, description="Canopy's name for this scale")
    model: str = ""
    serial: str = ""
    ntep_coc: str | None = Field(default=None, description="NTEP Certificate of Conformance number")
    seal_number: str | None = Field(default=None, description="security seal on the calibration access")
    registration_number: str | None = Field(
        default=None, description="weights & measures registration (state/county)"
    )
    registration_expires: date | None = None

    def registration_expired(self, today: date) -> bool:
        """True when an expiry date is known and ``today`` is past it."""
        return self.registration_expires is not None and today > self.registration_expires


class ScaleConfig(BaseModel):
    """How to reach one scale. ``kind`` picks the implementation:

    - ``sim``: a simulated scale speaking ``protocol`` on a pty, read by the
      real serial driver (what the demo and tests use);
    - ``serial``: a real scale on ``port``.

    Serial settings left as ``None`` take the protocol's usual defaults
    (MT-SICS 9600 8N1 Xon/Xoff, Toledo 8217 9600 7E1, Ohaus 9600 8N1,
    A&D 2400 7E1, SMA 9600 8N1, NCI 9600 7E1). They must match the scale's menu.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sim", "serial"] = "sim"
    protocol: ProtocolName = "mt-sics"
    port: str | None = Field(
        default=None,
        description="stable path, e.g. /dev/serial/by-id/usb-FTDI_FT232R_A10K1ABC-if00-port0",
    )
    baudrate: int | None = Field(default=None, gt=0)
    bytesize: Literal[7, 8] | None = None
    parity: Parity | None = None
    stopbits: Literal[1, 2] | None = None
    flow_control: FlowControl | None = None

    mode: Literal["poll", "continuous"] = Field(
        default="poll",
        description="poll: ask for a weight every poll_interval while someone listens; "
        "continuous: the scale streams frames (asked to with SIR/CP/R where it has such a command)",
    )
    poll_interval: float = Field(default=0.25, gt=0, le=60)
    listen_only: bool = Field(
        default=False,
        description="the scale only transmits (no wire to its RX, or commands locked): "
        "no commands are sent, tare/zero are refused",
    )
    unit: Literal["g", "kg", "lb", "oz"] | None = Field(
        default=None, description="only for toledo-8217, whose frames carry no unit"
    )

    reply_timeout: float = Field(default=2.0, gt=0, le=60, description="seconds to wait for an answer")
    stable_timeout: float = Field(
        default=10.0, gt=0, le=600, description="seconds to wait for a stable weight"
    )
    stable_repeats: int = Field(
        default=2,
        ge=1,
        le=20,
        description="equal stable readings in a row before next_stable() accepts one (debounce)",
    )
    ack_window: float = Field(
        default=0.3,
        ge=0,
        le=10,
        description="seconds to wait for a refusal after a command the protocol does not acknowledge",
    )
    reconnect_interval: float = Field(default=1.0, gt=0, le=60)

    identity: ScaleIdentity = ScaleIdentity()

    @model_validator(mode="after")
    def _consistent(self) -> ScaleConfig:
        if self.kind == "serial" and not self.port:
            raise ValueError("a serial scale needs port, e.g. /dev/serial/by-id/usb-FTDI_…-if00-port0")
        if self.protocol == "toledo-8217" and self.unit is None:
            raise ValueError(
                "toledo-8217 frames carry no unit: set unit to what the scale shows (g, kg, lb, oz)"
            )
        if self.protocol != "toledo-8217" and self.unit is not None:
            raise ValueError(f"unit is only for toledo-8217; {self.protocol} reports its unit")
        if self.listen_only and self.mode != "continuous":
            raise ValueError("listen_only needs mode = 'continuous': nothing would ask for a weight")
        return self

    @property
    def serial_settings(self) -> SerialSettings:
        """The line settings to open the port with: explicit values over protocol defaults."""
        d = dialect(self.protocol).serial
        return SerialSettings(
            baudrate=self.baudrate if self.baudrate is not None else d.baudrate,
            bytesize=self.bytesize if self.bytesize is not None else d.bytesize,
            parity=self.parity if self.parity is not None else d.parity,
            stopbits=self.stopbits if self.stopbits is not None else d.stopbits,
            flow_control=self.flow_control if self.flow_control is not None else d.flow_control,
        )
