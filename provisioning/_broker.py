"""A hardened Mosquitto configuration for one facility, from its provisioning registry.

    mosquitto.conf   TLS listener, login = certificate CN, client id = login,
                     persistence, queues sized for a long bridge outage
    dynamic-security.json
                     every login's topics, subscriptions included (0600, broker's user)
    ca.crt           the facility CA: the only CA whose client certificates count
    server.crt/.key  the broker's certificate for the names kiosks dial (key 0600)
    crl.pem          revoked client certificates

Clients must present a certificate from the facility CA, and the broker takes
the login from it (``use_identity_as_username true``): the certificate and
the login always name the same device. (With a password login next to the
certificate, as before, one kiosk's certificate with another kiosk's password
logged in as the other; Mosquitto 2.0 cannot compare the two, and ignores
passwords in this mode.) A revoked certificate is refused at the TLS handshake
once the broker re-reads the CRL (SIGHUP); the access list is read by the
dynamic-security plugin when the broker starts, so enrolling or revoking needs
a broker restart (``systemctl restart mosquitto``): sessions and queues survive
it (persistence), and kiosks publish again what is unconfirmed as soon as a
bridge announces it is back (``canopy.bridge_status``). Started as root,
Mosquitto drops to ``user`` before it reads the access list, so that file
belongs to that user.
"""

from __future__ import annotations

import glob
import os
import platform
import pwd
from dataclasses import dataclass
from pathlib import Path

from provisioning._acl import dynsec_file
from provisioning._files import PUBLIC_MODE, SECRET_MODE, Owner, ensure_dir, write_file
from provisioning._pki import CertKey, issue_server, issued_by, load_cert_key, server_hosts
from provisioning._registry import FacilityCA

# Sized for a bridge that is down for days while kiosks keep sending: the
# Mosquitto default (1000 per client) silently drops the rest while still
# PUBACKing (reference/edge-anchors.md §0). The byte cap keeps the broker
# from running out of memory first; anything dropped beyond it is not lost,
# because a kiosk keeps each event until the bridge says "stored".
MAX_QUEUED_MESSAGES = 1_000_000
MAX_QUEUED_BYTES = 1 << 30
MAX_INFLIGHT_MESSAGES = 1000
# One events message is at most 255 KiB (canopy.events.MAX_MESSAGE_BYTES) plus headers.
MAX_PACKET_SIZE = 262_144
ACCESS_FILE = "dynamic-security.json"
_PLUGIN = "mosquitto_dynamic_security.so"
# Debian's multiarch folders, for a config written on another machine than the broker.
_MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu", "armv7l": "arm-linux-gnueabihf"}


def default_plugin() -> Path:
    """Where Debian's mosquitto package puts the dynamic-security plugin on this machine."""
    found = sorted(glob.glob(f"/usr/lib/*/{_PLUGIN}"))
    if found:
        return Path(found[0])
    return Path("/usr/lib") / _MULTIARCH.get(platform.machine(), "x86_64-linux-gnu") / _PLUGIN


@dataclass(frozen=True)
class BrokerOptions:
    hosts: tuple[str, ...]  # names and addresses kiosks use to reach the broker (certificate SAN)
    port: int = 8883
    bind: str | None = None  # listen on every address unless set
    user: str = "mosquitto"  # Mosquitto started as root drops to this user
    data_dir: Path = Path("/var/lib/mosquitto")
    # Where the files will live on the broker host; None: where they are written.
    install_dir: Path | None = None
    log_file: Path | None = None  # None: stderr, i.e. the journal under systemd
    plugin: Path | None = None  # the dynamic-security plugin; None: default_plugin()


