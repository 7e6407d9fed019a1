"""``canopy provision``: what IT runs to enroll kiosks and set up the broker.

    canopy provision ca      --facility LIC --out pki
    canopy provision device  --ca pki --device kiosk-01 --room "Flower 1" \\
                             --broker-host mqtt.example --out kiosk-01.tar.gz
    canopy provision bridge  --ca pki --id bridge-1 --broker-host mqtt.example --out bridge-1
    canopy provision broker  --ca pki --host mqtt.example --out /etc/mosquitto/canopy
    canopy provision revoke  --ca pki --device kiosk-01
    canopy provision list    --ca pki
    canopy provision install kiosk-01.tar.gz [--root DIR]       (on the kiosk, as root)

Nothing here prints a password or a key: they exist only inside the bundle.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "provision",
        help="enroll kiosks and bridges, write the broker config, install a kiosk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="provision_action", metavar="ACTION", required=True)

    ca = actions.add_parser("ca", help="create a facility's certificate authority and registry")
    ca.add_argument("--facility", required=True, help="licence number, e.g. CA-LIC-0001")
    ca.add_argument("--out", type=Path, required=True, help="new provisioning directory")
    ca.set_defaults(func=run_ca)

    device = actions.add_parser("device", help="enroll a kiosk: credentials, certificate, config bundle")
    _ca_arg(device)
    device.add_argument("--device", required=True, help="kiosk id (MQTT username, certificate CN)")
    device.add_argument("--facility", help="licence number (checked against the CA's)")
    device.add_argument("--room", help="room the kiosk hangs in")
    _broker_args(device)
    device.add_argument("--scanner", choices=("evdev", "serial", "sim"), default="evdev",
                        help="scanner kind in the agent config (default: evdev, USB keyboard wedge)")
    device.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                        help="more agent config, e.g. --set scale.kind=serial"
                        " --set scale.port=/dev/serial/by-id/... (repeatable; values as in TOML)")
    device.add_argument("--workers", type=Path,
                        help="workers file (canopy agent add-worker) to install with the kiosk")
    device.add_argument("--headless", action="store_true",
                        help="no --workers on purpose: a scan station without sign-in (kiosk.operator)")
    device.add_argument("--simulated-devices", action="store_true",
                        help="allow simulated scanner, scale or printer (a test kiosk; canopy doctor "
                             "fails them otherwise)")
    device.add_argument("--out", type=Path, required=True,
                        help="bundle: a new directory, or a file ending in .tar.gz")
    device.add_argument("--replace", action="store_true",
                        help="re-enroll an enrolled kiosk (its old credentials stop working)")
    device.set_defaults(func=run_device)

    bridge = actions.add_parser("bridge", help="enroll a bridge process (and its read-only fleet login)")
    _ca_arg(bridge)
    bridge.add_argument("--id", required=True, dest="bridge_id", help="bridge id, unique per process")
    _broker_args(bridge)
    bridge.add_argument("--ledger-url", help="ledger URL (default: SQLite in /var/lib/canopy-bridge)")
    bridge.add_argument("--out", type=Path, required=True, help="bundle directory or .tar.gz")
    bridge.add_argument("--replace", action="store_true")
    bridge.set_defaults(func=run_bridge)

    broker = actions.add_parser("broker", help="write the Mosquitto config, access list and TLS files")
    _ca_arg(broker)
    broker.add_argument("--host", action="append", required=True, dest="hosts",
                        help="name or address kiosks use for the broker (repeat for several)")
    broker.add_argument("--port", type=int, default=8883)
    broker.add_argument("--bind", help="listen address (default: all)")
    broker.add_argument("--user", default="mosquitto", help="user Mosquitto runs as (default: mosquitto)")
    broker.add_argument("--data-dir", type=Path, default=Path("/var/lib/mosquitto"),
                        help="persistence directory (default: /var/lib/mosquitto)")
    broker.add_argument("--install-dir", type=Path,
                        help="where the files will live on the broker host (default: --out)")
    broker.add_argument("--log-file", type=Path, help="log to this file (default: stderr / journal)")
    broker.add_argument("--plugin", type=Path,
                        help="Mosquitto's dynamic-security plugin on the broker host (default: where"
                             " Debian's mosquitto package puts it on this machine's architecture)")
    broker.add_argument("--out", type=Path, required=True, help="directory for the broker's files")
    broker.set_defaults(func=run_broker)

    revoke = actions.add_parser("revoke", help="revoke a kiosk's or bridge's credentials")
    _ca_arg(revoke)
    revoke.add_argument("--device", required=True, help="kiosk or bridge id")
    revoke.add_argument("--reason", default="revoked", help="kept in the registry")
    revoke.set_defaults(func=run_revoke)

    listing = actions.add_parser("list", help="show enrolled and revoked identities")
    _ca_arg(listing)
    listing.set_defaults(func=run_list)

    install = actions.add_parser("install", help="install a bundle on this kiosk (as root)")
    install.add_argument("bundle", type=Path, help="bundle directory or tarball")
    install.add_argument("--root", type=Path, default=Path("/"),
                         help="install into this root instead of / (an image, a test)")
    install.set_defaults(func=run_install)


def _ca_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca", type=Path, required=True, help="provisioning directory (from `provision ca`)")


def _broker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker-host", required=True, help="broker name or address (in its certificate)")
    parser.add_argument("--broker-port", type=int, default=8883)


def _settings(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value is read as TOML (numbers, true, "text") or else as text."""
    import tomllib

    from canopy.errors import UserError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {pair!r}: expected KEY=VALUE, e.g. scale.kind=serial")
        try:
            out[key.strip()] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = text
    return out


