"""The ``canopy`` command: one entry point, one module per subcommand.

Each module in ``cli.commands`` exposes ``register(subparsers)``; it adds its
parser and sets ``func`` to a callable taking the parsed namespace and returning
an exit code. Problems a person can fix (bad config, unreachable device) are
raised as ``UserError`` and printed as one plain line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

from canopy import __version__
from canopy.errors import UserError

# Order here is the order in `canopy --help`.
COMMAND_MODULES = (
    "agent",
    "bridge",
    "console",
    "demo",
    "sim",
    "label",
    "provision",
    "doctor",
)


_MARKUP = re.compile(r"``?([^`]+)``?")


def plain(text: str | None) -> str | None:
    """Help text as a terminal shows it: the docstrings' ``code`` markup removed."""
    return _MARKUP.sub(r"\1", text) if text else text


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """Strip markup from every description, epilog and option help, all the way down.

    Subcommand modules use their docstrings as descriptions (one text for the
    reader of the code and of ``--help``); this keeps ``--help`` plain text.
    """
    parser.description, parser.epilog = plain(parser.description), plain(parser.epilog)
    for action in parser._actions:
        action.help = plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = plain(choice.help)
            for sub in action.choices.values():
                _plain_help(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canopy",
        description="Seed-to-sale tracking for the grow-room floor.",
    )
    parser.add_argument("--version", action="version", version=f"canopy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"cli.commands.{name}")
        module.register(sub)
    _plain_help(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # A few commands hand their options to another program's parser (the state
    # simulators); only they may receive arguments we do not know.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "passthrough", False):
        args.rest = [*getattr(args, "rest", []), *extra]
    try:
        code: int = args.func(args)
    except UserError as exc:
        print(f"canopy {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
