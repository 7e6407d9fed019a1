"""The kiosk's floor database: the reference copy, local facts and the journal, in one SQLite file.

Only a cache: losing it loses no record (the outbox has every event), only
hints until the next sync. So a damaged file is moved aside and the kiosk
starts empty rather than stopping.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)


async def open_cache(path: Path) -> aiosqlite.Connection:
    """The floor database at ``path``, checked; a fresh one when the old is unreadable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return await _connect(path)
    except sqlite3.DatabaseError as exc:
        aside = path.with_suffix(".damaged")
        log.error("floor cache %s unreadable (%s); moved to %s, waiting for the next sync",
                  path, exc, aside)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        return await _connect(path)


async def _connect(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path)
    try:
        check = await (await db.execute("PRAGMA quick_check")).fetchone()
        if check is None or check[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {check[0] if check else '?'}")
        await db.execute("PRAGMA journal_mode = WAL")
        # A cache: a lost last commit costs a hint, never a record.
        await db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await db.close()
        raise
    return db


def open_reader(path: Path) -> sqlite3.Connection:
    """A second, read-only connection to the floor database at ``path``, for lookups made on
    the event loop (a scan's plant or tag: one indexed read, microseconds). WAL lets it
    read the last commit while the writer works, so a lookup never sees half a change."""
    reader = sqlite3.connect(path, check_same_thread=False)
    reader.execute("PRAGMA query_only = ON")
    return reader
