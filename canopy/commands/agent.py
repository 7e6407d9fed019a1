"""``canopy agent``: run the kiosk daemon."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from canopy.config import load_config
from canopy.runtime import run_until_signal, setup_logging


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "agent", help="run the kiosk daemon (devices → outbox → MQTT)"
    )
    parser.add_argument("-c", "--config", type=Path, help="agent TOML file (default: built-in)")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.app import run_agent
    from agent.config import AgentConfig

    config = load_config(AgentConfig, args.config)
    setup_logging(args.verbose)
    return run_until_signal(run_agent(config))
