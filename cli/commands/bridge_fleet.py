"""``canopy bridge fleet``: every kiosk from its retained status message.

    canopy bridge fleet [-c bridge.toml] [--json] [--stale-after SECONDS]

Logs in with the bridge's broker settings as the bridge's read-only fleet twin
(``<username>-fleet``), so it never disturbs the running bridge's session. Where
the ledger can be read, it adds each kiosk's clock and each licence whose state
system is unreachable (its open outage; past the alert hours, the state must be
notified).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

from cli.commands.bridge import common


def register(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "fleet", help="list every kiosk: online/offline, last seen, backlog, version, fault",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--stale-after", type=float, default=None, metavar="SECONDS",
                        help="an 'online' kiosk silent this long is shown as stale (default: 120)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the broker")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.config import BridgeConfig
    from bridge.fleet import collect_fleet, fleet_table
    from canopy.config import load_config
    from canopy.kiosk_status import DEFAULT_STALE_AFTER_S
    from cli.runtime import setup_logging

    config = load_config(BridgeConfig, args.config)
    if getattr(args, "verbose", False):  # absent where a caller registers the action alone
        setup_logging(True)
    else:  # errors end in one UserError line; the connection's own log would repeat it
        logging.getLogger().addHandler(logging.NullHandler())
    stale = args.stale_after if args.stale_after is not None else DEFAULT_STALE_AFTER_S
    rows = asyncio.run(collect_fleet(config.mqtt, client_id=f"{config.bridge.id}-fleet",
                                     timeout=args.timeout, stale_after_s=stale))
    now = time.time()
    clocks, states = (asyncio.run(_from_ledger(config, now)) if _has_ledger(config.ledger.url)
                      else (None, None))

    def row(r: Any) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if clocks is not None:
            extra["clock"] = clocks.get((r.facility, r.device), "-")
        if states is not None and r.facility in states:
            extra["state_system"] = states[r.facility].as_json()
        return dict(r.as_json()) | extra

    if args.json:
        print(json.dumps([row(r) for r in rows], indent=2))
    else:
        print(fleet_table(rows, now=now, clocks=clocks, states=states))
    return 0


def _has_ledger(url: str) -> bool:
    """A SQLite ledger is only read where it exists: the fleet view never creates one."""
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).is_file()


async def _from_ledger(config: Any, now: float) -> tuple[Any, Any]:
    """Each kiosk's clock from the ledger's records and each licence's state system from its
    outage record; (None, None) where the ledger cannot be read."""
    from bridge.fleet import clock_notes, state_system_notes
    from bridge.ledger import open_ledger

    try:
        ledger = await open_ledger(config.ledger.url)
    except Exception:  # the fleet view works without the ledger: no clock column then
        return None, None
    try:
        bounds = {p.license: p.max_clock_skew_s for p in config.facilities}
        clocks = await clock_notes(ledger, bounds, default_s=300.0, now=now)
        profiles = {p.license: (p.outage_alert_hours, p.timezone) for p in config.facilities}
        states = state_system_notes(await ledger.outages(open_only=True), profiles, now_ms=int(now * 1000))
        return clocks, states
    finally:
        await ledger.close()