def broker_conf(facility: str, options: BrokerOptions, where: Path) -> str:
    listener = f"listener {options.port}" + (f" {options.bind}" if options.bind else "")
    log = f"log_dest file {options.log_file}" if options.log_file else "log_dest stderr"
    return f"""\
# Mosquitto for Canopy facility {facility}, written by `canopy provision broker`.
# Re-run that after enrolling or revoking a device, then restart the broker
# (systemctl restart mosquitto): the access list is read at start.

per_listener_settings false
allow_anonymous false
# Who may send, subscribe to and receive what, subscriptions ($share/...) included.
plugin {options.plugin or default_plugin()}
plugin_opt_config_file {where / ACCESS_FILE}
# Started as root, Mosquitto drops to this user; it owns the access list and server.key.
user {options.user}

persistence true
persistence_location {options.data_dir}/
autosave_interval 60
# Sessions of devices that never come back are dropped after two weeks.
persistent_client_expiration 14d

# Queues for a long bridge outage: the default (1000 per client) drops silently.
max_queued_messages {MAX_QUEUED_MESSAGES}
max_queued_bytes {MAX_QUEUED_BYTES}
max_inflight_messages {MAX_INFLIGHT_MESSAGES}
# An events message carries up to 255 KiB.
max_packet_size {MAX_PACKET_SIZE}

{listener}
protocol mqtt
# Client id := login, so no device can take over another's session.
use_username_as_clientid true
cafile {where / 'ca.crt'}
certfile {where / 'server.crt'}
keyfile {where / 'server.key'}
crlfile {where / 'crl.pem'}
tls_version tlsv1.2
# A certificate from the facility CA, and the login is its CN: a certificate
# and the login it presents always name the same device (passwords are not used).
require_certificate true
use_identity_as_username true

{log}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp true
"""


def _owner(user: str) -> Owner | None:
    """The broker user's (uid, gid) when we can and must hand files to it (we are root)."""
    if os.geteuid() != 0:
        return None  # Mosquitto started by this user stays this user and reads its own files
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _server_cert(ca: FacilityCA, out: Path, hosts: tuple[str, ...]) -> CertKey:
    """Keep the broker's certificate while it fits; a new one only for new hosts or a new CA."""
    try:
        current = load_cert_key((out / "server.crt").read_bytes(), (out / "server.key").read_bytes())
    except (FileNotFoundError, ValueError):
        return issue_server(ca.ca, list(hosts), ca.facility)
    fits = (
        issued_by(current.cert, ca.ca)
        and server_hosts(current.cert) == list(hosts)
        and current.cert.public_key() == current.key.public_key()
    )
    return current if fits else issue_server(ca.ca, list(hosts), ca.facility)


def write_broker(ca: FacilityCA, out: Path, options: BrokerOptions) -> list[str]:
    """Write (or bring up to date) the broker directory; returns the names that changed."""
    owner = _owner(options.user)
    where = options.install_dir or out.resolve()
    changed: list[str] = []
    # The broker's user must be able to enter the directory, nobody else.
    dir_owner = (0, owner[1]) if owner else None
    if ensure_dir(out, 0o750, owner=dir_owner):
        changed.append(".")
    server = _server_cert(ca, out, options.hosts)
    files: list[tuple[str, bytes, int, Owner | None]] = [
        ("mosquitto.conf", broker_conf(ca.facility, options, where).encode(), PUBLIC_MODE, None),
        ("ca.crt", ca.ca.cert_pem, PUBLIC_MODE, None),
        ("server.crt", server.cert_pem, PUBLIC_MODE, None),
        ("server.key", server.key_pem, SECRET_MODE, owner),
    ]
    for name, data, mode, file_owner in files:
        if write_file(out / name, data, mode, owner=file_owner):
            changed.append(name)
    changed += _write_access(ca, out, owner)
    if options.install_dir is None and options.data_dir and ensure_dir(
        options.data_dir, 0o700, owner=owner
    ):
        changed.append(str(options.data_dir))
    ca.remember_broker(out)
    return changed


def _write_access(ca: FacilityCA, out: Path, owner: Owner | None) -> list[str]:
    identities = ca.active()
    files = [
        (ACCESS_FILE, dynsec_file(ca.facility, identities).encode(), SECRET_MODE, owner),
        ("crl.pem", ca.crl_pem(), PUBLIC_MODE, None),
    ]
    return [name for name, data, mode, o in files if write_file(out / name, data, mode, owner=o)]


def refresh_brokers(ca: FacilityCA) -> list[Path]:
    """After a revocation: rewrite the access list and crl.pem in every broker directory made from ``ca``.

    Owners are kept as they are (the files belong to the broker's user). Returns
    the directories that changed; the broker still needs a restart.
    """
    touched: list[Path] = []
    for name in ca.registry.broker_dirs:
        out = Path(name)
        if not (out / "mosquitto.conf").is_file():
            continue
        owner: Owner | None = None
        if os.geteuid() == 0 and (out / ACCESS_FILE).exists():
            st = (out / ACCESS_FILE).stat()
            owner = (st.st_uid, st.st_gid)
        if _write_access(ca, out, owner):
            touched.append(out)
    return touched

