"""The kiosk's floor database: the reference copy, local facts and the journal, in one SQLite file.

Only a cache: losing it loses no record (the outbox has every event), only
hints until the next sync. So a damaged file is moved aside and the kiosk
starts empty rather than stopping. On a full disk the file is not damaged, only
unwritable: it is kept, and the kiosk works on a copy in memory (``MemoryCache``)
until it restarts with room again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from agent.storage import full_error

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cache:
    """The floor database's writer and its read-only second connection (``open_reader``)."""

    db: aiosqlite.Connection
    reader: sqlite3.Connection
    in_memory: bool = False  # a full disk: a copy in memory, nothing written to the file


async def open_floor_cache(path: Path) -> Cache:
    """The floor database at ``path`` with its reader; in memory when the disk is full."""
    try:
        db = await open_cache(path)
    except (sqlite3.Error, OSError) as exc:
        if not full_error(exc, path):
            raise
        log.error("floor cache %s cannot be written (%s): the kiosk works on a copy in memory "
                  "until it restarts with free space", path, exc)
        return await memory_copy(path)
    return Cache(db, open_reader(path))


async def memory_copy(path: Path) -> Cache:
    """A shared in-memory database holding what the file at ``path`` held (read without
    writing a byte: ``immutable``), and a reader on it."""
    uri = f"file:canopy-floor-{uuid.uuid4().hex}?mode=memory&cache=shared"
    db = await aiosqlite.connect(uri, uri=True)
    if await asyncio.to_thread(path.exists):
        try:
            disk = await aiosqlite.connect(f"file:{path}?immutable=1", uri=True)
            try:
                await disk.backup(db)
            finally:
                await disk.close()
        except sqlite3.Error as exc:  # unreadable as well: start empty, the next sync fills it
            log.error("floor cache %s not readable either (%s): starting empty", path, exc)
    reader = sqlite3.connect(uri, uri=True, check_same_thread=False)
    reader.execute("PRAGMA read_uncommitted = ON")  # shared cache: reads never wait on the writer
    reader.execute("PRAGMA query_only = ON")
    return Cache(db, reader, in_memory=True)


async def open_cache(path: Path) -> aiosqlite.Connection:
    """The floor database at ``path``, checked; a fresh one when the old is unreadable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return await _connect(path)
    except sqlite3.DatabaseError as exc:
        if full_error(exc, path):
            raise  # not damaged: the disk is full (see ``open_floor_cache``)
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
