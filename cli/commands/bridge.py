"""``canopy bridge``: run the central bridge, and IT's views of it.

    canopy bridge [-c FILE]                  run the bridge
    canopy bridge ACTION [-c FILE] …         one of the actions below

Each action lives in its own module listed in ``ACTIONS`` with ``register(actions)``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from canopy.config import load_config
from cli.commands._options import config_options, daemon_command
from cli.runtime import run_until_signal, setup_logging

ACTIONS: tuple[str, ...] = ("cli.commands.bridge_report", "cli.commands.bridge_fleet",
                           "cli.commands.bridge_workers", "cli.commands.bridge_confirm",
                           "cli.commands.bridge_records", "cli.commands.bridge_migrate")


def common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    config_options(parser, "bridge", top=top)


def register(sub: Any) -> None:
    actions = daemon_command(
        sub, "bridge", help="run the central bridge (MQTT → ledger → state API), or inspect it",
        run_help="run the bridge (the default)", run=run,
    )
    for name in ACTIONS:
        importlib.import_module(name).register(actions)


def run(args: argparse.Namespace) -> int:
    from bridge.app import run_bridge
    from bridge.config import BridgeConfig

    config = load_config(BridgeConfig, args.config)
    setup_logging(args.verbose)
    return run_until_signal(run_bridge(config))
