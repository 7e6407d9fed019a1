"""``canopy bridge verify|backup|restore``: prove the ledger's records are complete, copy it.

    canopy bridge verify [--facility F]        walk each facility's chain; exit 1 at a mismatch
    canopy bridge backup --to PATH             a consistent copy of a SQLite ledger, bridge running
    canopy bridge restore --from PATH --to PATH  a copy checked before use (bridge stopped)

A PostgreSQL ledger is backed up with pg_dump or a base backup with WAL archiving
(README, "Operations"); ``verify`` then checks the restored database.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canopy.config import load_config
from canopy.errors import UserError
from cli.commands.bridge import common
from cli.commands.bridge_report import must_exist


def register(actions: Any) -> None:
    verify = actions.add_parser("verify", help="check that no ledger record was altered or removed",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common(verify)
    verify.add_argument("--facility", help="one licence only")
    verify.set_defaults(func=run_verify)
    backup = actions.add_parser("backup", help="copy the SQLite ledger while the bridge runs")
    common(backup)
    backup.add_argument("--to", required=True, type=Path, help="the copy's path (replaced if present)")
    backup.set_defaults(func=run_backup)
    restore = actions.add_parser("restore", help="put a checked SQLite ledger copy in place")
    common(restore)
    restore.add_argument("--from", dest="source", required=True, type=Path, help="a copy made by backup")
    restore.add_argument("--to", required=True, type=Path, help="where the bridge's ledger goes"
                         " (the [ledger] url's path; must not exist: move the damaged one aside)")
    restore.set_defaults(func=run_restore)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _verify(url: str, facility: str | None) -> list[str]:
    """Lines to print; the first starts with FAIL when a chain does not match."""
    from bridge.ledger import open_ledger, verify_and_record

    try:
        ledger = await open_ledger(url)
    except Exception as exc:
        raise UserError(f"cannot open the ledger {url!r}: {exc}") from None
    try:
        reports = await verify_and_record(ledger, facility)
    finally:
        await ledger.close()
    bad = [r.mismatch for r in reports if r.mismatch is not None]
    lines = [f"FAIL {m}" for m in bad]
    lines += [f"{'ok  ' if r.mismatch is None else 'FAIL'} {r.facility}: {r.entries} entries,"
              f" head {r.head}" for r in reports]
    return lines or ["ok   no records yet"]


def run_verify(args: argparse.Namespace) -> int:
    config = load_config(_bridge_config(), args.config)
    must_exist(config.ledger.url, args.config)
    print(f"verified {_stamp()} ({config.ledger.url.split('@')[-1]})")
    lines = asyncio.run(_verify(config.ledger.url, args.facility))
    print("\n".join(lines))
    return 1 if lines[0].startswith("FAIL") else 0


def _bridge_config() -> Any:
    from bridge.config import BridgeConfig

    return BridgeConfig


def _sqlite_path(url: str, what: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise UserError(f"{what} copies a SQLite ledger; this one is PostgreSQL: use pg_dump or a base"
                        " backup with WAL archiving (README, Operations), then `canopy bridge verify`")
    return Path(url.removeprefix("sqlite:///"))


def run_backup(args: argparse.Namespace) -> int:
    from bridge.ledger import backup_sqlite

    config = load_config(_bridge_config(), args.config)
    must_exist(config.ledger.url, args.config)
    source = _sqlite_path(config.ledger.url, "backup")
    if args.to.resolve() == source.resolve():
        raise UserError("--to is the ledger itself: give the copy another path")
    asyncio.run(backup_sqlite(source, args.to))
    print(f"{_stamp()} backed up {source} to {args.to} ({args.to.stat().st_size} bytes)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from bridge.ledger import backup_sqlite, has_chain

    if not args.source.is_file():
        raise UserError(f"no ledger copy at {args.source}")
    if args.to.exists():
        raise UserError(f"{args.to} exists: stop the bridge and move it aside first, so nothing is"
                        " overwritten that might still be needed")
    try:
        chained = has_chain(args.source)
    except Exception as exc:
        raise UserError(f"{args.source} cannot be read as a ledger: {exc}") from None
    if not chained:
        raise UserError(f"{args.source} was made before the ledger had a chain: nothing in it can be"
                        " checked. Open it with `canopy bridge verify` on a config pointing at a copy"
                        " to chain it as found, if you accept it as it is")
    with tempfile.TemporaryDirectory(dir=args.to.parent if args.to.parent.exists() else None) as scratch:
        trial = Path(scratch) / "ledger.db"
        asyncio.run(backup_sqlite(args.source, trial))  # checked on a copy: the source stays as it was
        lines = asyncio.run(_verify(f"sqlite:///{trial}", None))
        print("\n".join(lines))
        if lines[0].startswith("FAIL"):
            raise UserError(f"{args.source} does not match its own chain: not restored")
        asyncio.run(backup_sqlite(trial, args.to))
    print(f"{_stamp()} restored {args.source} to {args.to}; start the bridge")
    return 0
