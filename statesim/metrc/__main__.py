"""``canopy sim metrc --port 8090`` (or ``python -m statesim.metrc``): run the Metrc v2 simulator.

Prints one line, ``Metrc simulator listening on http://HOST:PORT``, once it
accepts connections (``--port 0`` picks a free port). Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from statesim.metrc._config import SimConfig
from statesim.metrc._faults import FaultPlan
from statesim.metrc._seed import load_seed
from statesim.metrc._server import DEFAULT_PORT, MetrcSimulator, serve


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Simulated Metrc v2 API for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--seed", type=Path, help="seed JSON (default: the demo seed)")
    parser.add_argument("--journal", type=Path,
                        help="keep the writes taken in this file and replay them on start (the demo's "
                        "memory)")
    parser.add_argument("--config", type=Path, help="simulator settings, a JSON file (GET limits, switches)")
    parser.add_argument(
        "--faults",
        help="fault plan, JSON text or a JSON file (changeable while running: POST /_sim/faults)",
    )
    return parser


def _json_arg(value: str) -> str:
    path = Path(value)
    return path.read_text(encoding="utf-8") if path.is_file() else value


async def _run(args: argparse.Namespace) -> None:
    seed = load_seed(args.seed) if args.seed else None
    config = SimConfig.model_validate_json(args.config.read_text(encoding="utf-8")) if args.config else None
    faults = FaultPlan.model_validate_json(_json_arg(args.faults)) if args.faults else None

    def ready(simulator: MetrcSimulator) -> None:
        if simulator.replayed:
            print(f"Metrc simulator replayed {simulator.replayed} write(s) from {args.journal}", flush=True)
        print(f"Metrc simulator listening on {simulator.url}", flush=True)

    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve(args.host, args.port, seed=seed, config=config, faults=faults, ready=ready,
                    journal=args.journal)


def main(argv: Sequence[str] | None = None, prog: str = "canopy sim metrc") -> int:
    args = _parser(prog).parse_args(argv)
    try:
        asyncio.run(_run(args))
    except (OSError, ValueError, ValidationError, json.JSONDecodeError) as exc:
        print(f"metrc simulator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
