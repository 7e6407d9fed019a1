"""The ``-c`` / ``-v`` options every daemon command takes before and after its action."""

from __future__ import annotations

import argparse
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
