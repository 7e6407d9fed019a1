"""``canopy console``: the compliance console, a web application on the ledger.

    canopy console serve -c bridge.toml [--host H] [--port P] [--cert FILE --key FILE]
                         [--trusted-proxy ADDRESS ...]   (or the config's [console])
    canopy console user add NAME --role compliance|supervisor|auditor [--password-stdin] -c bridge.toml
    canopy console user list -c bridge.toml
    canopy console user disable NAME -c bridge.toml

It runs as its own process beside the bridge, so a busy or failing console never
holds up ingest or submission, reading the bridge's config and ledger. Without a certificate (--cert/--key, or
cert_file/key_file in the config's [console] section) it serves plain HTTP on
127.0.0.1 only; with one, HTTPS on every address (or --host / host).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from canopy.config import load_config
from canopy.errors import UserError
from cli.commands._options import config_options

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ledger import Ledger
    from canopy.kiosk_status import KioskStatus

T = TypeVar("T")
FLEET_CACHE_S = 15.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "console", help="the compliance console: web pages of the registers, accounts for the office",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    config_options(parser, "bridge", top=True)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    serve = actions.add_parser("serve", help="serve the console (until stopped)")
    config_options(serve, "bridge")
    serve.add_argument("--host", help="address to listen on (default: 127.0.0.1, or every address"
                                      " with --cert and --key)")
    serve.add_argument("--port", type=int, help="default: the config's [console] port (8470 unless set)")
    serve.add_argument("--cert", type=Path, help="TLS certificate (PEM, chain included) to serve HTTPS"
                                                 " (default: [console] cert_file)")
    serve.add_argument("--key", type=Path,
                       help="the certificate's private key (PEM; default: [console] key_file)")
    serve.add_argument("--trusted-proxy", metavar="ADDRESS", action="append",
                       help="a reverse proxy in front of the console (an address or network; repeat for"
                            " more): only from it is X-Forwarded-For believed, for the sign-in throttle and"
                            " the log (default: [console] trusted_proxies)")
    serve.set_defaults(func=_serve)

    user = actions.add_parser("user", help="console accounts: add, list, disable")
    config_options(user, "bridge")
    users = user.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = users.add_parser("add", help="add a personal account (asks for its password twice)")
    config_options(add, "bridge")
    add.add_argument("name", help="account name: lower-case letters, digits, . _ -")
    add.add_argument("--role", required=True, choices=("compliance", "supervisor", "auditor"),
                     help="compliance: everything; supervisor: registers and verification;"
                          " auditor: read-only (an inspector)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin (scripts) instead of asking")
    add.set_defaults(func=_add)
    listing = users.add_parser("list", help="every account, its role and whether it may sign in")
    config_options(listing, "bridge")
    listing.set_defaults(func=_list)
    disable = users.add_parser("disable", help="stop an account signing in (its log entries stay)")
    config_options(disable, "bridge")
    disable.add_argument("name")
    disable.set_defaults(func=_disable)


def _config(args: argparse.Namespace) -> BridgeConfig:
    from bridge.config import BridgeConfig
    from cli.commands.bridge_report import must_exist

    config = load_config(BridgeConfig, args.config)
    must_exist(config.ledger.url, args.config)
    return config


def _with_ledger(config: BridgeConfig, work: Callable[[Ledger], Awaitable[T]]) -> T:
    from bridge.ledger import open_ledger

    async def run() -> T:
        try:
            ledger = await open_ledger(config.ledger.url)
        except Exception as exc:
            raise UserError(f"cannot open the ledger {config.ledger.url!r}: {exc}") from None
        try:
            return await work(ledger)
        finally:
            await ledger.close()
    return asyncio.run(run())


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("The same password again: ") != first:
        raise UserError("the two passwords differ: nothing was added; run the command again")
    return first


def _add(args: argparse.Namespace) -> int:
    from bridge.ledger import UserExists
    from console.accounts import ROLES, hash_password
    from console.web import user_problem

    config = _config(args)
    name = args.name.strip().lower()
    password = _password(args)
    problem = user_problem(name, args.role, password)
    if problem is not None:
        raise UserError(f"{problem}: nothing was added")

    async def add(ledger: Ledger) -> None:
        try:
            await ledger.add_console_user(name, args.role, hash_password(password))
        except UserExists:
            raise UserError(f"there is already an account {name!r} (names are never reused:"
                            " choose another, e.g. with an initial)") from None
        await ledger.console_record("", "account added", f"{name} as {args.role}", "command line")
    _with_ledger(config, add)
    print(f"{name} may sign in to the console as {ROLES[args.role].title}: {ROLES[args.role].help}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from console.accounts import ROLES

    config = _config(args)

    async def users(ledger: Ledger) -> list[tuple[str, str, str]]:
        return [(u.name, ROLES[u.role].title if u.role in ROLES else u.role,
                 "active" if u.active else "disabled") for u in await ledger.console_users()]
    rows = _with_ledger(config, users)
    if not rows:
        print("no console accounts yet: add one with `canopy console user add NAME --role compliance`")
        return 0
    widths = [max(len(r[i]) for r in [("NAME", "ROLE", "STATUS"), *rows]) for i in range(3)]
    for row in [("NAME", "ROLE", "STATUS"), *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _disable(args: argparse.Namespace) -> int:
    config = _config(args)
    name = args.name.strip().lower()

    async def disable(ledger: Ledger) -> bool:
        done = await ledger.disable_console_user(name)
        if done:
            await ledger.console_record("", "account disabled", name, "command line")
        return done
    if not _with_ledger(config, disable):
        raise UserError(f"no active account {name!r}: `canopy console user list` shows them")
    print(f"{name} can no longer sign in (a running console signs them out at their next request)")
    return 0


def cached_fleet(config: BridgeConfig) -> Callable[[], Awaitable[list[KioskStatus]]]:
    """The kiosks' retained status, read from the broker at most every ``FLEET_CACHE_S``; a
    broker that does not answer is not asked again for as long (each try waits its timeout)."""
    from bridge.fleet import collect_fleet

    kept: list[tuple[float, list[KioskStatus] | UserError]] = []

    async def fleet() -> list[KioskStatus]:
        if not kept or time.monotonic() - kept[0][0] >= FLEET_CACHE_S:
            try:
                found: list[KioskStatus] | UserError = await collect_fleet(
                    config.mqtt, client_id=f"{config.bridge.id}-console", timeout=5.0)
            except UserError as exc:
                found = exc
            kept[:] = [(time.monotonic(), found)]
        result = kept[0][1]
        if isinstance(result, UserError):
            raise result
        return result
    return fleet


def _serve(args: argparse.Namespace) -> int:
    from bridge.ledger import open_ledger
    from bridge.reports import Clock
    from cli.runtime import run_until_signal, setup_logging
    from console.auth import networks
    from console.views import Context, Facility
    from console.web import Console, serve, ssl_context

    config = _config(args)
    setup_logging(args.verbose)
    settings = config.console
    try:
        tls = ssl_context(args.cert or settings.cert_file, args.key or settings.key_file)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot use the certificate: {exc}") from None
    host = args.host or settings.host or ("0.0.0.0" if tls else "127.0.0.1")
    port = args.port or settings.port
    try:
        trusted = networks(args.trusted_proxy or settings.trusted_proxies)
    except ValueError as exc:
        raise UserError(f"--trusted-proxy takes an IP address or network (e.g. 127.0.0.1): {exc}") from None
    facilities = [Facility(f.license, f.name or f.license, f.timezone, f.state) for f in config.facilities]

    async def main() -> None:
        ledger = await open_ledger(config.ledger.url)
        try:
            users = await ledger.console_users()
            if not any(u.active and u.role == "compliance" for u in users):
                print("no active compliance manager account yet: add one with"
                      " `canopy console user add NAME --role compliance -c CONFIG`", file=sys.stderr)
            ctx = Context(ledger, facilities, cached_fleet(config),
                          Clock({f.license: f.timezone for f in config.facilities}))
            await serve(Console(ctx, secure=tls is not None, trusted_proxies=trusted), host, port, tls)
        finally:
            await ledger.close()
    return run_until_signal(main())
