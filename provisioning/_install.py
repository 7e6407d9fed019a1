"""Install a bundle on a kiosk (or the bridge host): users, files, udev rules, units.

    install_bundle(Path("kiosk-01.tar.gz"))                  # on the kiosk, as root
    install_bundle(bundle, root=Path("/mnt/sd-image"))       # into an image or a test root

Idempotent: files are only written when their bytes, mode or owner differ,
users and group memberships only added when missing, so a second run reports
no changes. Services are enabled with ``systemctl [--root]`` and started only
when installing into ``/`` on a system where systemd runs; otherwise the
result lists the commands that would run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agent.config import AgentConfig
from canopy.config import validate_config
from canopy.errors import UserError
from canopy.topics import FLEET_CERT, FLEET_KEY
from provisioning import _layout as layout
from provisioning._accounts import Accounts
from provisioning._bundle import Bundle, read_bundle
from provisioning._files import PUBLIC_MODE, SECRET_MODE, Owner, ensure_dir, write_file
from provisioning._udev import RULES_NAME
from provisioning._units import AGENT_UNIT, BRIDGE_UNIT, BROWSER_UNIT, CONSOLE_UNIT

ROOT_OWNER: Owner = (0, 0)


@dataclass
class InstallResult:
    role: str
    name: str
    changed: list[str] = field(default_factory=list)  # paths (in the target root) and accounts
    ran: list[str] = field(default_factory=list)  # commands run against the live system
    planned: list[str] = field(default_factory=list)  # commands that would run on the kiosk
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Placement:
    source: str  # name in the bundle
    target: PurePosixPath
    secret: bool  # 0600, owned by the service user
    owner_is_service: bool = False


def _placements(bundle: Bundle) -> list[_Placement]:
    common = [
        _Placement("ca.crt", layout.CA_FILE, False),
        _Placement("client.crt", layout.CERT_FILE, False),
        _Placement("client.key", layout.KEY_FILE, True, True),
    ]
    if bundle.manifest.role == "kiosk":
        optional = [_Placement("workers.json", layout.WORKERS_FILE, True, True)]
        return [
            _Placement("agent.toml", layout.AGENT_CONFIG, True, True),
            *common,
            _Placement(RULES_NAME, layout.UDEV_DIR / RULES_NAME, False),
            _Placement(AGENT_UNIT, layout.UNIT_DIR / AGENT_UNIT, False),
            _Placement(BROWSER_UNIT, layout.UNIT_DIR / BROWSER_UNIT, False),
            *(p for p in optional if p.source in bundle.files),
        ]
    return [
        _Placement("bridge.toml", layout.BRIDGE_CONFIG, True, True),
        *common,
        # The fleet view's own certificate: the broker takes the login from it.
        *(p for p in [_Placement(FLEET_CERT, layout.CONFIG_DIR / FLEET_CERT, False),
                      _Placement(FLEET_KEY, layout.CONFIG_DIR / FLEET_KEY, True, True)]
          if p.source in bundle.files),
        _Placement(BRIDGE_UNIT, layout.UNIT_DIR / BRIDGE_UNIT, False),
        # The compliance console's, from bundles made since it shipped.
        *(p for p in [_Placement(CONSOLE_UNIT, layout.UNIT_DIR / CONSOLE_UNIT, False)]
          if p.source in bundle.files),
    ]


def _at(root: Path, path: PurePosixPath) -> Path:
    return root / path.relative_to("/")


def _systemd_running(root: Path) -> bool:
    return str(root) == "/" and Path("/run/systemd/system").is_dir()


def install_bundle(bundle_path: Path, root: Path = Path("/")) -> InstallResult:
    bundle = read_bundle(bundle_path)
    root = root.resolve()
    if os.geteuid() != 0 and str(root) == "/":
        raise UserError("installing on this system needs root: run it with sudo")
    kiosk = bundle.manifest.role == "kiosk"
    result = InstallResult(bundle.manifest.role, bundle.manifest.name)
    accounts = Accounts(root)

    service_user = layout.KIOSK_USER if kiosk else layout.BRIDGE_USER
    state_dir = layout.KIOSK_STATE if kiosk else layout.BRIDGE_STATE
    users: list[tuple[str, PurePosixPath, tuple[str, ...]]] = [
        (service_user, state_dir, layout.KIOSK_GROUPS if kiosk else ())
    ]
    if kiosk:
        users.append((layout.BROWSER_USER, layout.BROWSER_HOME, layout.BROWSER_GROUPS))
    can_own = os.geteuid() == 0 and accounts.available
    for user, home, groups in users:
        if can_own:
            result.changed += accounts.ensure_user(user, home, groups)
        else:
            result.planned.append(f"useradd --system --user-group --home-dir {home} {user}"
                                  f" (groups: {', '.join(groups) or 'none'})")
    if not can_own:
        result.notes.append(
            "file owners not set: " + ("not running as root" if os.geteuid() != 0
                                       else f"{root} has no /etc/passwd and /etc/group")
        )

    def owner_of(user: str) -> Owner | None:
        account = accounts.user(user) if can_own else None
        return (account.uid, account.gid) if account else None

    service = owner_of(service_user)
    root_owner = ROOT_OWNER if can_own else None
    # /etc/canopy: readable by the service's group only; secrets inside are 0600.
    dirs: list[tuple[PurePosixPath, int, Owner | None]] = [
        (layout.CONFIG_DIR, 0o750, (0, service[1]) if service else None),
        (state_dir, 0o750, service),
    ]
    if kiosk:
        dirs.append((layout.BROWSER_HOME, 0o700, owner_of(layout.BROWSER_USER)))
    for path, mode, owner in dirs:
        if ensure_dir(_at(root, path), mode, owner=owner):
            result.changed.append(str(path))

    files: list[tuple[PurePosixPath, bytes, int, Owner | None]] = []
    for place in _placements(bundle):
        owner = service if place.owner_is_service else root_owner
        mode = SECRET_MODE if place.secret else PUBLIC_MODE
        files.append((place.target, bundle[place.source], mode, owner))
    if kiosk:
        env = _browser_env(root, result, _agent_config(bundle))
        files.append((layout.BROWSER_ENV, env.encode(), PUBLIC_MODE, root_owner))
    for target, data, mode, owner in files:
        where = _at(root, target)
        # System folders (/etc/systemd/system, /etc/udev/rules.d) exist on a real
        # system; create them in a bare root, but never change their modes.
        where.parent.mkdir(parents=True, exist_ok=True)
        if write_file(where, data, mode, owner=owner):
            result.changed.append(str(target))

    units = [AGENT_UNIT, BROWSER_UNIT] if kiosk else [BRIDGE_UNIT]
    _activate(root, units, kiosk, bool(result.changed), result)
    if not kiosk and CONSOLE_UNIT in bundle.files:
        result.notes.append(
            f"the compliance console's unit ({CONSOLE_UNIT}) is installed, not enabled: add an account"
            f" (sudo -u {layout.BRIDGE_USER} {layout.VENV_CANOPY} console user add NAME --role"
            f" compliance -c {layout.BRIDGE_CONFIG}), then systemctl enable --now {CONSOLE_UNIT}")
    return result


def _agent_config(bundle: Bundle) -> AgentConfig:
    raw = tomllib.loads(bundle["agent.toml"].decode())
    return validate_config(AgentConfig, raw, "the bundle's agent.toml")


def _browser_env(root: Path, result: InstallResult, config: AgentConfig) -> str:
    found = next((c for c in layout.BROWSER_CANDIDATES if _at(root, PurePosixPath(c)).exists()), None)
    if found is None:
        found = layout.BROWSER_CANDIDATES[0]
        result.notes.append("Chromium is not installed: apt-get install chromium cage")
    elif not _at(root, PurePosixPath("/usr/bin/cage")).exists():
        result.notes.append("cage is not installed: apt-get install cage")
    panel = config.ui.panel_spec
    return (f"# Written by `canopy provision install`: this OS's Chromium, and the size of\n"
            f"# the panel in agent.toml's [ui] panel ({panel.title or 'explicit size'}).\n"
            f"CANOPY_BROWSER={found}\nCANOPY_BROWSER_FLAGS={panel.chromium_flags()}\n")


def _activate(root: Path, units: list[str], kiosk: bool, changed: bool, result: InstallResult) -> None:
    live = _systemd_running(root)
    systemctl = shutil.which("systemctl")
    commands: list[list[str]] = []
    if live:
        commands.append(["systemctl", "daemon-reload"])
        if kiosk:
            commands.append(["udevadm", "control", "--reload"])
            commands.append(["udevadm", "trigger", "--action=add", "--subsystem-match=input",
                             "--subsystem-match=tty", "--subsystem-match=usbmisc", "--subsystem-match=usb"])
        commands.append(["systemctl", "enable", *units])
        # New config or units take effect only on a restart; an unchanged
        # install leaves running services alone.
        commands.append(["systemctl", "restart" if changed else "start", *units])
        for command in commands:
            _run(command, result)
        return
    # An image, a test root, or a system without systemd running: enabling is
    # just symlinks, which systemctl --root makes offline; starting must wait.
    enable = ["systemctl", *([f"--root={root}"] if str(root) != "/" else []), "enable", *units]
    if systemctl is not None:
        _run(enable, result)
    else:
        result.planned.append(" ".join(enable))
    if kiosk:
        result.planned.append("udevadm control --reload && udevadm trigger --action=add")
    result.planned.append(f"systemctl start {' '.join(units)}")


def _run(command: list[str], result: InstallResult) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"{' '.join(command)} failed: {done.stderr.strip() or done.returncode}")
    result.ran.append(" ".join(command))
    if "Created symlink" in done.stderr:
        result.changed.append("enabled " + " ".join(c for c in command if c.endswith(".service")))
