"""``canopy doctor``: check a kiosk the way IT would on the phone.

Each check ends in pass, warn or fail with one line a person can act on:
config valid, secrets private, every configured device present and answering
(through the drivers' own factories, so simulated devices count), the broker
reachable with this kiosk's own credentials, the clock in sync, room on the
state disk, and the outbox's backlog and age.

Secrets never reach the output: every line passes through ``redact`` with the
secret values read from the config file (passwords), whatever check produced it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import os
import shutil
import ssl
import subprocess
import time
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from agent.bridgeclock import clock_file, read_clock_offset
from agent.config import AgentConfig
from agent.outbox import Outbox, OutboxFault
from canopy.config import load_config
from canopy.errors import ConfigError
from canopy.kiosk_status import age_text
from canopy.mqtt import ConnectFailed, MqttConnection, stop, wait_connected
from drivers.faults import DeviceFault
from drivers.gpio import GpioConfig, probe_pin_factory
from drivers.printer import PrinterConfig, create_printer
from drivers.scale import ScaleConfig, open_scale
from drivers.scanner import ScannerConfig, open_scanner

Status = Literal["pass", "warn", "fail"]

DEVICE_TIMEOUT_S = 5.0
BROKER_TIMEOUT_S = 5.0
# Disk: below these the outbox (and so the kiosk) is at risk.
DISK_FAIL_BYTES = 200 << 20
DISK_WARN_BYTES = 1 << 30
# Outbox: events older than this and still unsent mean the uplink is stuck.
BACKLOG_WARN_S = 10 * 60
BACKLOG_FAIL_S = 24 * 3600
_SECRET_KEYS = ("password", "secret", "token", "pin", "private")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str


@dataclass(frozen=True)
class Report:
    config: Path | None
    kiosk: str | None  # "facility/device" once the config is read
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in ("pass", "warn", "fail")}

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "config": str(self.config) if self.config else None,
            "kiosk": self.kiosk,
            "checks": [asdict(c) for c in self.checks],
            "summary": self.counts(),
        }

    def table(self) -> str:
        where = f"kiosk {self.kiosk}" if self.kiosk else "kiosk"
        lines = [f"canopy doctor: {where} ({self.config or 'built-in defaults'})"]
        width = max((len(c.name) for c in self.checks), default=0)
        lines += [f"  {c.status.upper():4}  {c.name:{width}}  {c.message}" for c in self.checks]
        n = self.counts()
        lines.append(f"{n['fail']} failed, {n['warn']} warnings, {n['pass']} passed")
        return "\n".join(lines)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:  # shorter "secrets" would blank out ordinary words
            text = text.replace(secret, "********")
    return text


def _secret_values(raw: Any, key: str = "") -> Iterator[str]:
    if isinstance(raw, dict):
        for k, v in raw.items():
            yield from _secret_values(v, str(k))
    elif isinstance(raw, list):
        for v in raw:
            yield from _secret_values(v, key)
    elif isinstance(raw, str | int | float) and any(word in key.lower() for word in _SECRET_KEYS):
        yield str(raw)  # a number where a password belongs still is one


def _read_secrets(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        return list(_secret_values(tomllib.loads(path.read_text(encoding="utf-8"))))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # then load_config fails too, with a message that shows no values


async def run_doctor(
    path: Path | None,
    *,
    device_timeout: float = DEVICE_TIMEOUT_S,
    broker_timeout: float = BROKER_TIMEOUT_S,
    model: type[AgentConfig] = AgentConfig,
) -> Report:
    """Run every check against the agent config at ``path``.

    ``model`` is the config's shape; the default is the agent's own. Devices are
    found by type anywhere in it (``scanner``, a ``scale``, a list of printers).
    """
    secrets = _read_secrets(path)
    checks: list[Check] = []

    def add(check: Check) -> None:
        checks.append(Check(check.name, check.status, redact(check.message, secrets)))

    try:
        config = load_config(model, path)
    except ConfigError as exc:
        add(Check("config", "fail", str(exc).replace("\n  ", "; ")))
        return Report(path, None, tuple(checks))
    kiosk = f"{config.kiosk.facility}/{config.kiosk.device}"
    room = f", room {config.kiosk.room}" if config.kiosk.room else ""
    add(Check("config", "pass", f"valid: facility {config.kiosk.facility},"
                                f" device {config.kiosk.device}{room}"))
    if path is not None:
        add(_secrets_check(path, config))
    simulated_ok = bool(getattr(config.kiosk, "simulated_devices", False))
    for name, kind, device_config in _devices(config):
        if getattr(device_config, "kind", None) == "sim" and not simulated_ok:
            # A floor kiosk recording made-up weights and printing nowhere must not say PASS.
            message = (f"simulated {kind} on a production kiosk: configure the real {kind} "
                       f"({name}.kind), or re-enroll with --simulated-devices if this is a test kiosk")
            if kind == "gpio":
                # Still say which pin factory real pins would get: that is what IT needs
                # to know before switching kind (issue 14).
                message += f" ({probe_pin_factory(device_config)})"
            add(Check(name, "fail", message))
            continue
        add(await _guarded(name, _device_check(name, kind, device_config, device_timeout)))
    add(await _guarded("broker", _broker_check(config, broker_timeout)))
    add(_clock_check())
    add(_bridge_clock_check(config.outbox_path))
    add(_disk_check(config.kiosk.state_dir))
    add(await _guarded("outbox", _outbox_check(config)))
    return Report(path, kiosk, tuple(checks))


async def _guarded(name: str, check: Any) -> Check:
    """A check that crashes is a failed check, never a traceback."""
    try:
        result: Check = await check
    except Exception as exc:
        return Check(name, "fail", f"check crashed: {type(exc).__name__}: {exc}")
    return result


# --- config and secrets ----------------------------------------------------------


def _secrets_check(path: Path, config: AgentConfig) -> Check:
    files = [path]
    if config.mqtt.tls is not None and config.mqtt.tls.key_file is not None:
        files.append(config.mqtt.tls.key_file)
    workers = getattr(getattr(config, "workers", None), "file", None)
    if isinstance(workers, Path):
        files.append(workers)  # PIN and badge hashes
    loose = []
    for file in files:
        with contextlib.suppress(OSError):
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                loose.append(f"{file} is mode {mode:04o}")
    if loose:
        return Check("secrets", "warn", "readable by others: " + "; ".join(loose) + " (chmod 600)")
    return Check("secrets", "pass", f"{len(files)} secret file(s) private (0600)")


# --- devices ---------------------------------------------------------------------

DeviceKind = Literal["scanner", "scale", "printer", "gpio"]


def _devices(config: AgentConfig) -> list[tuple[str, DeviceKind, Any]]:
    """Every device config in the agent's config, wherever the agent keeps it."""
    found: list[tuple[str, DeviceKind, Any]] = []
    for field_name in type(config).model_fields:
        value = getattr(config, field_name)
        items: list[tuple[str, Any]] = [(field_name, value)]
        if isinstance(value, list | tuple):
            items = [(f"{field_name}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            items = [(f"{field_name}.{k}", v) for k, v in value.items()]
        for name, item in items:
            if isinstance(item, ScannerConfig):
                found.append((name, "scanner", item))
            elif isinstance(item, ScaleConfig):
                found.append((name, "scale", item))
            elif isinstance(item, PrinterConfig):
                found.append((name, "printer", item))
            elif isinstance(item, GpioConfig):
                found.append((name, "gpio", item))
    return found


async def _device_check(name: str, kind: DeviceKind, config: Any, timeout: float) -> Check:
    if kind == "scanner":
        return await _scanner_check(name, config, timeout)
    if kind == "scale":
        return await _scale_check(name, config, timeout)
    if kind == "gpio":
        return _gpio_check(name, config)
    return await _printer_check(name, config, timeout)


def _fault_text(fault: DeviceFault) -> str:
    return fault.message + (f" ({fault.detail})" if fault.detail else "")


async def _scanner_check(name: str, config: ScannerConfig, timeout: float) -> Check:
    scanner = open_scanner(config, name=name)
    reader = asyncio.ensure_future(anext(aiter(scanner.scans())))  # starts the device search
    try:
        deadline = time.monotonic() + timeout
        # The scanner reports through properties, not an event: poll briefly.
        while not scanner.connected and scanner.fault is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if scanner.connected:
            what = "simulated scanner" if config.kind == "sim" else f"{config.kind} scanner connected"
            return Check(name, "pass", what)
        if scanner.fault is not None:
            status: Status = "warn" if "used by another program" in scanner.fault.message else "fail"
            hint = " (the running agent holds it?)" if status == "warn" else ""
            return Check(name, status, _fault_text(scanner.fault) + hint)
        return Check(name, "fail", f"no answer from the {config.kind} scanner within {timeout:g} s")
    finally:
        reader.cancel()
        await scanner.aclose()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await reader


async def _scale_check(name: str, config: ScaleConfig, timeout: float) -> Check:
    quick = config.model_copy(update={"stable_timeout": min(config.stable_timeout, timeout)})
    scale = open_scale(quick)
    try:
        await scale.wait_connected(timeout)
        reading = await scale.weigh()
    except DeviceFault as fault:
        return Check(name, "fail", _fault_text(fault))
    finally:
        await scale.aclose()
    shown = f"{reading.value} {reading.unit}"
    sim = " (simulated)" if config.kind == "sim" else ""
    if reading.value is not None and reading.value == 0:
        return Check(name, "pass", f"stable zero ({shown}){sim}")
    return Check(name, "warn", f"stable at {shown}, not zero: clear the platter and zero the scale{sim}")


def _gpio_check(name: str, config: GpioConfig) -> Check:
    """Which gpiozero pin factory the agent gets here (lgpio on a Pi 4 or Pi 5)."""
    try:
        return Check(name, "pass", probe_pin_factory(config))
    except DeviceFault as fault:
        return Check(name, "fail", _fault_text(fault))


async def _printer_check(name: str, config: PrinterConfig, timeout: float) -> Check:
    printer = create_printer(config)
    try:
        status = await asyncio.wait_for(printer.status(), timeout)
    except TimeoutError:
        return Check(name, "fail", f"printer did not answer within {timeout:g} s")
    finally:
        await printer.aclose()
    detail = f" ({status.detail})" if status.detail else ""
    if status.faults:
        return Check(name, "fail", f"{status.message}{detail}")
    if not status.confirmed:
        return Check(name, "warn", f"{status.message}: labels cannot be confirmed{detail}")
    if not status.media:
        return Check(name, "warn", f"ready, but it reports no label roll{detail}")
    return Check(name, "pass", f"ready, roll {status.media}{detail}")


# --- broker ------------------------------------------------------------------------


async def _broker_check(config: AgentConfig, timeout: float) -> Check:
    mqtt = config.mqtt
    where = f"{mqtt.host}:{mqtt.port}"
    who = mqtt.username or "(anonymous)"
    settings = mqtt.model_copy(update={"connect_timeout_s": min(mqtt.connect_timeout_s, timeout)})
    try:
        # Same client id, session expiry and clean-start flag as the agent, and
        # manual acks: if the agent is running it is disconnected once and
        # resumes its session; anything queued for it is redelivered to it.
        dropped: list[str] = []
        conn = MqttConnection(settings, client_id=config.kiosk.device, manual_ack=True,
                              on_disconnect=dropped.append)
    except (OSError, ssl.SSLError) as exc:
        name = getattr(exc, "filename", None)
        return Check("broker", "fail", f"cannot load the TLS files{f' ({name})' if name else ''}: {exc}")
    task = asyncio.create_task(conn.run(), name="doctor-mqtt")
    try:
        await wait_connected(conn, task, timeout + 1, dropped)
    except ConnectFailed as exc:
        return Check("broker", "fail", _broker_hint(str(exc), who))
    finally:
        await stop(conn, task)
    tls = "no TLS"
    if mqtt.tls is not None:
        tls = "TLS with client certificate" if mqtt.tls.cert_file else "TLS"
    return Check("broker", "pass", f"logged in to {where} as {who} ({tls})")


def _broker_hint(reason: str, who: str) -> str:
    if "refused the connection" in reason:
        return f"{reason}: login {who} rejected (not enrolled at this broker, or it was not restarted since)"
    if "Connection refused" in reason:
        return f"{reason} (is the broker running, and is this its port?)"
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return f"{reason} (the broker's certificate is not from this facility's CA, or host name differs)"
    return reason


# --- clock ----------------------------------------------------------------------------

_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
_UNSYNCED = "events keep their order (seq), but their times may be off"


def _clock_check() -> Check:
    now = dt.datetime.now(dt.UTC)
    if now.year < 2024:
        return Check("clock", "fail", f"clock not set (it says {now:%Y-%m-%d}): check NTP / network")
    try:
        done = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                              capture_output=True, text=True, timeout=5)
        answer = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        answer = ""
    if answer == "yes":
        return Check("clock", "pass", "synchronised (timedatectl)")
    if answer == "no":
        return Check("clock", "warn", f"not synchronised (timedatectl): {_UNSYNCED}")
    state = _adjtimex_state()
    if state is None:
        return Check("clock", "warn", "sync state unknown (no timedatectl or adjtimex)")
    if state == _TIME_ERROR:
        return Check("clock", "warn", f"not synchronised (kernel adjtimex): {_UNSYNCED}")
    return Check("clock", "pass", "synchronised (kernel adjtimex)")


# The bridge holds records dated further ahead than this (its max_clock_skew_s default).
BRIDGE_SKEW_S = 300.0


def _bridge_clock_check(outbox_path: Path) -> Check:
    """This kiosk's clock against the bridge's, as the last ack that carried the bridge's
    time showed it (the uplink keeps it next to the outbox)."""
    kept = read_clock_offset(clock_file(outbox_path))
    if kept is None:
        return Check("bridge-clock", "warn", "not compared yet (no answer from the bridge with its"
                                             " time has reached this kiosk)")
    offset, measured = kept
    words = f"{age_text(abs(offset))} {'ahead of' if offset > 0 else 'behind'} the bridge's"
    when = f"(compared {age_text(max(0.0, time.time() - measured))} ago)"
    if abs(offset) > BRIDGE_SKEW_S:
        held = "; its records are held at the bridge for a person to confirm" if offset > 0 else ""
        return Check("bridge-clock", "fail", f"this kiosk's clock is {words} {when}: fix its time"
                                             f" sync{held}")
    return Check("bridge-clock", "pass", f"{words} {when}, within {age_text(BRIDGE_SKEW_S)}")


def _adjtimex_state() -> int | None:
    """The kernel's clock state, read-only (``modes = 0``); None where unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    timex = ctypes.create_string_buffer(512)  # zeroed, larger than struct timex anywhere
    state = int(adjtimex(timex))
    return None if state < 0 else state


# --- disk and outbox ------------------------------------------------------------------


def _disk_check(state_dir: Path) -> Check:
    probe = state_dir.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    free = f"{usage.free / (1 << 30):.1f} GiB free of {usage.total / (1 << 30):.1f} GiB at {state_dir}"
    if usage.free < DISK_FAIL_BYTES:
        return Check("disk", "fail", f"{free}: the outbox may not be able to save scans")
    if usage.free < DISK_WARN_BYTES or usage.free < usage.total / 10:
        return Check("disk", "warn", f"{free}: free space soon")
    return Check("disk", "pass", free)


@contextlib.contextmanager
def _as_owner_of(path: Path) -> Iterator[None]:
    """Open the agent's files as their owner: root creating the -wal/-shm files would
    leave files the agent's user cannot open."""
    st = path.stat()
    switch = os.geteuid() == 0 and st.st_uid != 0
    if switch:
        os.setegid(st.st_gid)
        os.seteuid(st.st_uid)
    try:
        yield
    finally:
        if switch:
            os.seteuid(0)
            os.setegid(0)


async def _outbox_check(config: AgentConfig) -> Check:
    path = config.outbox_path
    if not path.exists():
        return Check("outbox", "warn", f"no outbox at {path} yet (the agent has not run here)")
    with _as_owner_of(path):
        try:
            outbox = await Outbox.open(path, facility=config.kiosk.facility, device=config.kiosk.device)
        except OutboxFault as exc:
            return Check("outbox", "fail", str(exc))
        try:
            backlog = await outbox.backlog()
        finally:
            await outbox.close()
    settled = f"{backlog.stored} stored, {backlog.accepted} accepted, {backlog.rejected} rejected"
    age = backlog.oldest_age_s()
    if backlog.pending == 0 or age is None:
        status: Status = "warn" if backlog.rejected else "pass"
        extra = " (rejections need a correction)" if backlog.rejected else ""
        return Check("outbox", status, f"nothing unsent ({settled}){extra}")
    text = f"{backlog.pending} unsent, oldest {age_text(age)} ({settled})"
    if age > BACKLOG_FAIL_S:
        return Check("outbox", "fail", f"{text}: events are not reaching the bridge")
    if age > BACKLOG_WARN_S:
        return Check("outbox", "warn", f"{text}: the uplink is behind")
    return Check("outbox", "pass", text)


