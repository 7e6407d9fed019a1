"""``canopy bridge add-worker | remove-worker | list-workers``: the facility's workers.

    canopy bridge add-worker    [-c bridge.toml] [--facility LICENCE] --id ID --name NAME [--badge CODE]
                                [--supervisor] [--pin-stdin]
    canopy bridge remove-worker [-c bridge.toml] [--facility LICENCE] --id ID
    canopy bridge list-workers  [-c bridge.toml] [--facility LICENCE] [--json]

They edit the facility's ``workers_file`` (see docs/bridge.example.toml); the
running bridge notices the change and publishes the list to every kiosk of the
facility: a new hire can sign in anywhere, a leaver is refused and signed out
everywhere. PINs and badges are stored hashed, never shown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canopy.errors import UserError
from cli.commands.bridge import common

if TYPE_CHECKING:
    from bridge.config import BridgeConfig


def register(actions: Any) -> None:
    from canopy.workerfile import add_worker_arguments

    add = actions.add_parser(
        "add-worker", help="add a worker to a facility's list (or replace their PIN and badge)",
        description="Add a worker to the facility's workers_file; the running bridge publishes "
                    "the list to every kiosk of the facility. The PIN is asked for twice and "
                    "stored hashed; so is the badge code.")
    _options(add)
    add_worker_arguments(add)
    add.set_defaults(func=_add)

    remove = actions.add_parser(
        "remove-worker", help="remove a worker who left: refused and signed out at every kiosk",
        description="Remove a worker from the facility's workers_file; once the running bridge "
                    "has published the list, every kiosk refuses them and signs them out.")
    _options(remove)
    remove.add_argument("--id", required=True, help="the worker's id, as `list-workers` shows it")
    remove.set_defaults(func=_remove)

    listing = actions.add_parser("list-workers", help="who may sign in at a facility's kiosks")
    _options(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=_list)


def _options(parser: argparse.ArgumentParser) -> None:
    common(parser)
    parser.add_argument("--facility", metavar="LICENCE",
                        help="which facility's list (needed when several have a workers_file)")


def workers_file(config: BridgeConfig, facility: str | None, source: str) -> tuple[str, Path]:
    """The licence and workers file these commands edit; ``UserError`` saying how to name one."""
    if facility is not None:
        profile = next((p for p in config.facilities if p.license == facility), None)
        if profile is None:
            known = ", ".join(p.license for p in config.facilities) or "none"
            raise UserError(f"{source}: no facility {facility!r} in [[facilities]] (it lists {known})")
        if profile.workers_file is None:
            raise UserError(f"{source}: facility {facility} has no workers_file: "
                            "set workers_file = \"…/workers.json\" in its [[facilities]] block")
        return profile.license, profile.workers_file
    with_file = [p for p in config.facilities if p.workers_file is not None]
    if not with_file:
        raise UserError(f"{source}: no facility names a workers_file: "
                        "set workers_file = \"…/workers.json\" in its [[facilities]] block")
    if len({p.workers_file for p in with_file}) > 1:
        names = ", ".join(p.license for p in with_file)
        raise UserError(f"{source}: several facilities have a workers file ({names}): "
                        "choose one with --facility")
    chosen = with_file[0]
    assert chosen.workers_file is not None
    label = ", ".join(p.license for p in with_file)
    return label, chosen.workers_file


def _target(args: argparse.Namespace) -> tuple[str, Path]:
    from bridge.config import BridgeConfig
    from canopy.config import load_config

    config = load_config(BridgeConfig, args.config)
    return workers_file(config, args.facility, str(args.config or "built-in defaults"))


def _add(args: argparse.Namespace) -> int:
    from canopy.workerfile import add_worker_from_args, describe

    facility, path = _target(args)
    worker = add_worker_from_args(path, args)
    print(f"{path}: {describe(worker)} can sign in at every kiosk of {facility} "
          "once the running bridge has published the list")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from canopy.workerfile import BRIDGE_HINT, WorkerFileError, remove_worker

    facility, path = _target(args)
    try:
        gone = remove_worker(path, args.id, hint=BRIDGE_HINT)
    except (ValueError, WorkerFileError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{path}: {gone.name} ({gone.id}) removed; every kiosk of {facility} refuses them "
          "and signs them out once the running bridge has published the list")
    return 0


def _list(args: argparse.Namespace) -> int:
    from canopy.workerfile import BRIDGE_HINT, WorkerFileError, read_file

    _facility, path = _target(args)
    try:
        content = read_file(path, hint=BRIDGE_HINT)
    except WorkerFileError as exc:
        raise UserError(str(exc)) from None
    workers = sorted(content.workers, key=lambda w: w.name.lower())
    if args.json:
        print(json.dumps([{"id": w.id, "name": w.name, "roles": list(w.roles), "badge": w.badge is not None}
                          for w in workers], indent=2))
        return 0
    if not workers:
        print(f"{path}: nobody (add workers with `canopy bridge add-worker`)")
        return 0
    width = max(len(w.id) for w in workers)
    print(f"{'ID':<{width}}  NAME")
    for w in workers:
        print(f"{w.id:<{width}}  {w.name}  ({', '.join(w.roles)}{', badge' if w.badge else ''})")
    return 0
