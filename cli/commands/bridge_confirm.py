"""``canopy bridge confirm EVENT --at TIME | --as-recorded``: release a held record.

The bridge holds a record whose time cannot be right (ahead of the bridge's
clock, or before its kiosk's previous record; see bridge/vetting.py) instead of
reporting it with a wrong date. ``canopy bridge report held`` lists them; a
person who knows when it happened confirms the time, and the bridge reports it
with that time. Who confirmed, and when, is kept in the ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from canopy.config import load_config
from canopy.errors import UserError
from canopy.events import format_utc
from cli.commands.bridge import common
from cli.commands.bridge_report import must_exist


def register(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "confirm", help="release a record held for its time (see `report held`)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(parser)
    parser.add_argument("event", help="the held record's id, as `canopy bridge report held` shows it")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", help="when it really happened: 2026-12-07T14:05 (the facility's local"
                                   " time) or with a zone, e.g. 2026-12-07T22:05Z")
    when.add_argument("--as-recorded", action="store_true", help="the kiosk's time was right after all")
    parser.add_argument("--by", default=None, help="who confirms (default: your login name)")
    parser.set_defaults(func=run)


def parse_when(text: str, zone: str) -> datetime:
    """A time as a person types it; without a zone it is the facility's local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--at {text!r}: use e.g. 2026-12-07T14:05 (local) or 2026-12-07T22:05Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across a zone
        raise UserError(f"--at {text!r} is not a time a record can have") from None
    if value > datetime.now(UTC):
        raise UserError(f"--at {text!r} is in the future: give the time it really happened")
    return value


def run(args: argparse.Namespace) -> int:
    from bridge.config import BridgeConfig
    from bridge.ledger import open_ledger

    config = load_config(BridgeConfig, args.config)
    must_exist(config.ledger.url, args.config)
    by = args.by or getpass.getuser()

    async def confirm() -> str:
        try:
            ledger = await open_ledger(config.ledger.url)
        except Exception as exc:
            raise UserError(f"cannot open the ledger {config.ledger.url!r}: {exc}") from None
        try:
            held = {str(r[0]): str(r[1]) for r in await ledger.held()}
            facility = held.get(args.event)
            if facility is None:
                raise UserError(f"no held record {args.event} (see `canopy bridge report held`)")
            zone = next((p.timezone for p in config.facilities if p.license == facility), "UTC")
            at = None if args.as_recorded else format_utc(parse_when(args.at, zone))
            return await ledger.confirm(args.event, at, by)
        except KeyError:
            raise UserError(f"{args.event} is no longer held") from None
        finally:
            await ledger.close()

    when = asyncio.run(confirm())
    print(f"{args.event}: released, to be reported at {when} (confirmed by {by})")
    return 0
