"""``canopy bridge``: run the central bridge."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from canopy.config import load_config
from canopy.runtime import run_until_signal, setup_logging


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "bridge", help="run the central bridge (MQTT → ledger → state API)"
    )
    parser.add_argument("-c", "--config", type=Path, help="bridge TOML file (default: built-in)")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.app import run_bridge
    from bridge.config import BridgeConfig

    config = load_config(BridgeConfig, args.config)
    setup_logging(args.verbose)
    return run_until_signal(run_bridge(config))
