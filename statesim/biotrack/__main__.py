"""``canopy sim biotrack --port N`` (or ``python -m statesim.biotrack``): run the simulator
in the foreground."""

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

from statesim.biotrack._config import FaultPlan, SimConfig
from statesim.biotrack._seed import DEMO_ACCOUNTS
from statesim.biotrack._server import BioTrackServer, serve


def build_parser(prog: str = "canopy sim biotrack") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Simulated BioTrack classic JSON API (serverjson.asp) for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids, quirks, fault rates")
    parser.add_argument("--session-ttl", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--destroy-hold", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--no-demo-data", action="store_true", help="start with empty licenses")
    parser.add_argument(
        "--faults", default=None, metavar="JSON|@FILE",
        help='fault plan, e.g. \'{"rules":[{"kind":"status","status":503,"rate":0.1}]}\'',
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SimConfig:
    values: dict[str, object] = {"demo_data": not args.no_demo_data}
    if args.session_ttl is not None:
        values["session_ttl_s"] = args.session_ttl
    if args.destroy_hold is not None:
        values["destroy_hold_s"] = args.destroy_hold
    if args.faults:
        text = args.faults
        if text.startswith("@"):
            text = Path(text[1:]).read_text(encoding="utf-8")
        values["faults"] = FaultPlan.model_validate(json.loads(text))
    return SimConfig.model_validate(values)


def _announce(running: BioTrackServer) -> None:
    print(f"BioTrack simulator listening on {running.url}", flush=True)
    print(f"admin: {running.base_url}/_sim/state", flush=True)
    for account in DEMO_ACCOUNTS:
        mode = " (read-only)" if account.read_only else ""
        print(f"  login license_number={account.ubi} username={account.username} "
              f"password={account.password} location={account.location}{mode}", flush=True)


async def _run(args: argparse.Namespace, config: SimConfig) -> None:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve(args.host, args.port, seed=args.seed, config=config, ready=_announce)


def main(argv: Sequence[str] | None = None, prog: str = "canopy sim biotrack") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"biotrack simulator: bad settings: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(args, config))
    except OSError as exc:
        print(f"biotrack simulator: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
