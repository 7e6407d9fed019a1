"""``canopy sim …``: drive simulated hardware and the simulated state systems."""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from canopy.config import load_config
from canopy.errors import UserError


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "sim", help="feed a running agent's simulated scanner and scale, or serve a state API simulator"
    )
    parser.add_argument("-c", "--config", type=Path,
                        help="the agent's TOML file, to find its state folder (default: built-in)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    scan = actions.add_parser("scan", help="scan a barcode on the simulated scanner")
    scan.add_argument("code", help="what the barcode holds, e.g. a 24-character Metrc tag")
    scan.set_defaults(func=_scan)

    weight = actions.add_parser("weight", help="put a weight on the simulated scale")
    weight.add_argument("value", help="e.g. 12.34")
    weight.add_argument("unit", nargs="?", default="g", choices=["g", "kg", "lb", "oz"])
    weight.add_argument("--unstable", action="store_true", help="the reading is still moving")
    weight.set_defaults(func=_weight)

    status = actions.add_parser("status", help="show the running agent's status")
    status.set_defaults(func=_status)

    from statesim import SIMULATORS  # names only: a simulator's code loads when it runs

    for system, kind in SIMULATORS.items():
        state = actions.add_parser(
            system, add_help=False,
            help=f"serve the {kind.label} API simulator (options: canopy sim {system} --help)",
        )
        state.set_defaults(func=_state_simulator, system=system, passthrough=True, rest=[])


def _socket(args: argparse.Namespace) -> Path:
    from agent.config import AgentConfig

    return load_config(AgentConfig, args.config).sim_socket


def _send(args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    from agent.simcontrol import request

    try:
        return asyncio.run(request(_socket(args), body))
    except (ConnectionError, OSError) as exc:
        raise UserError(str(exc)) from None


def _report(answer: dict[str, Any]) -> int:
    print(answer.get("message", "ok"))
    return 0 if answer.get("ok") else 1


def _scan(args: argparse.Namespace) -> int:
    return _report(_send(args, {"op": "scan", "code": args.code}))


def _weight(args: argparse.Namespace) -> int:
    try:
        Decimal(args.value)
    except InvalidOperation:
        raise UserError(f"{args.value!r} is not a weight; give a number such as 12.34") from None
    return _report(_send(args, {"op": "weight", "value": args.value, "unit": args.unit,
                                "stable": not args.unstable}))


def _status(args: argparse.Namespace) -> int:
    answer = _send(args, {"op": "status"})
    print(json.dumps(answer, indent=2))
    return 0


def _state_simulator(args: argparse.Namespace) -> int:
    """Hand over to the simulator's own command line (port, seed, faults)."""
    from statesim import SIMULATORS

    return SIMULATORS[args.system].main(args.rest, f"canopy sim {args.system}")
