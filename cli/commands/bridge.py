"""``canopy bridge``: run the central bridge, and IT's views of it.

    canopy bridge [-c FILE]                  run the bridge
    canopy bridge ACTION [-c FILE] …         one of the actions below

Each action lives in its own module listed in ``ACTIONS`` with ``register(actions)``.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from canopy.config import load_config
from cli.runtime import run_until_signal, setup_logging

ACTIONS: tuple[str, ...] = ("cli.commands.bridge_report", "cli.commands.bridge_fleet",
                           "cli.commands.bridge_workers", "cli.commands.bridge_confirm",
                           "cli.commands.bridge_records")


def common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-c`` and ``-v``, accepted before and after the action.

    Only the top parser has defaults: an action's own unset ``-c`` must not
    overwrite the one given before it (``canopy bridge -c FILE report …``), which
    argparse does when a subparser has a default of its own.
    """
    unset: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("-c", "--config", type=Path, help="bridge TOML file (default: built-in)", **unset)
    parser.add_argument("-v", "--verbose", action="store_true", **unset)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "bridge", help="run the central bridge (MQTT → ledger → state API), or inspect it"
    )
    common(parser, top=True)
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    run_parser = actions.add_parser("run", help="run the bridge (the default)")
    common(run_parser)
    run_parser.set_defaults(func=run)
    for name in ACTIONS:
        importlib.import_module(name).register(actions)


def run(args: argparse.Namespace) -> int:
    from bridge.app import run_bridge
    from bridge.config import BridgeConfig

    config = load_config(BridgeConfig, args.config)
    setup_logging(args.verbose)
    return run_until_signal(run_bridge(config))
