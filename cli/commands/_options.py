"""``canopy agent`` and ``canopy bridge``: a daemon that runs by default or as ``run``,
with ``-c`` / ``-v`` taken before and after the action."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def config_options(parser: argparse.ArgumentParser, daemon: str, *, top: bool = False) -> None:
    """``-c`` and ``-v``, accepted before and after the action.

    Only the top parser has defaults: an action's own unset ``-c`` must not
    overwrite the one given before it (``canopy bridge -c FILE report …``), which
    argparse does when a subparser has a default of its own.
    """
    unset: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("-c", "--config", type=Path, help=f"{daemon} TOML file (default: built-in)", **unset)
    parser.add_argument("-v", "--verbose", action="store_true", **unset)


def daemon_command(
    sub: Any, daemon: str, *, help: str, run_help: str, run: Callable[[argparse.Namespace], int]
) -> Any:
    """The ``daemon`` command, running ``run`` bare or as ``daemon run``; the
    subparsers it returns take the daemon's other actions."""
    parser: argparse.ArgumentParser = sub.add_parser(daemon, help=help)
    config_options(parser, daemon, top=True)
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    run_parser = actions.add_parser("run", help=run_help)
    config_options(run_parser, daemon)
    run_parser.set_defaults(func=run)
    return actions
