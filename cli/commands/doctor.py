"""``canopy doctor``: is this kiosk healthy? A pass/warn/fail table, or JSON for monitoring.

    canopy doctor [-c /etc/canopy/agent.toml] [--json]

Exits 0 when nothing failed (warnings allowed), 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("/etc/canopy/agent.toml")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "doctor", help="check this kiosk: config, devices, broker login, clock, disk, outbox",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-c", "--config", type=Path,
                        help=f"agent TOML file (default: {DEFAULT_CONFIG} if it exists, else built-in)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for each device and the broker (default: 5)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from provisioning import run_doctor

    # The table says what went wrong; the libraries' own log lines would repeat
    # it, out of order, on stderr.
    logging.getLogger().addHandler(logging.NullHandler())

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    report = asyncio.run(run_doctor(path, device_timeout=args.timeout, broker_timeout=args.timeout))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.table())
    return 0 if report.ok else 1
