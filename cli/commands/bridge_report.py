"""``canopy bridge report REGISTER|activity KEY``: compliance registers and one key's history.

The registers are ``bridge.reports.REGISTERS`` (``canopy bridge report list``).
Times are the facility's own (its profile's time zone); the overdue register uses
each profile's ``report_deadline``. ``activity`` takes a plant or package tag, a
harvest or plant batch name, a worker id or a kiosk's device id, literally.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canopy.config import load_config
from canopy.errors import UserError
from canopy.workerfile import BRIDGE_HINT, WorkerFileError, read_file
from cli.commands.bridge import common

if TYPE_CHECKING:
    from bridge.config import BridgeConfig


def register(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "report", help="compliance registers (waste, corrections, harvests, scales, tags, overdue, outages,"
                       " rejections, held) and the activity of one tag, batch, worker or kiosk"
    )
    common(parser)
    # Checked in run(): the register table lives in the bridge, which a kiosk's
    # `canopy` must not import just to build its parser.
    parser.add_argument("kind", metavar="REPORT",
                        help="activity, or a register: `canopy bridge report list` names them all")
    parser.add_argument("tag", nargs="?", metavar="KEY",
                        help="for activity: a plant or package tag, a harvest or plant batch name,"
                             " a worker id or a kiosk's device id")
    parser.add_argument("--facility", help="one licence only")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="from this day on (the facility's local days)")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="up to and including this day")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="fmt", action="store_const", const="json")
    fmt.add_argument("--csv", dest="fmt", action="store_const", const="csv")
    parser.set_defaults(func=run, fmt="table")


def must_exist(url: str, config: Path | None) -> None:
    """A report reads the ledger the bridge writes; it never starts an empty one."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            where = f"the config {config}" if config else "the built-in config (no -c given)"
            raise UserError(f"no ledger at {path} (from {where}): is this the bridge's config?")


def day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} takes a day as YYYY-MM-DD (e.g. {option} 2026-11-01), not {text!r}"
                        ) from None


def named(config: BridgeConfig, name: str, facility: str | None) -> list[str]:
    """The ids of the workers called ``name`` (now or before they left) in the workers files
    of the facilities asked about: a worker is looked up by name as well as by id."""
    ids: list[str] = []
    for profile in config.facilities:
        if profile.workers_file is None or facility not in (None, profile.license):
            continue
        if not profile.workers_file.exists():
            continue
        try:
            content = read_file(profile.workers_file, hint=BRIDGE_HINT)
        except WorkerFileError as exc:
            raise UserError(f"{exc} (needed to find a worker by name; give the worker's id instead)"
                            ) from None
        everyone = [(w.id, w.name) for w in content.workers] + [(f.id, f.name) for f in content.former]
        ids += [worker_id for worker_id, called in everyone if called.casefold() == name.casefold()]
    return list(dict.fromkeys(ids))


def run(args: argparse.Namespace) -> int:
    from bridge import reports
    from bridge.config import BridgeConfig
    from bridge.ledger import open_ledger

    if args.kind == "list":
        print("\n".join(f"{r.name:12}  {r.help}" for r in reports.REGISTERS)
              + "\nactivity      everything about one tag, batch, worker or kiosk (give KEY)")
        return 0
    if args.kind != "activity" and args.kind not in reports.BY_NAME:
        known = ", ".join([r.name for r in reports.REGISTERS] + ["activity"])
        raise UserError(f"no report called {args.kind!r}: the reports are {known}")
    if args.kind == "activity" and not args.tag:
        raise UserError("activity needs a tag, batch name, worker id or kiosk id:"
                        " canopy bridge report activity 1A4FF01…")
    chosen = reports.BY_NAME.get(args.kind)
    if chosen is not None and not chosen.dated and (args.since or args.until):
        raise UserError(f"{args.kind} lists the records as they stand now: it takes no --since/--until"
                        " (leave them out)")
    config = load_config(BridgeConfig, args.config)
    must_exist(config.ledger.url, args.config)

    clock = reports.Clock.of(config.facilities)
    period = reports.Period.days(day(args.since, "--since"), day(args.until, "--until"),
                                 clock.zone(args.facility))

    async def make() -> reports.Report:
        try:
            ledger = await open_ledger(config.ledger.url)
        except Exception as exc:
            raise UserError(f"cannot open the ledger {config.ledger.url!r}: {exc}") from None
        try:
            if args.kind == "activity":
                return await reports.activity(ledger, args.tag, args.facility, clock, period=period,
                                              workers=named(config, args.tag, args.facility))
            return await reports.BY_NAME[args.kind].build(ledger, args.facility, clock, period=period)
        finally:
            await ledger.close()

    print(reports.render(asyncio.run(make()), args.fmt))
    return 0
