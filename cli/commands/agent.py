"""``canopy agent``: run the kiosk daemon, and manage who may sign in at it.

    canopy agent [-c FILE]                          run the kiosk daemon
    canopy agent add-worker [-c FILE] --id … --name …   add a worker (asks for the PIN)
"""

from __future__ import annotations

import argparse
from typing import Any

from canopy.config import load_config
from cli.commands._options import config_options, daemon_command
from cli.runtime import run_until_signal, setup_logging


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    config_options(parser, "agent", top=top)


def register(sub: Any) -> None:
    actions = daemon_command(
        sub, "agent", help="run the kiosk daemon (devices → outbox → MQTT), or add workers",
        run_help="run the kiosk daemon (the default)", run=run,
    )
    from agent.users import register_cli

    register_cli(actions, _common)


def run(args: argparse.Namespace) -> int:
    from agent.app import run_agent
    from agent.config import AgentConfig

    config = load_config(AgentConfig, args.config)
    setup_logging(args.verbose)
    return run_until_signal(run_agent(config))
