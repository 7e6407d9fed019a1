"""Scanner configuration, embeddable in the agent's TOML as ``[scanner]``.

[scanner]
kind = "evdev"                       # "sim" | "evdev" | "serial"
aim = "auto"                         # AIM symbology prefix: "auto" | "expect" | "off"

[scanner.evdev]
device_glob = "/dev/input/by-id/usb-Honeywell*-event-kbd"

[scanner.serial]
port = "/dev/serial/by-id/usb-Honeywell_Imaging___Mobility_1950g_21270B2D54-if00"
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.scanner._framing import AimMode

#: USB vendor IDs of companies that make scanners and no keyboards (hardware.md 1.1):
#: Honeywell/Hand Held, Zebra/Symbol, Datalogic, Newland.
KNOWN_SCANNER_VENDORS = ("0c2e", "05e0", "05f9", "1eab")

#: Words that appear in scanners' device names and by-id names (hardware.md 1.2).
#: Deliberately no words that keyboard makers also use ("handheld", brands that sell both).
SCANNER_NAME_PATTERN = (
    r"(?i)barcode|scanner|imager|honeywell|metrologic|symbol|zebra|datalogic|newland"
    r"|opticon|zebex|netum|code.?reader"
)

_USB_ID = re.compile(r"[0-9a-f]{4}(:[0-9a-f]{4})?")

Terminator = Literal["enter", "kp_enter", "tab"]


class EvdevOptions(BaseModel):
    """HID keyboard-wedge scanners read through evdev."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Where to look for devices. Stable by-id names survive replugging; every match
    #: is opened, but grabbed only if it also passes the scanner check below.
    device_glob: str = "/dev/input/by-id/*-event-kbd"
    #: Allowlist of USB ids, "vvvv" (any product of that vendor) or "vvvv:pppp", hex.
    usb_ids: tuple[str, ...] = KNOWN_SCANNER_VENDORS
    #: Regex tried on the device name and on the by-id file name.
    name_pattern: str = SCANNER_NAME_PATTERN
    #: Treat every device matching ``device_glob`` as a scanner. Only for a glob that
    #: names your scanners and nothing else (e.g. a udev ``SYMLINK+="scanner%n"``).
    trust_glob: bool = False
    #: Keys that end a scan. Keys not listed are data ("\\r", "\\t").
    terminators: tuple[Terminator, ...] = ("enter", "kp_enter")
    #: End a scan after this much silence even without a terminator; 0 = never.
    idle_flush_ms: int = Field(default=100, ge=0)
    #: The keyboard layout the *scanner* is set to (key positions -> characters).
    keymap: Literal["us"] = "us"
    #: How often to look for newly plugged scanners.
    poll_ms: int = Field(default=1000, gt=0)

    @field_validator("usb_ids")
    @classmethod
    def _check_usb_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        ids = tuple(v.strip().lower() for v in value)
        bad = [v for v in ids if not _USB_ID.fullmatch(v)]
        if bad:
            raise ValueError(f"USB ids must look like '0c2e' or '0c2e:0b61', got {bad}")
        return ids

    @field_validator("name_pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class SerialOptions(BaseModel):
    """USB-serial (CDC-ACM) scanners: raw bytes plus a suffix, no keymap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Stable path, e.g. /dev/serial/by-id/usb-<Vendor>_<Model>_<serial>-if00.
    port: str = ""
    #: Ignored by CDC-ACM devices; matters for RS-232 scanners behind an adapter.
    baudrate: int = Field(default=9600, gt=0)
    #: Suffix that ends a scan, e.g. "\\r" or "\\r\\n"; "" = frame on idle pauses only.
    terminator: str = "\r"
    idle_flush_ms: int = Field(default=100, ge=0)
    #: How often to look for the port while it is unplugged.
    poll_ms: int = Field(default=1000, gt=0)

    @field_validator("terminator")
    @classmethod
    def _check_terminator(cls, value: str) -> str:
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("terminator must be single-byte characters") from None
        return value


class ScannerConfig(BaseModel):
    """Which scanner implementation to use and how to frame its scans."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sim", "evdev", "serial"] = "sim"
    #: "auto": strip "]" + letter + digit when present; "expect": every scan must
    #: start with an AIM ID (scans without one are flagged); "off": never strip.
    aim: AimMode = "auto"
    evdev: EvdevOptions = EvdevOptions()
    serial: SerialOptions = SerialOptions()

    @model_validator(mode="after")
    def _serial_needs_port(self) -> ScannerConfig:
        if self.kind == "serial" and not self.serial.port:
            raise ValueError("scanner.serial.port is required when kind = 'serial'")
        return self
