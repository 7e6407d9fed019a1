"""``canopy bridge migrate``: bring the ledger an older version wrote up to this version.

    canopy bridge migrate [-c FILE] [--json] [--batch ROWS]

Upgrades the schema, builds the indexes the registers need (on PostgreSQL without
blocking ingest) and backfills what older rows lack (the time of each activity index
row), in short transactions: the bridges may run meanwhile, a run killed part way is
resumed by the next, and a run with nothing left says so. Progress goes to stderr,
the summary to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from canopy.config import load_config
from canopy.errors import UserError
from cli.commands.bridge import common
from cli.commands.bridge_report import must_exist

if TYPE_CHECKING:
    from bridge.ledger import Backfilled

PROGRESS_EVERY_S = 5.0


def register(actions: Any) -> None:
    parser = actions.add_parser("migrate", help="upgrade the ledger's schema, indexes and older rows",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--batch", type=int, default=None, metavar="ROWS",
                        help="index rows per backfill transaction (default: 2000 on PostgreSQL,"
                        " 500 on SQLite, whose writers wait for each)")
    parser.set_defaults(func=run_migrate)


def _progress() -> Callable[[Backfilled], None]:
    last = [time.monotonic()]

    def show(b: Backfilled) -> None:
        if b.done or time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            print(f"backfill: {b.walked:,} index rows walked, {b.given:,} given their time"
                  f" ({b.rows_per_s:,} rows/s)", file=sys.stderr, flush=True)
    return show


def run_migrate(args: argparse.Namespace) -> int:
    from bridge.config import BridgeConfig
    from bridge.ledger import CannotOpen, LedgerUnreachable, describe, migrate

    config = load_config(BridgeConfig, args.config)
    url = config.ledger.url
    must_exist(url, args.config)
    if args.batch is not None and args.batch < 1:
        raise UserError(f"--batch takes a number of rows, at least 1, not {args.batch}")
    where = describe(url)
    print(f"migrating the ledger ({where})", file=sys.stderr, flush=True)
    try:
        done = asyncio.run(migrate(url, batch=args.batch, progress=_progress()))
    except CannotOpen as exc:
        raise UserError(f"cannot open the ledger ({where}): {exc}. Check [ledger] url in the"
                        " bridge's config, and that the database runs and accepts this user") from None
    except LedgerUnreachable as exc:
        raise UserError(f"{exc}. Run `canopy bridge migrate` again once it answers: it resumes"
                        " where it stopped") from None
    if args.json:
        print(json.dumps({"ledger": where, **done.as_json()}, indent=2))
    else:
        print("\n".join(done.lines()))
    return 0

