"""Enroll a kiosk or a bridge: identity, broker login, certificate, config, as one bundle.

The broker `canopy provision broker` configures takes the login from the client
certificate (its CN is the device or bridge id) and does not use passwords. A
password is still issued with each identity for a site that runs its own broker
with a password file: the plaintext exists only in the bundle (inside the 0600
config file), the registry keeps its hash.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.config import AgentConfig
from agent.users import WorkerFileError
from agent.users import read_file as read_workers
from canopy.config import validate_config
from canopy.errors import UserError
from canopy.topics import FLEET_CERT, FLEET_KEY, fleet_login, reserved_name
from provisioning import _layout as layout
from provisioning._acl import logins
from provisioning._bundle import Bundle, BundleFile, make_bundle
from provisioning._passwd import hash_password, new_password
from provisioning._pki import issue_client
from provisioning._registry import FacilityCA, Identity, Role
from provisioning._toml import dumps
from provisioning._udev import RULES_NAME, rules_bytes
from provisioning._units import AGENT_UNIT, BRIDGE_UNIT, BROWSER_UNIT, CONSOLE_UNIT, unit_bytes

if TYPE_CHECKING:  # a kiosk's tools (doctor, enrol) never load bridge code
    from bridge.config import BridgeConfig

ScannerKind = Literal["sim", "evdev", "serial"]


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int = 8883


def _check_name(ca: FacilityCA, name: str, role: Role, replace: bool) -> None:
    """Fail before anything is generated: bad id, already enrolled, or a login clash."""
    why = reserved_name(name)
    if why is not None:
        raise UserError(f"{role} id {name!r} cannot be used: {why}")
    existing = ca.registry.identities.get(name)
    if existing is not None and existing.role != role:
        raise UserError(f"{name} is enrolled as a {existing.role}; pick another id")
    if existing is not None and not replace:
        raise UserError(
            f"{name} is already enrolled ({existing.enrolled:%Y-%m-%d}); use --replace to issue"
            " new credentials (the old ones stop working at the next broker reload)"
        )
    wanted = {name, fleet_login(name)} if role == "bridge" else {name}
    clash = sorted(wanted & set(logins(i for i in ca.active() if i.name != name)))
    if clash:
        raise UserError(f"login {clash[0]!r} is already used by another enrolled identity")


def _identity(
    ca: FacilityCA, name: str, role: Role, room: str | None, password: str
) -> tuple[Identity, BundleFile, BundleFile]:
    cert = issue_client(ca.ca, name, ca.facility)
    identity = Identity(
        name=name,
        role=role,
        facility=ca.facility,
        room=room,
        password_hash=hash_password(password),
        cert_serial=cert.cert.serial_number,
        cert_expires=cert.cert.not_valid_after_utc,
        enrolled=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    return (
        identity,
        BundleFile("client.crt", cert.cert_pem),
        BundleFile("client.key", cert.key_pem, secret=True),
    )


def _mqtt(broker: BrokerAddress, username: str, password: str) -> dict[str, Any]:
    return {
        "host": broker.host,
        "port": broker.port,
        "username": username,
        "password": password,
        "tls": {
            "ca_file": str(layout.CA_FILE),
            "cert_file": str(layout.CERT_FILE),
            "key_file": str(layout.KEY_FILE),
        },
    }


def _toml_checked(
    model: type[AgentConfig] | type[BridgeConfig], raw: dict[str, Any], header: str, what: str
) -> bytes:
    """TOML text for ``raw``, proven to load back into ``model`` unchanged."""
    text = dumps(raw, header)
    expected = validate_config(model, raw, what)
    if validate_config(model, tomllib.loads(text), what) != expected:
        raise AssertionError("generated TOML does not read back as written")  # a bug in _toml
    return text.encode()


# Written by enrollment itself: an override would break the kiosk's identity or login.
_FIXED = ("kiosk.facility", "kiosk.device", "kiosk.state_dir", "mqtt.username", "mqtt.password",
          "mqtt.tls", "workers.file")


def _apply_settings(raw: dict[str, Any], settings: Mapping[str, Any]) -> None:
    """Dotted keys (``scale.port``) into the config tree; validation comes after."""
    for dotted, value in settings.items():
        if any(dotted == fixed or dotted.startswith(fixed + ".") for fixed in _FIXED):
            raise UserError(f"{dotted} is set by enrollment itself and cannot be overridden")
        *parents, leaf = dotted.split(".")
        node = raw
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UserError(f"{dotted}: {part} is a value, not a section")
            node = child
        node[leaf] = value


def simulated_devices(raw: Mapping[str, Any]) -> list[str]:
    """The devices an agent config (as TOML tables) leaves simulated: their defaults are."""
    fields = AgentConfig.model_fields
    out = []
    for name in ("scanner", "scale", "printer"):
        table = raw.get(name)
        default = getattr(fields[name].default, "kind", None) if name in fields else None
        kind = table.get("kind", default) if isinstance(table, Mapping) else default
        if kind == "sim":
            out.append(name)
    return out


def enroll_kiosk(
    ca: FacilityCA,
    *,
    device: str,
    broker: BrokerAddress,
    room: str | None = None,
    facility: str | None = None,
    scanner: ScannerKind = "evdev",
    settings: Mapping[str, Any] | None = None,
    workers: Path | None = None,
    replace: bool = False,
    headless: bool = False,
    simulated: bool = False,
) -> Bundle:
    """Enroll ``device`` and return its bundle; the registry is saved only on success.

    ``settings``: extra agent config as dotted keys (``{"scale.kind": "serial"}``).
    ``workers``: a workers file (``canopy agent add-worker``) to carry along; it
    holds PIN hashes, so it travels and installs as a secret.
    A kiosk without ``workers`` runs without sign-in, and one with simulated
    devices records made-up weights: each needs its flag (``headless``,
    ``simulated``), so neither happens by leaving something out. ``simulated``
    is written into the config, so ``canopy doctor`` knows it was meant.
    """
    if facility is not None and facility != ca.facility:
        raise UserError(f"this CA is facility {ca.facility}'s, not {facility}'s; use that facility's --ca")
    if workers is None and not headless:
        raise UserError("no workers list: without one the kiosk runs without sign-in. Pass --workers FILE "
                        "(canopy agent add-worker), or --headless for a scan station without sign-in")
    _check_name(ca, device, "kiosk", replace)
    workers_file: BundleFile | None = None
    if workers is not None:
        try:
            read_workers(workers)
        except WorkerFileError as exc:
            raise UserError(str(exc)) from None
        workers_file = BundleFile("workers.json", workers.read_bytes(), secret=True)
    password = new_password()
    identity, cert, key = _identity(ca, device, "kiosk", room, password)
    raw: dict[str, Any] = {
        "kiosk": {"facility": ca.facility, "device": device, "state_dir": str(layout.KIOSK_STATE)},
        "mqtt": _mqtt(broker, device, password),
        "scanner": {"kind": scanner},
    }
    if room:
        raw["kiosk"]["room"] = room
    if workers_file is not None:
        raw["workers"] = {"file": str(layout.WORKERS_FILE)}
    _apply_settings(raw, settings or {})
    fake = simulated_devices(raw)
    if fake and not simulated:
        raise UserError(f"simulated {', '.join(fake)} on a floor kiosk: set the real devices "
                        "(e.g. --set scale.kind=serial --set scale.port=/dev/serial/by-id/... "
                        "--set printer.kind=brother; --scanner evdev), or pass --simulated-devices "
                        "for a test kiosk")
    if simulated:
        raw["kiosk"]["simulated_devices"] = True
    header = (
        f"Canopy kiosk {device} of facility {ca.facility}, written by `canopy provision device`.\n"
        "Holds this kiosk's broker login: keep it 0600, owned by the canopy user."
    )
    files = [
        BundleFile("agent.toml", _toml_checked(AgentConfig, raw, header, f"agent config for {device}"),
                   secret=True),
        BundleFile("ca.crt", ca.ca.cert_pem),
        cert,
        key,
        BundleFile(AGENT_UNIT, unit_bytes(AGENT_UNIT)),
        BundleFile(BROWSER_UNIT, unit_bytes(BROWSER_UNIT)),
        BundleFile(RULES_NAME, rules_bytes()),
        *([workers_file] if workers_file is not None else []),
    ]
    bundle = make_bundle(role="kiosk", facility=ca.facility, name=device, room=room,
                         broker_host=broker.host, broker_port=broker.port, files=files)
    ca.add(identity, replace=replace)
    return bundle


def enroll_bridge(
    ca: FacilityCA,
    *,
    bridge_id: str,
    broker: BrokerAddress,
    ledger_url: str = f"sqlite:///{layout.BRIDGE_STATE}/ledger.db",
    replace: bool = False,
) -> Bundle:
    from bridge.config import BridgeConfig  # here, not at the top: a kiosk never needs it

    _check_name(ca, bridge_id, "bridge", replace)
    password = new_password()
    identity, cert, key = _identity(ca, bridge_id, "bridge", None, password)
    # The fleet view's read-only twin: the broker takes the login from the
    # certificate, so the twin has one of its own (revoked with the bridge's).
    twin = issue_client(ca.ca, fleet_login(bridge_id), ca.facility)
    identity = identity.model_copy(update={"twin_serial": twin.cert.serial_number})
    raw: dict[str, Any] = {
        "bridge": {"id": bridge_id},
        "mqtt": _mqtt(broker, bridge_id, password),
        "ledger": {"url": ledger_url},
    }
    header = (
        f"Canopy bridge {bridge_id} for facility {ca.facility}, written by `canopy provision bridge`.\n"
        f"The fleet view logs in as {fleet_login(bridge_id)} with {FLEET_CERT}: keep this file 0600."
    )
    files = [
        BundleFile("bridge.toml", _toml_checked(BridgeConfig, raw, header, f"bridge config for {bridge_id}"),
                   secret=True),
        BundleFile("ca.crt", ca.ca.cert_pem),
        cert,
        key,
        BundleFile(FLEET_CERT, twin.cert_pem),
        BundleFile(FLEET_KEY, twin.key_pem, secret=True),
        BundleFile(BRIDGE_UNIT, unit_bytes(BRIDGE_UNIT)),
        BundleFile(CONSOLE_UNIT, unit_bytes(CONSOLE_UNIT)),
    ]
    bundle = make_bundle(role="bridge", facility=ca.facility, name=bridge_id, room=None,
                         broker_host=broker.host, broker_port=broker.port, files=files)
    ca.add(identity, replace=replace)
    return bundle