def _reload_hint(ca: Any) -> str:
    from provisioning import refresh_brokers

    touched = refresh_brokers(ca)
    if not touched:
        return "then run `canopy provision broker` and restart the broker"
    where = ", ".join(str(p) for p in touched)
    # The access list is read when Mosquitto starts (dynamic-security plugin);
    # queues survive the restart and kiosks resend as soon as a bridge is back.
    return f"broker files updated in {where}: restart the broker (systemctl restart mosquitto)"


def run_ca(args: argparse.Namespace) -> int:
    from provisioning import FacilityCA

    ca = FacilityCA.create(args.out, args.facility)
    print(f"facility CA for {ca.facility} created in {args.out}")
    print("  ca.key is the key to every kiosk: keep this directory offline and backed up")
    return 0


def run_device(args: argparse.Namespace) -> int:
    from provisioning import BrokerAddress, FacilityCA, enroll_kiosk, write_bundle

    ca = FacilityCA.open(args.ca)
    bundle = enroll_kiosk(ca, device=args.device, room=args.room, facility=args.facility,
                          broker=BrokerAddress(args.broker_host, args.broker_port),
                          scanner=args.scanner, settings=_settings(args.settings),
                          workers=args.workers, replace=args.replace, headless=args.headless,
                          simulated=args.simulated_devices)
    out = write_bundle(bundle, args.out)
    print(f"enrolled kiosk {args.device} of {ca.facility}: bundle {out}")
    print("  it holds the kiosk's certificate key: carry it safely, delete it after install")
    print(f"  {_reload_hint(ca)}")
    return 0


def run_bridge(args: argparse.Namespace) -> int:
    from provisioning import BrokerAddress, FacilityCA, enroll_bridge, write_bundle

    ca = FacilityCA.open(args.ca)
    extra = {"ledger_url": args.ledger_url} if args.ledger_url else {}
    bundle = enroll_bridge(ca, bridge_id=args.bridge_id, replace=args.replace,
                           broker=BrokerAddress(args.broker_host, args.broker_port), **extra)
    out = write_bundle(bundle, args.out)
    print(f"enrolled bridge {args.bridge_id} of {ca.facility}: bundle {out}")
    print(f"  {_reload_hint(ca)}")
    return 0


def run_broker(args: argparse.Namespace) -> int:
    from provisioning import BrokerOptions, FacilityCA, write_broker

    ca = FacilityCA.open(args.ca)
    options = BrokerOptions(hosts=tuple(args.hosts), port=args.port, bind=args.bind, user=args.user,
                            data_dir=args.data_dir, install_dir=args.install_dir, log_file=args.log_file,
                            plugin=args.plugin)
    changed = write_broker(ca, args.out, options)
    logins = len(ca.active())
    print(f"broker files for {ca.facility} in {args.out} ({logins} enrolled identities):"
          f" {', '.join(changed) if changed else 'nothing changed'}")
    print(f"  run: mosquitto -c {options.install_dir or args.out.resolve()}/mosquitto.conf"
          " (or make it /etc/mosquitto/mosquitto.conf); restart it after changes")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from provisioning import FacilityCA

    ca = FacilityCA.open(args.ca)
    gone = ca.revoke(args.device, args.reason)
    print(f"revoked {gone.role} {gone.name} (certificate serial {gone.cert_serial:x} is in crl.pem)")
    print(f"  {_reload_hint(ca)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from provisioning import FacilityCA

    ca = FacilityCA.open(args.ca)
    print(f"facility {ca.facility}")
    for identity in ca.active():
        room = f"  room {identity.room}" if identity.room else ""
        print(f"  {identity.role:6}  {identity.name:24} enrolled {identity.enrolled:%Y-%m-%d}"
              f"  cert until {identity.cert_expires:%Y-%m-%d}{room}")
    for gone in ca.registry.revoked:
        print(f"  revoked {gone.name} on {gone.at:%Y-%m-%d}: {gone.reason}")
    return 0


def run_install(args: argparse.Namespace) -> int:
    from provisioning import install_bundle

    result = install_bundle(args.bundle, args.root)
    print(f"installed {result.role} {result.name} into {args.root}")
    for item in result.changed:
        print(f"  changed: {item}")
    if not result.changed:
        print("  nothing changed (already installed)")
    for command in result.ran:
        print(f"  ran: {command}")
    for command in result.planned:
        print(f"  would run on the kiosk: {command}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0
