"""Verify a ledger's chain, and copy a SQLite ledger while the bridge writes to it.

SQLite's online backup API copies pages under the database's own locking, so the
copy is one consistent moment even while ingest commits (a file copy of a WAL
database is not). A PostgreSQL ledger is backed up with the server's tools
(``pg_dump``, or a base backup with WAL archiving): see the README's operations.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from bridge.ledger._base import Ledger
from bridge.ledger._chain import ChainReport, verify


async def verify_and_record(ledger: Ledger, facility: str | None = None) -> list[ChainReport]:
    """Walk the chains, and keep the result in the ledger (what a console shows)."""
    reports = await verify(ledger, facility)
    if facility is None:  # the console's own log, once it has any entry
        console = await ledger.verify_console_log()
        if console.entries or console.mismatch is not None:
            reports.append(console)
    bad = [r.mismatch for r in reports if r.mismatch is not None]
    heads = "; ".join(f"{r.facility}: {r.entries} entries, head {r.head}" for r in reports)
    detail = f"first mismatch: {bad[0]}" if bad else heads or "empty ledger"
    await ledger.record_verification(facility or "", not bad, detail)
    return reports


def _copy(source: Path, target: Path) -> None:
    """``source`` to ``target`` through the backup API, written beside it and renamed in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024)  # in steps: the bridge's writes go on between them
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)


async def backup_sqlite(source: Path, target: Path) -> None:
    await asyncio.to_thread(_copy, source, target)


def has_chain(path: Path) -> bool:
    """Whether a ledger file has a chain (or nothing to chain), read without changing it."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "events" not in tables:
            raise ValueError(f"{path} is not a Canopy ledger (no events table)")
        if "chain_heads" in tables:
            return True
        return bool(db.execute("SELECT NOT EXISTS (SELECT 1 FROM events)").fetchone()[0])
    finally:
        db.close()
